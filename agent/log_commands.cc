#include "agent/log_commands.h"

#include "audit/audit_reader.h"
#include "audit/big_endian.h"
#include "audit/record.h"
#include "common/clock.h"

namespace nrm::agent {
namespace {

using json::Json;

int64_t Now() { return SystemClock::Get().NowMillis(); }

CommandOutput ClearAlarm(const CommandContext& ctx, const Args& args) {
  LogWatch& watch = ctx.agent.log_watch();
  const std::string was = watch.state().alarm;
  if (Status s = watch.ClearAlarm(args.Has("forget")); !s.ok()) return Refused(s);
  if (ctx.json) return {0, JsonLine(Json{{"cleared", was}}), ""};
  return {0,
          was.empty() ? std::string("there was no alarm\n")
                      : "alarm cleared (it was: " + was + ")" +
                            (args.Has("forget") ? "; the checkpoint held is forgotten" : "") + "\n",
          ""};
}

CommandOutput Prove(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("prove takes one MESSAGE (its id or a prefix)");
  if (!ctx.ask) return Refused(Internal("prove needs the running agent"));
  Result<MessageRecord> m = FindMessage(ctx.store, args.positional()[1]);
  if (!m.ok()) return Refused(m.status());
  if (m->direction != "out" || m->broker_receipt.empty()) {
    return Refused(InvalidArgument("message " + m->id +
                                   " is not one this agency sent that the broker accepted"));
  }
  const LogWatch& watch = ctx.agent.log_watch();
  if (watch.alarmed()) return Refused(Unauthenticated("the broker's log: " + watch.state().alarm));
  if (watch.state().checkpoint.empty()) {
    return Refused(InvalidArgument("no checkpoint of the broker's log is verified yet"));
  }
  Result<Bytes> id = FromHex(m->id);
  if (!id.ok()) return Refused(id.status());
  // Against the checkpoint this agency holds: consistent, by what it checked, with every
  // checkpoint it saw.
  const uint64_t size = watch.state().size;
  Result<transport::Frames> answer =
      ctx.ask({transport::Frame("PROVE"), *id, audit::Be64Key(size)}, "PROOF", *id, 10000);
  if (!answer.ok()) return Refused(answer.status());
  const transport::Frames& f = *answer;
  if (f.size() == 4 && f[2].empty()) {
    return Refused(
        Unavailable("the broker did not prove it: " + std::string(transport::FrameText(f[3]))));
  }
  if (f.size() != 6 || f[2].size() != 8 || f[5].size() % crypto::kHashBytes != 0) {
    return Refused(InvalidArgument("the broker's PROOF is malformed"));
  }
  const uint64_t leaf = audit::GetBe64(f[2].data());
  const std::string note(transport::FrameText(f[4]));
  if (Status s = ctx.agent.log_watch().CheckHeld(note); !s.ok()) return Refused(s);
  std::vector<audit::Hash> proof;
  for (size_t i = 0; i < f[5].size(); i += crypto::kHashBytes) {
    audit::Hash h;
    std::copy(f[5].begin() + static_cast<ptrdiff_t>(i),
              f[5].begin() + static_cast<ptrdiff_t>(i + crypto::kHashBytes), h.begin());
    proof.push_back(h);
  }
  Result<audit::AuditRecord> record = audit::DecodeRecord(f[3]);
  if (!record.ok() || record->event != audit::AuditEvent::kAccepted || record->message_id != *id ||
      record->sender != ctx.agent.agency()) {
    return Refused(Unauthenticated("the broker's record is not the acceptance of message " + m->id +
                                   " from " + ctx.agent.agency()));
  }
  if (Status s =
          audit::VerifyInclusion(audit::HashLeaf(f[3]), leaf, size, proof, watch.state().root);
      !s.ok()) {
    return Refused(s.WithContext("the broker's inclusion proof does not check out"));
  }
  Result<std::string> json = audit::FormatInclusionProof(leaf, f[3], proof, note);
  if (!json.ok()) return Refused(json.status());
  return {0, *json, ""};
}

}  // namespace

std::string LogStatusText(const LogWatch& watch) {
  const LogWatchState& s = watch.state();
  const LogWatchConfig& c = watch.config();
  std::string out = "broker log      ";
  if (s.checkpoint.empty()) {
    out += "no checkpoint verified yet\n";
  } else {
    out += "size " + std::to_string(s.size) + " verified (signed " +
           FormatTimeUtc(static_cast<int64_t>(s.log_time) * 1000) + ")";
    if (c.witnesses_required > 0) {
      out += "; cosigned by " + std::to_string(c.witnesses_required) + " of " +
             std::to_string(c.witnesses.size()) + " witnesses up to size " +
             std::to_string(s.cosigned_size);
      if (s.uncovered_since_ms != 0) {
        out += "; size " + std::to_string(s.uncovered_size) + " waits for them since " +
               std::to_string((Now() - s.uncovered_since_ms) / 1000) + " s (alarm after " +
               std::to_string(c.cosignature_delay_ms / 1000) + " s)";
      }
    } else {
      out += "; no witness required";
    }
    out += "\n";
  }
  if (watch.alarmed()) {
    out += "ALARM: the broker's audit log since " + FormatTimeUtc(s.alarm_since_ms) + ": " +
           s.alarm +
           "\n       Receipts from this broker do not count until an operator has "
           "looked (nrm-agent clear-alarm).\n";
  }
  return out;
}

json::Json LogStatusJson(const LogWatch& watch) {
  const LogWatchState& s = watch.state();
  return Json{{"size", s.size},
              {"signed", s.log_time ? FormatTimeUtc(static_cast<int64_t>(s.log_time) * 1000) : ""},
              {"cosigned_size", s.cosigned_size},
              {"witnesses_required", watch.config().witnesses_required},
              {"uncovered_size", s.uncovered_size},
              {"uncovered_since", s.uncovered_since_ms ? FormatTimeUtc(s.uncovered_since_ms) : ""},
              {"alarm", s.alarm},
              {"alarm_since", s.alarm_since_ms ? FormatTimeUtc(s.alarm_since_ms) : ""}};
}

const std::vector<CommandSpec>& LogCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"clear-alarm",
       "[--forget]",
       "After an alarm about the broker's audit log, let its receipts count again.",
       {{"--forget", "forget the checkpoint held too: the broker's next one is the new start"},
        kJsonOption},
       ClearAlarm,
       "An operator's decision, after looking at why (nrm-agent status; the witnesses; nrm audit\n"
       "verify --checkpoint with the agent's data_dir/log.checkpoint). Without --forget the\n"
       "checkpoint held stays, and a log still inconsistent with it raises the alarm again."},
      {"prove",
       "MESSAGE",
       "The inclusion proof of a message this agency sent, against the checkpoint it verified.",
       {},
       Prove,
       "Asks the broker for the audit record of the message's acceptance and its inclusion\n"
       "proof against the largest checkpoint this agent verified, checks both, and prints the\n"
       "proof as JSON (nrm-audit-inclusion/v2): anyone with the log's vkey checks it with\n"
       "`nrm audit check-proof FILE --vkey VKEY`."},
  };
  return kCommands;
}

}  // namespace nrm::agent
