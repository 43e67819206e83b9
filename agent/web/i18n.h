// The languages of the web inbox. Every text people read is an English msgid looked up in a
// gettext catalog (agent/web/po/<lang>.po, compiled by Debian's msgfmt into the .mo format read
// here); a msgid the catalog lacks is shown as it is. Templates mark text with {{t "..."}}, C++
// with Tr(lang, "..."). Country names are those of the case data's ISO 3166 list
// (agent/vocabulary.h), translated by the same catalogs. Immutable after Load; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/web/assets.h"
#include "common/status.h"

namespace nrm::agent::web {

// Marks English text as a msgid where it is written (for xgettext, tests/web/i18n_test.py)
// without translating it there: it is translated where it is shown (Translator::Tr).
constexpr const char* Msg(const char* text) { return text; }

// Pairs of a stable name ("referral_offer") and its words for people (a msgid), and the words
// for `key` in `table`, or `key` itself when the table does not have it.
using WordTable = std::vector<std::pair<std::string_view, std::string_view>>;
std::string_view WordsFor(const WordTable& table, std::string_view key);

// The languages a user may pick: code and name in that language.
struct Language {
  std::string_view code, name;
};
const std::vector<Language>& Languages();
bool IsLanguage(std::string_view code);
std::string LanguageCodes();  // "en, th"

// One compiled catalog (GNU .mo). Parse refuses anything malformed (kInvalidArgument).
class Catalog {
 public:
  static Result<Catalog> Parse(std::string_view mo);
  // The translation, or nullptr.
  const std::string* Find(std::string_view msgid) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> entries_;
};

struct Country {
  std::string code;  // ISO 3166-1 alpha-2
  std::string name;  // English (the msgid of its translations)
};

class Translator {
 public:
  // The catalogs (po/<lang>.mo) of `assets`, and the countries of IsoCountries().
  static Result<Translator> Load(const Assets& assets);
  // `msgid` in `lang`: its translation, or `msgid` itself.
  std::string_view Tr(std::string_view lang, std::string_view msgid) const;
  // The catalog of `lang`, or nullptr (English has none: the msgids are English).
  const Catalog* CatalogOf(std::string_view lang) const;

  // Every country, sorted by code; nullptr for an unknown code.
  const std::vector<Country>& countries() const { return countries_; }
  const Country* FindCountry(std::string_view code) const;

 private:
  std::map<std::string, Catalog, std::less<>> catalogs_;
  std::vector<Country> countries_;
};

}  // namespace nrm::agent::web
