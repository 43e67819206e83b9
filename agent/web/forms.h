// Forms instead of JSON: the payload's sections (schemas/payload.fbs) as fields people fill in,
// and the checks a form passes on the server (the browser checks the same as people type: the
// fields carry `required`, `pattern` and date types). A field is named by its JSON path in the
// payload ("person.birth_date"), so a form's values are a payload's JSON form, checked by the
// schema's own parser (wire::PayloadFromJson) after these checks.
//
// CheckPayload is the seam for issue 18's validation (agent/validate.h: errors with JSON path,
// value and message): until it lands, it checks what the schema's comments require (dates,
// ISO 3166 countries, enumerations, the fields each kind needs). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/web/http.h"
#include "agent/web/i18n.h"
#include "common/json/json.h"

namespace nrm::agent::web {

enum class FieldType {
  kText,
  kTextArea,
  kDate,        // YYYY-MM-DD
  kYearOrDate,  // YYYY or YYYY-MM-DD (a birth date only the year of which is known)
  kCountry,     // ISO 3166-1 alpha-2, chosen from a list with names
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
// The words (msgid) for an enumeration value, e.g. "lack_of_capacity" -> "Lack of capacity".
std::string_view ChoiceWords(std::string_view value);

// The longest text a field takes.
inline constexpr size_t kMaxFieldChars = 20000;

struct FieldError {
  std::string path;     // JSON path, e.g. "person.birth_date"
  std::string value;    // what was given
  std::string message;  // msgid
};

// The payload's JSON form from the fields of `req` that belong to `sections` (empty fields left
// out; an empty section left out).
json::Json PayloadFromForm(const Request& req, const std::vector<std::string>& sections);
// The form's field values of a payload (the inverse, for prefilling and for carrying values
// through the review page): (name, value) pairs, several for a list.
std::vector<std::pair<std::string, std::string>> FormValues(const json::Json& payload);

// Checks every field of `payload` (dates real, countries known, values among the choices, no
// text longer than kMaxFieldChars) and the fields `kind` needs. Returns every error.
std::vector<FieldError> CheckPayload(std::string_view kind, const json::Json& payload,
                                     const Translator& tr);

// The lines of `text` that are not empty, without their trailing spaces and carriage returns
// (a list typed one item a line).
std::vector<std::string> Lines(std::string_view text);

// A date YYYY-MM-DD that exists.
bool IsDate(std::string_view s);

}  // namespace nrm::agent::web
