#include "agent/case_commands.h"

#include "agent/case_data.h"

namespace nrm::agent {
namespace {

using json::Json;

// relabel CASE NEW: the case's local label, unique here; any case, opened here or received.
CommandOutput Relabel(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 3) return Usage("give the case and its new label: CASE LABEL");
  Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
  if (!c.ok()) return Refused(c.status());
  const std::string label = args.positional()[2];
  if (Status s = CheckLabelFree(ctx.store, label, c->ref); !s.ok()) return Refused(s);
  const std::string old = c->label;
  c->label = label;
  if (Status s = ctx.store.Write({}, {*c}); !s.ok()) return Refused(s);
  if (ctx.json) return {0, JsonLine({{"case", c->ref}, {"label", label}, {"was", old}}), ""};
  return {0,
          "case " + c->ref + " is now labelled " + label +
              (old.empty() ? "" : " (was " + old + ")") + "\n",
          ""};
}

}  // namespace

const std::vector<CommandSpec>& CaseCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"relabel",
       "CASE LABEL",
       "Give a case (opened here or received) a new local label, unique at this agency.",
       {kJsonOption},
       Relabel,
       "Labels are never sent: each agency labels its cases its own way."},
  };
  return kCommands;
}

}  // namespace nrm::agent
