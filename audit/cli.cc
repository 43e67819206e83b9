#include "audit/cli.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "audit/audit_reader.h"
#include "common/args.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "common/json/json.h"

namespace nrm::audit {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage: nrm audit COMMAND ...\n"
    "  verify DIR [--broker-key KEY] [--witness VKEY]... [--checkpoint FILE]...\n"
    "                                             check a whole audit log\n"
    "  checkpoint DIR [--cosigned]                print the latest checkpoint (a signed note)\n"
    "  prove DIR --message-id HEX [--event NAME] [--size N]\n"
    "                                             inclusion proof (JSON) for a message\n"
    "  consistency DIR --from N [--size N]        proof that size N is a prefix of a checkpoint\n"
    "  check-proof FILE --vkey VKEY [--witness VKEY]... [--witnesses-required K]\n"
    "                                             check a proof offline\n"
    "  status DIR                                 the latest checkpoints and the witnesses\n"
    "  stats DIR [--json] [--directory SIGNED]    counts by month, place, kind and outcome\n"
    "Run `nrm audit COMMAND --help` for details.\n";

struct Command {
  std::string_view name;
  std::string_view positional;  // what the one positional argument is
  std::set<std::string_view> required;
  std::set<std::string_view> optional;
  std::string_view help;
  std::set<std::string_view> repeatable = {};  // flags that may be given more than once
  std::set<std::string_view> switches = {};    // flags that take no value
};

const Command kCommands[] = {
    {"verify",
     "DIR",
     {},
     {"--broker-key", "--witness", "--checkpoint"},
     "usage: nrm audit verify DIR [--broker-key KEY] [--witness VKEY]... [--checkpoint FILE]...\n"
     "Recomputes the Merkle tree of the audit log in the RocksDB directory DIR (opened\n"
     "read-only; use a copy or checkpoint of a live broker's database) and checks every record,\n"
     "every stored checkpoint and every witness cosignature on them.\n"
     "--broker-key: the log's verifier key (vkey, e.g. from the directory), or the broker's\n"
     "Ed25519 public key (64 hex digits, or a file holding either or the 32 raw bytes); without\n"
     "it the key stored in the log is used, which shows only that the log is self-consistent.\n"
     "--witness: a witness's vkey whose cosignatures to check (default: those the broker\n"
     "recorded). --checkpoint: a checkpoint note kept elsewhere (from a witness, an agent, a\n"
     "receipt); the log must agree with it at its size. A log rewritten by someone holding the\n"
     "broker's key fails against any checkpoint signed before the rewrite.\n"
     "Exit 0 when intact; 1 with \"first bad record: index N (reason)\" or \"log differs from\n"
     "checkpoint: size S (...)\" otherwise.\n",
     {"--witness", "--checkpoint"}},
    {"checkpoint",
     "DIR",
     {},
     {"--cosigned"},
     "usage: nrm audit checkpoint DIR [--cosigned]\n"
     "Prints the log's latest checkpoint: a C2SP signed note (tlog-checkpoint v1.0.0) with the\n"
     "broker's signature, its timestamp and the witnesses' cosignatures collected for it.\n"
     "--cosigned: the latest checkpoint that carries a witness cosignature.\n",
     {},
     {"--cosigned"}},
    {"prove",
     "DIR",
     {"--message-id"},
     {"--event", "--size"},
     "usage: nrm audit prove DIR --message-id HEX [--event NAME] [--size N]\n"
     "Prints, as JSON, the first audit record of the message (of event NAME, e.g. accepted,\n"
     "delivered), its leaf index, and its inclusion proof against the checkpoint of size N\n"
     "(default: the latest), with that checkpoint. Anyone with the log's vkey can check it with\n"
     "`nrm audit check-proof`.\n"},
    {"check-proof",
     "FILE",
     {"--vkey"},
     {"--witness", "--witnesses-required"},
     "usage: nrm audit check-proof FILE --vkey VKEY [--witness VKEY]... [--witnesses-required K]\n"
     "Checks a proof from `prove` or `consistency` offline, with no database: the checkpoint's\n"
     "signature under the log's verifier key (VKEY: the string, or a file holding it), the\n"
     "cosignatures of the witnesses named (K of them required; default: all those named), and\n"
     "the inclusion or consistency path. Exit 0 if valid.\n",
     {"--witness"}},
    {"status",
     "DIR",
     {},
     {},
     "usage: nrm audit status DIR\n"
     "Shows the broker's audit log (DIR: its data_dir) as witnesses see it: the latest\n"
     "checkpoint, the latest one witnesses cosigned and who cosigned it, and for each witness\n"
     "of the broker's config what the broker last heard (from DIR/witnesses.json, which the\n"
     "running broker rewrites after each submission): the size it cosigned, its failures and\n"
     "its last error. Exit 0 when every witness cosigned the last time it was asked, 1 when one\n"
     "did not (or the log cannot be read).\n"},
    {"consistency",
     "DIR",
     {"--from"},
     {"--size"},
     "usage: nrm audit consistency DIR --from N [--size M]\n"
     "Prints, as JSON, a proof that the log's tree at size N is a prefix of the tree of the\n"
     "checkpoint of size M (default: the latest), with both roots and that checkpoint. Compare\n"
     "from_root with the root you hold for size N (e.g. from a receipt), then check the proof\n"
     "with `nrm audit check-proof`.\n"},
};

struct Parsed {
  std::string positional;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;

