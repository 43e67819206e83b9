// The words case data is written in: ISO 3166-1 alpha-2 country codes, ISO 639-1 language
// codes, and the enumerations of the payload's fields (the HTCDS 2.0 picklists where HTCDS has
// one, DOMAIN's GMS values elsewhere), each able to name the nearest valid value for a
// misspelling, a country written by name or a value in the wrong case. docs/DATA.md lists every
// enumeration and where its values come from.
//
// Pure functions over immutable tables; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nrm::agent {

// A code and its names, "|"-separated (iso_codes.cc, from Debian's iso-codes).
struct CodeNames {
  std::string_view code;
  std::string_view names;
};
const std::vector<CodeNames>& IsoCountries();
const std::vector<CodeNames>& IsoLanguages();

// True for an ISO 3166-1 alpha-2 code, upper case ("TH").
bool IsCountryCode(std::string_view code);
// The code of a country written another way: by name in English ("Myanmar", "Burma", "Viet
// Nam"), in the script of a GMS country ("พม่า", "កម្ពុជា"), as alpha-3 ("MMR") or in lower case
// ("mm"); "" when none.
std::string CountryCodeFor(std::string_view text);
// "Myanmar" for "MM"; "" for an unknown code.
std::string_view CountryName(std::string_view code);

// True for an ISO 639-1 code, lower case ("th").
bool IsLanguageCode(std::string_view code);
// The ISO 639-1 code of a language written by English name ("Burmese"), as ISO 639-2 ("mya")
// or in upper case ("TH"); "" when none.
std::string LanguageCodeFor(std::string_view text);

// A closed list of values for a field, with the spellings people use for some of them.
struct Enumeration {
  std::string_view name;  // e.g. "gender"
  std::vector<std::string_view> values;
  // Other ways to write a value, e.g. {"female", "Feminine"}; compared without case.
  std::vector<std::pair<std::string_view, std::string_view>> aliases;
  std::string_view source;  // e.g. "HTCDS 2.0 prs_Gender"
};

// Every enumeration, in docs/DATA.md order; nullptr for an unknown name.
const std::vector<Enumeration>& Enumerations();
const Enumeration* FindEnumeration(std::string_view name);

// The value of `values` that `value` most likely meant: the same but for case, an alias, one
// within a small edit distance, or the one value that contains it. "" when none is close.
std::string Nearest(std::string_view value, const std::vector<std::string_view>& values,
                    const std::vector<std::pair<std::string_view, std::string_view>>& aliases = {});

// Levenshtein distance between `a` and `b`, ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace nrm::agent
