#include "agent/case_commands.h"

#include "agent/case_data.h"
#include "agent/erasure.h"
#include "agent/htcds.h"
#include "agent/primero.h"
#include "agent/retention.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"

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

// Writes `doc` to --out (mode 0600: it holds personal data) or returns it as the output.
CommandOutput Emit(const Args& args, const Json& doc, const std::string& what) {
  const std::string text = json::Dump(doc);
  if (auto out = args.Get("out")) {
    if (Status s = WriteFileAtomic(*out, text, 0600); !s.ok()) return Refused(s);
    return {0, "wrote " + what + " to " + *out + "\n", ""};
  }
  return {0, text, ""};
}

// export CASE --format htcds|primero [--out FILE]
CommandOutput Export(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("give the case: export CASE --format htcds");
  const std::string format = args.Get("format").value_or("htcds");
  Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
  if (!c.ok()) return Refused(c.status());
  if (format == "primero") {
    Result<std::vector<MessageRecord>> all = ctx.store.Messages();
    if (!all.ok()) return Refused(all.status());
    return Emit(args, PrimeroTransitions(*c, std::move(*all)), "the Primero transitions");
  }
  if (format != "htcds") return Usage("--format takes htcds or primero");
  Json data = Json::object();
  if (!c->payload.empty()) {
    Result<std::string> text = wire::PayloadToJson(c->payload);
    if (!text.ok()) return Refused(text.status());
    Result<Json> parsed = json::Parse(*text);
    if (!parsed.ok()) return Refused(parsed.status());
    data = std::move(*parsed);
  }
  HtcdsExport info;
  info.case_reference = c->ref;
  info.exported_by = ctx.agent.agency();
  info.exported_at_ms = SystemClock::Get().NowMillis();
  info.directory = &ctx.agent.directory();
  Result<Json> doc = ExportHtcds(data, info);
  if (!doc.ok()) return Refused(doc.status());
  return Emit(args, *doc, "the case in HTCDS 2.0");
}

// import FILE --format htcds [--label L] [--new-case]: a new case here, not yet shared.
CommandOutput Import(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("give the file: import FILE --format htcds");
  if (args.Get("format").value_or("htcds") != "htcds") return Usage("--format takes htcds");
  const std::string file = args.positional()[1];
  Result<std::string> text = ReadFile(file);
  if (!text.ok()) return Usage(text.status().message());
  ValidateOptions options;
  options.now_ms = SystemClock::Get().NowMillis();
  HtcdsImport in = ImportHtcds(*text, ctx.agent.directory(), options);
  if (!in.errors.empty()) {
    if (ctx.json) return {2, JsonLine({{"file", file}, {"errors", ErrorsToJson(in.errors)}}), ""};
    return Usage(DescribeErrors(file, in.errors));
  }
  Result<Bytes> payload = wire::PayloadFromJson(in.payload.dump());
  if (!payload.ok()) return Refused(payload.status());
  CaseRecord c;
  c.ref = ToHex(crypto::RandomBytes(wire::kCaseRefBytes));
  if (!args.Has("new-case")) {
    Result<std::vector<CaseRecord>> same = SamePerson(ctx.store, *payload, "");
    if (!same.ok()) return Refused(same.status());
    if (!same->empty()) {
      return Refused(
          AlreadyExists("this person already has an open case here: " + same->front().ref +
                        "; give --new-case to import it as another case anyway"));
    }
  }
  if (auto label = args.Get("label")) {
    if (Status s = CheckLabelFree(ctx.store, *label, c.ref); !s.ok()) return Refused(s);
    c.label = *label;
  }
  if (Status s = NoteCaseData(c, *payload); !s.ok()) return Refused(s);
  c.consent = ConsentOf(*payload);
  const std::string from = "imported from " + file +
                           (in.case_reference.empty() ? "" : " (case " + in.case_reference + ")");
  c.timeline.push_back(
      {SystemClock::Get().NowMillis(), "", "import", ctx.agent.agency(), "", c.state, from});
  if (Status s = ctx.store.Write({}, {c}); !s.ok()) return Refused(s);
  const bool consent = c.consent.has_value();
  if (ctx.json) {
    return {0,
            JsonLine({{"case", c.ref},
                      {"label", c.label},
                      {"state", c.state},
                      {"consent", consent ? "recorded" : "none"}}),
            ""};
  }
  return {0,
          "case " + c.ref + (c.label.empty() ? "" : " (" + c.label + ")") + " opened: " + from +
              "\n" +
              (consent ? ""
                       : "  no consent recorded (HTCDS says only whether the person consented): "
                         "give a consent section before sharing personal data\n") +
              "  next: offer --case " + c.ref.substr(0, 12) + " --to AGENCY\n",
          ""};
}

// erase CASE --reason TEXT
CommandOutput Erase(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("give the case: erase CASE --reason TEXT");
  auto reason = args.Require("reason");
  if (!reason.ok()) return Usage("missing --reason TEXT (why the law requires the erasure)");
  Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
  if (!c.ok()) return Refused(c.status());
  // Who: the web inbox's user, or whoever typed the command.
  const std::string by = (ctx.by.empty() ? "caseworker" : ctx.by) + " of " + ctx.agent.agency();
  Result<Tombstone> t = EraseCase(ctx.agent, ctx.store, ctx.outbox, *c, by, *reason);
  if (!t.ok()) return Refused(t.status());
  return {0, ctx.json ? JsonLine(TombstoneJson(*t)) : DescribeTombstone(*t), ""};
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
      {"export",
       "CASE --format htcds|primero [--out FILE]",
       "Write the case as HTCDS 2.0 JSON, or its referrals as Primero transitions.",
       {{"--format htcds|primero", "HTCDS 2.0 field names (default), or Primero transitions"},
        {"--out FILE", "write to FILE (mode 0600) rather than standard output"}},
       Export,
       "docs/DATA.md maps every field and says what does not map (kept under \"nrm\")."},
      {"import",
       "FILE --format htcds [--label L] [--new-case]",
       "Open a case here from an HTCDS 2.0 file, checked like any case file; nothing is sent.",
       {{"--format htcds", "the file's format (the only one read)"},
        {"--label L", "a label for the new case"},
        {"--new-case", "import even though this person has an open case here"},
        kJsonOption},
       Import,
       "Then: offer --case CASE --to AGENCY (the case's data is the offer's file)."},
      {"erase",
       "CASE --reason TEXT",
       "Erase a case: destroy its key, delete its records, ask every party to do the same.",
       {{"--reason TEXT", "why (required): e.g. the person's request under PDPA s.33"},
        kJsonOption},
       Erase,
       "Leaves a tombstone (reference, when, who, why). `timeline CASE` then shows which\n"
       "parties confirmed the erasure with a signed receipt and which have not yet."},
      {"retention",
       "report [--json]",
       "List the closed cases, when each was closed and when the retention rule erases it.",
       {kJsonOption},
       RetentionCommand,
       "The rule (retention_days_after_close in the config, default 365 days, or \"never\")\n"
       "erases a case that many days after it was closed, as `erase` does, checked when the\n"
       "agent starts and every hour; a due case waits for its steps still under way. Also\n"
       "lists the setting in force, how many cases are open and the cases the rule erased."},
  };
  return kCommands;
}

}  // namespace nrm::agent