  const std::string* Get(std::string_view flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? nullptr : &it->second.front();
  }
  const std::string& At(std::string_view flag) const { return flags.find(flag)->second.front(); }
  std::vector<std::string> All(std::string_view flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? std::vector<std::string>{} : it->second;
  }
};

// Parses `args` after the command name; an error message (exit 2) on failure.
Result<Parsed> ParseArgs(const Command& cmd, const std::vector<std::string>& args) {
  Parsed p;
  bool have_positional = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.starts_with("--")) {
      std::string name(a), value;
      bool have_value = false;
      if (size_t eq = a.find('='); eq != std::string_view::npos) {
        name = std::string(a.substr(0, eq));
        value = std::string(a.substr(eq + 1));
        have_value = true;
      }
      if (!cmd.required.contains(name) && !cmd.optional.contains(name)) {
        return InvalidArgument("unknown option " + name + " for " + std::string(cmd.name));
      }
      if (cmd.switches.contains(name)) {
        if (have_value) return InvalidArgument(name + " takes no value");
      } else if (!have_value) {
        if (i + 1 >= args.size()) return InvalidArgument(name + " needs a value");
        value = args[++i];
      }
      std::vector<std::string>& values = p.flags[name];
      if (!values.empty() && !cmd.repeatable.contains(name)) {
        return InvalidArgument(name + " given twice");
      }
      values.push_back(std::move(value));
      continue;
    }
    if (have_positional) {
      return InvalidArgument("unexpected argument \"" + std::string(a) + "\" (one " +
                             std::string(cmd.positional) + " only)");
    }
    p.positional = std::string(a);
    have_positional = true;
  }
  if (!have_positional) return InvalidArgument(std::string(cmd.positional) + " is missing");
  for (std::string_view flag : cmd.required) {
    if (!p.flags.contains(flag)) return InvalidArgument(std::string(flag) + " is required");
  }
  return p;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// A vkey: the string itself (it holds '+'), or a file holding one.
Result<note::VerifierKey> LoadVkey(const std::string& arg, std::string_view flag) {
  std::string text = arg;
  if (arg.find('+') == std::string::npos) {
    Result<std::string> file = ReadFile(arg);
    if (!file) {
      return InvalidArgument(std::string(flag) + ": \"" + arg +
                             "\" is neither a verifier key nor a readable file holding one");
    }
    text = std::string(Trim(*file));
  }
  Result<note::VerifierKey> key = note::ParseVerifierKey(text);
  if (!key) return InvalidArgument(std::string(flag) + ": " + key.status().message());
  return key;
}

// The log's key for `verify`: a vkey (origin and key), or the broker's public key alone: 64 hex
// digits, or a file holding them or the 32 raw key bytes.
Result<note::VerifierKey> LoadLogKey(const std::string& arg) {
  if (arg.find('+') != std::string::npos) return LoadVkey(arg, "--broker-key");
  if (arg.size() == 2 * crypto::kSignPublicBytes) {
    if (Result<Bytes> key = FromHex(arg)) return note::VerifierKey{"", 0, 0, std::move(*key)};
  }
  Result<std::string> file = ReadFile(arg);
  if (!file) {
    return InvalidArgument("--broker-key: \"" + arg +
                           "\" is neither a key (vkey or 64 hex digits) nor a readable key file");
  }
  if (file->size() == crypto::kSignPublicBytes) {
    return note::VerifierKey{"", 0, 0, ToBytes(*file)};
  }
  if (Trim(*file).find('+') != std::string_view::npos) return LoadVkey(arg, "--broker-key");
  Result<Bytes> key = FromHexExact(Trim(*file), crypto::kSignPublicBytes, "--broker-key file");
  if (!key) return InvalidArgument(key.status().message() + " (" + arg + ")");
  return note::VerifierKey{"", 0, 0, std::move(*key)};
}

