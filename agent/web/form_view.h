// How forms are shown: the fields of forms.h as the data the templates/fields.html partial
// renders (label, kind of input, value, choices with their words, errors, required), and the
// lists forms choose from (agencies the policy lets this agency send a kind to, handling
// codes). Shared by the new-case form and the step forms. Thread-safe.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/web/forms.h"
#include "agent/web/site.h"

namespace nrm::agent::web {

using FormValueList = std::vector<std::pair<std::string, std::string>>;

struct FieldOptions {
  std::set<std::string> required;  // field paths
  std::set<std::string> readonly;
  std::string kind;                  // the step's kind, for the agencies a field may name
  std::set<std::string> any_agency;  // agency fields not limited by `kind` (this one included)
};

// One field, ready for the template.
json::Json FieldJson(Site& site, std::string_view lang, const FieldSpec& spec,
                     const FormValueList& values, const std::vector<FieldError>& errors,
                     const FieldOptions& options);
// The sections `names` of FormSections(), with their fields.
json::Json SectionsJson(Site& site, std::string_view lang, const std::vector<std::string>& names,
                        const FormValueList& values, const std::vector<FieldError>& errors,
                        const FieldOptions& options);
// Every value as a hidden input, to carry a form through its review page.
json::Json HiddenJson(const FormValueList& values);
// Every error, for the summary at the top of a form.
json::Json ErrorsJson(Site& site, std::string_view lang, const std::vector<FieldError>& errors);

// The agencies this agency may send `kind` to today (the policy's routes), by name.
std::vector<std::string> Recipients(Site& site, std::string_view kind);
// H0..H3 with the policy's descriptions, `selected` marked.
json::Json HandlingJson(Site& site, const std::string& selected);

// The values `req` carries for `fields` (and every other form field it has), in order.
FormValueList RequestValues(const Request& req);

}  // namespace nrm::agent::web
