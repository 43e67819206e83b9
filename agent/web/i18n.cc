#include "agent/web/i18n.h"

#include <algorithm>

#include "agent/vocabulary.h"
#include "common/json/json.h"

namespace nrm::agent::web {

std::string_view WordsFor(const WordTable& table, std::string_view key) {
  for (const auto& [k, words] : table) {
    if (k == key) return words;
  }
  return key;
}

const std::vector<Language>& Languages() {
  static const std::vector<Language> kLanguages = {{"en", "English"}, {"th", "ไทย"}};
  return kLanguages;
}

bool IsLanguage(std::string_view code) {
  const auto& all = Languages();
  return std::any_of(all.begin(), all.end(), [&](const Language& l) { return l.code == code; });
}

std::string LanguageCodes() {
  std::string out;
  for (const Language& l : Languages()) out += (out.empty() ? "" : ", ") + std::string(l.code);
  return out;
}

Result<Catalog> Catalog::Parse(std::string_view mo) {
  auto u32 = [&](size_t at, bool big, bool& ok) -> uint32_t {
    if (at + 4 > mo.size()) {
      ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
      const uint32_t b = static_cast<uint8_t>(mo[at + (big ? i : 3 - i)]);
      v = (v << 8) | b;
    }
    return v;
  };
  bool ok = true;
  const uint32_t magic = u32(0, false, ok);
  bool big = false;
  if (magic == 0x950412de) {
    big = false;
  } else if (magic == 0xde120495) {
    big = true;
  } else {
    return InvalidArgument("not a gettext .mo catalog");
  }
  const uint32_t n = u32(8, big, ok), originals = u32(12, big, ok), translations = u32(16, big, ok);
  if (!ok || n > 100000) return InvalidArgument("a damaged .mo catalog");
  Catalog c;
  auto string_at = [&](uint32_t table, uint32_t i, std::string& out) {
    const uint32_t len = u32(table + i * 8, big, ok), off = u32(table + i * 8 + 4, big, ok);
    if (!ok || static_cast<size_t>(off) + len > mo.size()) return false;
    out.assign(mo.substr(off, len));
    return true;
  };
  for (uint32_t i = 0; i < n; ++i) {
    std::string id, text;
    if (!string_at(originals, i, id) || !string_at(translations, i, text)) {
      return InvalidArgument("a damaged .mo catalog");
    }
    if (id.empty() || text.empty()) continue;  // the header; untranslated entries
    // Plural forms and contexts are not used: keep the first form.
    c.entries_.emplace(id.substr(0, id.find('\0')), text.substr(0, text.find('\0')));
  }
  return c;
}

const std::string* Catalog::Find(std::string_view msgid) const {
  auto it = entries_.find(msgid);
  return it == entries_.end() ? nullptr : &it->second;
}

Result<Translator> Translator::Load(const Assets& assets) {
  Translator t;
  for (const auto& [name, data] : assets.Under("po/")) {
    if (!name.ends_with(".mo")) continue;
    const std::string lang = name.substr(3, name.size() - 6);
    Result<Catalog> c = Catalog::Parse(*data);
    if (!c.ok()) return c.status().WithContext(name);
    t.catalogs_.emplace(lang, std::move(*c));
  }
  for (const CodeNames& c : IsoCountries()) {
    t.countries_.push_back({std::string(c.code), std::string(CountryName(c.code))});
  }
  std::sort(t.countries_.begin(), t.countries_.end(),
            [](const Country& a, const Country& b) { return a.code < b.code; });
  return t;
}

std::string_view Translator::Tr(std::string_view lang, std::string_view msgid) const {
  const Catalog* c = CatalogOf(lang);
  if (c == nullptr) return msgid;
  const std::string* s = c->Find(msgid);
  return s ? std::string_view(*s) : msgid;
}

const Catalog* Translator::CatalogOf(std::string_view lang) const {
  auto it = catalogs_.find(lang);
  return it == catalogs_.end() ? nullptr : &it->second;
}

const Country* Translator::FindCountry(std::string_view code) const {
  auto it = std::lower_bound(countries_.begin(), countries_.end(), code,
                             [](const Country& c, std::string_view k) { return c.code < k; });
  return it != countries_.end() && it->code == code ? &*it : nullptr;
}

}  // namespace nrm::agent::web
