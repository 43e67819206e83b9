// The Human Trafficking Case Data Standard 2.0 (IOM's CTDC, github.com/UNMigration/HTCDS) as
// JSON: a case's payload written with HTCDS field names (prs_, vic_, per_, hte_, cas_, con_,
// org_), and read back. HTCDS defines fields and picklists, not a file format; this one is
//
//   {"standard": "HTCDS", "version": "2.0", "case_reference": "<hex>", "exported_by": "<id>",
//    "exported_at": "<ISO 8601>", "case": {cas_...}, "person": {prs_...},
//    "victim": {vic_...}, "trafficking_events": [{hte_...}], "perpetrators": [{per_...}],
//    "consent": {"con_Consent": true}, "organisations": [{"id": ..., org_...}],
//    "nrm": {<the payload's fields that have no HTCDS field, in payload JSON>}}
//
// docs/DATA.md has the mapping field by field and says what does not map. Import checks the
// file's shape (an unknown key is an error with its path), maps it onto the payload, and
// validates that as a case file (agent/validate.h), naming each error by its path in the file.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/validate.h"
#include "common/json/json.h"

namespace nrm::agent {

struct HtcdsExport {
  std::string case_reference;  // hex
  std::string exported_by;     // this agency's id
  int64_t exported_at_ms = 0;
  const identity::Directory* directory = nullptr;  // for the organisations; may be null
};

// The HTCDS document of `payload_json` (a payload in its JSON form, wire::PayloadToJson).
// Referral dates and details go to cas_Outgoing* when the exporting agency is the referring
// organisation, to cas_Incoming* otherwise. kInvalidArgument when `payload_json` is not a
// payload object.
Result<json::Json> ExportHtcds(const json::Json& payload_json, const HtcdsExport& info);

// The payload JSON of the HTCDS document `text`, or every problem, each at its path in the
// file. `options` as for ValidateCase (the kind, usually Unknown: an import).
struct HtcdsImport {
  json::Json payload;  // valid when `errors` is empty
  std::string case_reference;
  std::vector<FieldError> errors;
};
HtcdsImport ImportHtcds(std::string_view text, const identity::Directory& dir,
                        const ValidateOptions& options);

}  // namespace nrm::agent
