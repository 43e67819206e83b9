// Forms instead of JSON: the payload's sections (schemas/payload.fbs) as fields people fill in.
// A field is named by its JSON path in the payload ("person.birth_date"), so a form's values are
// a payload's JSON form; its choices are the values the case data validation accepts
// (agent/vocabulary.h), and the form is checked on the server by that same validation
// (agent/validate.h, as `nrm-agent offer --file` is), its errors placed next to their fields.
// The browser checks what it can as people type (dates, required fields). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/validate.h"
#include "agent/web/http.h"
#include "agent/web/i18n.h"
#include "common/identity/identity.h"
#include "common/json/json.h"

namespace nrm::agent::web {

enum class FieldType {
  kText,
  kTextArea,
  kDate,        // YYYY-MM-DD
  kYearOrDate,  // YYYY or YYYY-MM-DD (a birth date only the year of which is known)
  kCountry,     // ISO 3166-1 alpha-2 (agent/vocabulary.h), chosen from a list with names
  kChoice,      // one of `choices`
  kChoices,     // any of `choices` (a list in the payload)
  kBool,
  kList,      // free text, one item a line (a list in the payload)
  kAgency,    // an agency id of the directory
  kAgencies,  // agency ids (a list in the payload)
};

struct FieldSpec {
  std::string_view path;   // JSON path in the payload, e.g. "person.first_name"
  std::string_view label;  // msgid
  FieldType type = FieldType::kText;
  std::vector<std::string_view> choices{};  // values; ChoiceWords gives their msgids
};

struct SectionSpec {
  std::string_view name;  // the payload section
  std::vector<FieldSpec> fields;
};

// Every section people fill in, with its fields, in schema order.
const std::vector<SectionSpec>& FormSections();
const FieldSpec* FindField(std::string_view path);
// The words (msgid) for a value people choose, e.g. "lack_of_capacity" -> "Lack of capacity",
// "Feminine" -> "Female" (choice_words.cc).
std::string_view ChoiceWords(std::string_view value);

// The longest text a field takes: the case data validation's limit, in bytes.
inline constexpr size_t kMaxFieldBytes = kMaxTextBytes;

// An error of a form is the validation's (agent/validate.h): `path` names the form's field,
// `phrase` the validation's words and values, or (an error the form makes itself) `message` a
// msgid.

// The message of `e` in `lang`: the phrase's words from the catalogs with its values filled in
// (a country by its name, a value of a list by its words, as the form shows them; a list as
// "a, b or c"), or the message translated as a msgid.
std::string ErrorText(const Translator& tr, std::string_view lang, const FieldError& e);
// A phrase of the agent's (agent/validate.h) in `lang`, as ErrorText shows one.
std::string PhraseText(const Translator& tr, std::string_view lang, const Phrase& p);
// What the agent wrote (`english`, as the command line prints it) in `lang`: its phrase `p`
// translated when it is that text's words and values (English(p) == english), else the text as
// written (in English; a record of an earlier version; free text that has no phrase).
std::string SaidText(const Translator& tr, std::string_view lang, const std::string& english,
                     const Phrase& p);

// The payload's JSON form from the fields of `req` that belong to `sections` (empty fields left
// out; an empty section left out).
json::Json PayloadFromForm(const Request& req, const std::vector<std::string>& sections);
// The form's field values of a payload (the inverse, for prefilling and for carrying values
// through the review page): (name, value) pairs, several for a list.
std::vector<std::pair<std::string, std::string>> FormValues(const json::Json& payload);

// Checks `payload` for a step of `kind` ("referral_offer", ...) with the case data validation
// every step goes through (agent/validate.h), and returns every error with its path made the
// name of the form's field it concerns: "context.places[1].country" becomes
// "context.places.transit.country", "person.languages[0]" "person.languages", a missing
// section ("person") its first field that would fill it. `consent_override`: the form gives a
// reason to share without consent.
std::vector<FieldError> CheckForm(std::string_view kind, const json::Json& payload,
                                  const identity::Directory& dir, bool consent_override,
                                  int64_t now_ms);

// The lines of `text` that are not empty, without their trailing spaces and carriage returns
// (a list typed one item a line).
std::vector<std::string> Lines(std::string_view text);

}  // namespace nrm::agent::web
