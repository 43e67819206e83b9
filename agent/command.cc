#include "agent/command.h"

#include "agent/words.h"

namespace nrm::agent {

std::string ControlPath(const AgentConfig& config) { return config.data_dir + "/control"; }

std::string JsonLine(const json::Json& value) {
  return value.dump(-1, ' ', false, json::Json::error_handler_t::replace) + "\n";
}

std::string JsonLine(const json::Json& value, std::string_view key, std::string_view raw) {
  std::string text = value.dump(-1, ' ', false, json::Json::error_handler_t::replace);
  text.pop_back();  // the closing brace
  if (!value.empty()) text += ",";
  return text + json::Quote(key) + ":" + std::string(raw) + "}\n";
}

Result<MessageRecord> FindMessage(AgentStore& store, const std::string& id) {
  if (id.size() < 6) return InvalidArgument("give at least 6 hex digits of the message id");
  NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> all, store.Messages());
  std::vector<const MessageRecord*> found;
  for (const MessageRecord& m : all) {
    if (m.id.rfind(id, 0) == 0) found.push_back(&m);
  }
  if (found.empty()) return NotFound("no message " + id + " here (see: inbox, outbox)");
  if (found.size() > 1) {
    std::string which;
    for (const MessageRecord* m : found) {
      which += "\n  " + m->id + "  " + m->kind + (m->direction == "in" ? "  from " + m->from : "");
    }
    return InvalidArgument("message id " + id + " is ambiguous; it starts each of:" + which +
                           "\ngive more digits");
  }
  return *found.front();
}

Result<CaseRecord> FindCase(AgentStore& store, const std::string& key) {
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> all, store.Cases());
  std::vector<const CaseRecord*> found;
  for (const CaseRecord& c : all) {
    if ((!c.label.empty() && c.label == key) || (key.size() >= 6 && c.ref.rfind(key, 0) == 0)) {
      found.push_back(&c);
    }
  }
  if (found.empty()) return NotFound("no case " + key + " here (see: cases)");
  if (found.size() > 1) {
    std::string which;
    for (const CaseRecord* c : found) {
      which += "\n  " + c->ref + (c->label.empty() ? "" : "  label " + c->label) + "  " + c->state;
    }
    return InvalidArgument("case " + key + " is ambiguous; it names each of:" + which +
                           "\ngive the whole reference, or relabel one of them");
  }
  return *found.front();
}

std::string CaseLabel(AgentStore& store, const std::string& ref) {
  Result<std::optional<CaseRecord>> c = store.GetCase(ref);
  return c.ok() && *c ? (**c).label : "";
}

std::string CaseName(AgentStore& store, const std::string& ref) {
  const std::string label = CaseLabel(store, ref);
  return label.empty() ? Short(ref) : label + " (" + Short(ref) + ")";
}

}  // namespace nrm::agent
