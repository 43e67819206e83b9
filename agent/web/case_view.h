// One case as the web inbox reads it from the store: its record (state, parties, consent,
// timeline), every message of it, everything the payloads told this agency merged section by
// section (the latest value of each field), and the steps this agency may take next: those the
// workflow allows from the case's state (agent/workflow.h), that the policy lets this agency's
// role send, on the side of the case this agency is on. Thread-safe (reads the store).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/web/site.h"

namespace nrm::agent::web {

struct CaseView {
  CaseRecord record;
  std::vector<MessageRecord> messages;  // oldest first, receipts included
  json::Json merged = json::Json::object();

  // The latest message of `kind` that went `direction` ("in" or "out"), or nullptr.
  const MessageRecord* Latest(std::string_view kind, std::string_view direction) const;
  const MessageRecord* Find(const std::string& id) const;
};

// kNotFound for a case this agency does not hold.
Result<CaseView> LoadCase(Site& site, const std::string& ref);

struct CaseAction {
  std::string id;     // the step form's action, e.g. "decline"
  std::string label;  // msgid
  std::string href;
  bool primary = false;
};

// The steps offered on the case page.
std::vector<CaseAction> ActionsFor(Site& site, const CaseView& c);
// The one step `id` if it is offered, else nullptr-like nullopt.
std::optional<CaseAction> FindAction(Site& site, const CaseView& c, std::string_view id);

// True when the policy lets this agency's role send `kind` to some role.
bool MaySend(Site& site, std::string_view kind);

}  // namespace nrm::agent::web