Result<std::vector<note::VerifierKey>> LoadWitnesses(const Parsed& p) {
  std::vector<note::VerifierKey> out;
  for (const std::string& arg : p.All("--witness")) {
    NRM_ASSIGN_OR_RETURN(note::VerifierKey k, LoadVkey(arg, "--witness"));
    if (k.type != note::kTypeCosignatureV1) {
      return InvalidArgument("--witness: " + k.name + " is not a cosignature key (type 0x04)");
    }
    out.push_back(std::move(k));
  }
  return out;
}

Result<uint64_t> ParseCount(const std::string& text, std::string_view flag) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(std::string(flag) + ": \"" + text + "\" is not a number");
  }
  return v;
}

// Prints a usage error (exit 2) or a failure (exit 1).
int Usage(std::ostream& err, const Status& s) {
  err << s.message() << "\n";
  return kExitUsage;
}

int Verify(const Parsed& p, std::ostream& out, std::ostream& err) {
  VerifyOptions options;
  if (const std::string* arg = p.Get("--broker-key")) {
    Result<note::VerifierKey> key = LoadLogKey(*arg);
    if (!key) return Usage(err, key.status());
    options.broker_public_key = std::move(key->public_key);
    options.origin = std::move(key->name);
  }
  Result<std::vector<note::VerifierKey>> witnesses = LoadWitnesses(p);
  if (!witnesses) return Usage(err, witnesses.status());
  options.witnesses = std::move(*witnesses);
  for (const std::string& file : p.All("--checkpoint")) {
    Result<std::string> text = ReadFile(file);
    if (!text) return Usage(err, InvalidArgument("--checkpoint: cannot read " + file));
    options.checkpoints.push_back({file, std::move(*text)});
  }
  Result<VerifyReport> report = VerifyLog(p.positional, options);
  if (!report) {
    err << "cannot verify: " << report.status().ToString() << "\n";
    return kExitFailed;
  }
  if (report->intact) {
    out << "audit log intact: " << report->records << " records, " << report->heads_checked
        << " signed tree heads checked (" << report->cosignatures_checked
        << " witness cosignatures), root " << ToHex(report->root) << "\n";
    if (!options.checkpoints.empty()) {
      out << "agrees with " << report->external_checked << " checkpoint(s) given\n";
    }
    return kExitOk;
  }
  if (report->differs_at_size) {
    out << "log differs from checkpoint: size " << *report->differs_at_size << " ("
        << report->problem << ")\n";
  } else if (report->first_bad_index) {
    out << "first bad record: index " << *report->first_bad_index << " (" << report->problem
        << ")\n";
  } else if (report->bad_head_size) {
    out << "bad signed tree head: size " << *report->bad_head_size << " (" << report->problem
        << ")\n";
  } else {
    out << "audit log damaged: " << report->problem << "\n";
  }
  return kExitFailed;
}

int CheckpointCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<std::string> note = LatestCheckpoint(p.positional, p.Get("--cosigned") != nullptr);
  if (!note) {
    err << "no checkpoint: " << note.status().ToString() << "\n";
    return kExitFailed;
  }
  out << *note;
  return kExitOk;
}

int Prove(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<Bytes> id = FromHexExact(p.At("--message-id"), kMessageIdBytes, "--message-id");
  if (!id) return Usage(err, id.status());
  std::optional<AuditEvent> event;
  if (const std::string* name = p.Get("--event")) {
    event = EventFromName(*name);
    if (!event) return Usage(err, InvalidArgument("--event: unknown event \"" + *name + "\""));
  }
  uint64_t size = 0;
  if (const std::string* arg = p.Get("--size")) {
    Result<uint64_t> n = ParseCount(*arg, "--size");
    if (!n) return Usage(err, n.status());
    size = *n;
  }
  Result<std::string> proof = nrm::audit::Prove(p.positional, *id, event, size);
  if (!proof) {
    err << "cannot prove: " << proof.status().ToString() << "\n";
    return kExitFailed;
  }
  out << *proof;
  return kExitOk;
}

int CheckProofCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<note::VerifierKey> key = LoadVkey(p.At("--vkey"), "--vkey");
  if (!key) return Usage(err, key.status());
  if (key->type != note::kTypeEd25519) {
    return Usage(err, InvalidArgument("--vkey: a log's key is of type 0x01 (Ed25519)"));
  }
  Result<std::vector<note::VerifierKey>> witnesses = LoadWitnesses(p);
  if (!witnesses) return Usage(err, witnesses.status());
  uint64_t required = witnesses->size();
  if (const std::string* arg = p.Get("--witnesses-required")) {
    Result<uint64_t> n = ParseCount(*arg, "--witnesses-required");
    if (!n) return Usage(err, n.status());
    if (*n > witnesses->size()) {
      return Usage(err, InvalidArgument("--witnesses-required: more than the witnesses named"));
    }
    required = *n;
  }
  Result<std::string> text = ReadFile(p.positional);
  if (!text) {
    err << "cannot read the proof: " << text.status().ToString() << "\n";
    return kExitFailed;
  }
  Result<CheckedProof> checked = CheckProof(*text, *key, *witnesses);
  if (!checked) {
    err << "proof does not check out: " << checked.status().ToString() << "\n";
    return kExitFailed;
  }
  const size_t cosigned = checked->checkpoint ? checked->checkpoint->cosigned_by.size() : 0;
  if (cosigned < required) {
    err << "proof does not check out: the checkpoint carries " << cosigned << " of the " << required
        << " witness cosignatures required\n";
    return kExitFailed;
  }
  std::string signed_at;
  if (checked->time) {
    signed_at = ", signed " + FormatTimeUtc(static_cast<int64_t>(*checked->time) * 1000);
  } else if (checked->legacy_head) {
    signed_at = ", signed " + FormatTimeUtc(checked->legacy_head->time_ms);
  }
  const std::string tree = "the broker's audit log of " + std::to_string(checked->size) +
                           " records, root " + ToHex(checked->root) + signed_at;
  if (checked->type == kInclusionProofType || checked->type == kInclusionProofTypeV1) {
    out << "proof OK: record " << checked->leaf_index << " (" << EventName(checked->record.event)
        << ", message " << ToHex(checked->record.message_id) << ") is in " << tree << "\n";
  } else {
    out << "proof OK: the log of " << checked->from_size << " records with root "
        << ToHex(checked->from_root) << " is a prefix of " << tree << "\n";
  }
  if (checked->checkpoint) {
    for (const auto& [index, time] : checked->checkpoint->cosigned_by) {
      out << "cosigned by " << (*witnesses)[index].name << " at "
          << FormatTimeUtc(static_cast<int64_t>(time) * 1000) << "\n";
    }
  }
  return kExitOk;
}

std::string Ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  return FormatTimeUtc(then_ms) + " (" +
         std::to_string(std::max<int64_t>(0, now_ms - then_ms) / 1000) + " s ago)";
}

int StatusCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  // DIR is the data_dir; `nrm` may have turned it into its store/ already.
  std::filesystem::path data = p.positional;
  std::filesystem::path db = data / "store";
  if (!std::filesystem::exists(db / "CURRENT")) {
    db = data;
    if (data.filename() == "store") data = data.parent_path();
  }
  Result<LogStatus> log = ReadLogStatus(db.string());
  if (!log) {
    err << "cannot read the log: " << log.status().ToString() << "\n";
    return kExitFailed;
  }
  const int64_t now = SystemClock::Get().NowMillis();
  auto signed_at = [&](const VerifiedCheckpoint& v) {
    return v.log_time ? Ago(static_cast<int64_t>(*v.log_time) * 1000, now) : std::string("?");
  };
  out << "log " << log->origin << "\n  latest checkpoint: size " << log->latest->checkpoint.size
      << ", signed " << signed_at(*log->latest) << "\n";
  if (log->cosigned && !log->cosigned->cosigned_by.empty()) {
    out << "  latest cosigned:   size " << log->cosigned->checkpoint.size << ", signed "
        << signed_at(*log->cosigned) << "\n";
    for (const auto& [index, time] : log->cosigned->cosigned_by) {
      out << "    cosigned by " << log->witnesses[index].name << " at "
          << FormatTimeUtc(static_cast<int64_t>(time) * 1000) << "\n";
    }
  } else {
    out << "  latest cosigned:   none\n";
  }
  if (log->witnesses.empty()) {
    out << "witnesses: none configured\n";
    return kExitOk;
  }
  Result<std::string> text = ReadFile((data / kWitnessStatusFile).string());
  Result<json::Json> doc = text ? json::Parse(*text) : Result<json::Json>(text.status());
  if (!doc || !doc->is_object() || !doc->contains("witnesses") || !(*doc)["witnesses"].is_array()) {
    out << "witnesses: " << log->witnesses.size()
        << " configured; no status yet (the broker writes " << kWitnessStatusFile
        << " after its first submission)\n";
    return kExitFailed;
  }
  bool all_well = true;
  for (const json::Json& w : (*doc)["witnesses"]) {
    auto text_of = [&](const char* key) {
      return w.contains(key) && w[key].is_string() ? w[key].get<std::string>() : std::string();
    };
    auto number = [&](const char* key) {
      return w.contains(key) && w[key].is_number_integer() ? w[key].get<int64_t>() : int64_t{0};
    };
    const std::string error = text_of("last_error");
    all_well = all_well && error.empty();
    out << "witness " << text_of("name") << " (" << text_of("url") << ")\n"
        << "  cosigned size " << number("cosigned_size") << " at "
        << Ago(number("cosigned_at_ms"), now) << "; " << number("submissions") << " submissions, "
        << number("cosignatures") << " cosignatures, " << number("failures") << " failures ("
        << number("refusals") << " refusals)\n";
    if (!error.empty()) {
      out << "  FAILING since " << Ago(number("last_error_at_ms"), now) << ": " << error
          << "\n  next attempt " << FormatTimeUtc(number("next_attempt_ms")) << "\n";
    }
  }
  out << "status written " << Ago(doc->value("written_at_ms", int64_t{0}), now) << "\n";
  return all_well ? kExitOk : kExitFailed;
}

int ConsistencyCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<uint64_t> from = ParseCount(p.At("--from"), "--from");
  if (!from)
    return Usage(err, InvalidArgument("--from: \"" + p.At("--from") + "\" is not a tree size"));
  uint64_t size = 0;
  if (const std::string* arg = p.Get("--size")) {
    Result<uint64_t> n = ParseCount(*arg, "--size");
    if (!n) return Usage(err, n.status());
    size = *n;
  }
  Result<std::string> proof = Consistency(p.positional, *from, size);
  if (!proof) {
    err << "cannot prove consistency: " << proof.status().ToString() << "\n";
    return kExitFailed;
  }
  out << *proof;
  return kExitOk;
}

}  // namespace

int RunAuditCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Command* cmd = nullptr;
  for (const Command& c : kCommands) {
    if (!args.empty() && c.name == args[0]) cmd = &c;
  }
  // Help comes first, whatever else the words say: the command's own, else the listing.
  if (WantsHelp(args) || (!args.empty() && args[0] == "help")) {
    out << (cmd != nullptr ? cmd->help : kUsage);
    return kExitOk;
  }
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  if (cmd == nullptr) {
    err << "unknown audit command \"" << args[0] << "\"\n" << kUsage;
    return kExitUsage;
  }
  Result<Parsed> parsed = ParseArgs(*cmd, args);
  if (!parsed) {
    err << "nrm audit " << cmd->name << ": " << parsed.status().message() << "\n" << cmd->help;
    return kExitUsage;
  }
  if (Status s = crypto::InitCrypto(); !s.ok()) {
    err << s.ToString() << "\n";
    return kExitFailed;
  }
  if (cmd->name == "verify") return Verify(*parsed, out, err);
  if (cmd->name == "checkpoint") return CheckpointCommand(*parsed, out, err);
  if (cmd->name == "prove") return Prove(*parsed, out, err);
  if (cmd->name == "check-proof") return CheckProofCommand(*parsed, out, err);
  if (cmd->name == "status") return StatusCommand(*parsed, out, err);
  return ConsistencyCommand(*parsed, out, err);
}

}  // namespace nrm::audit
