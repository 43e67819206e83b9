#include "audit/cli.h"

#include <charconv>
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

namespace nrm::audit {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage: nrm audit COMMAND ...\n"
    "  verify DIR [--broker-key HEX_OR_FILE]      check a whole audit log\n"
    "  prove DIR --message-id HEX [--event NAME]  inclusion proof (JSON) for a message\n"
    "  check-proof FILE --broker-key HEX_OR_FILE  check a proof offline\n"
    "  consistency DIR --from N                   proof that size N is a prefix of today's log\n"
    "  stats DIR [--json] [--directory SIGNED]    counts by month, place, kind and outcome\n"
    "Run `nrm audit COMMAND --help` for details.\n";

struct Command {
  std::string_view name;
  std::string_view positional;  // what the one positional argument is
  std::set<std::string_view> required;
  std::set<std::string_view> optional;
  std::string_view help;
};

const Command kCommands[] = {
    {"verify",
     "DIR",
     {},
     {"--broker-key"},
     "usage: nrm audit verify DIR [--broker-key HEX_OR_FILE]\n"
     "Recomputes the Merkle tree of the audit log in the RocksDB directory DIR (opened\n"
     "read-only; use a copy or checkpoint of a live broker's database) and checks every record\n"
     "and signed tree head. --broker-key: the broker's Ed25519 public key (64 hex digits, or a\n"
     "file holding them or the 32 raw bytes); without it the key stored in the log is used.\n"
     "Exit 0 when intact; 1 with \"first bad record: index N (reason)\" otherwise.\n"},
    {"prove",
     "DIR",
     {"--message-id"},
     {"--event"},
     "usage: nrm audit prove DIR --message-id HEX [--event NAME]\n"
     "Prints, as JSON, the first audit record of the message (of event NAME, e.g. accepted,\n"
     "delivered), its leaf index, its inclusion proof and the latest signed tree head. Anyone\n"
     "with the broker's public key can check it with `nrm audit check-proof`.\n"},
    {"check-proof",
     "FILE",
     {"--broker-key"},
     {},
     "usage: nrm audit check-proof FILE --broker-key HEX_OR_FILE\n"
     "Checks a proof from `prove` or `consistency` offline, with no database: the tree head's\n"
     "signature under the broker key and the inclusion or consistency path. Exit 0 if valid.\n"},
    {"consistency",
     "DIR",
     {"--from"},
     {},
     "usage: nrm audit consistency DIR --from N\n"
     "Prints, as JSON, a proof that the log's tree at size N is a prefix of the tree of the\n"
     "latest signed head, with both roots. Compare from_root with the root you hold for size N\n"
     "(e.g. from a receipt), then check the proof with `nrm audit check-proof`.\n"},
};

struct Parsed {
  std::string positional;
  std::map<std::string, std::string, std::less<>> flags;
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
      if (!have_value) {
        if (i + 1 >= args.size()) return InvalidArgument(name + " needs a value");
        value = args[++i];
      }
      if (!p.flags.emplace(name, value).second) return InvalidArgument(name + " given twice");
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

// 64 hex digits, or a file holding 64 hex digits or the 32 raw key bytes.
Result<Bytes> LoadBrokerKey(const std::string& arg) {
  if (arg.size() == 2 * crypto::kSignPublicBytes) {
    if (Result<Bytes> key = FromHex(arg)) return key;
  }
  Result<std::string> file = ReadFile(arg);
  if (!file) {
    return InvalidArgument("--broker-key: \"" + arg +
                           "\" is neither 64 hex digits nor a readable key file");
  }
  if (file->size() == crypto::kSignPublicBytes) {
    ByteView raw = AsBytes(*file);
    return Bytes(raw.begin(), raw.end());
  }
  Result<Bytes> key = FromHexExact(Trim(*file), crypto::kSignPublicBytes, "--broker-key file");
  if (!key) return InvalidArgument(key.status().message() + " (" + arg + ")");
  return key;
}

int Verify(const Parsed& p, std::ostream& out, std::ostream& err) {
  VerifyOptions options;
  if (auto it = p.flags.find("--broker-key"); it != p.flags.end()) {
    Result<Bytes> key = LoadBrokerKey(it->second);
    if (!key) {
      err << key.status().message() << "\n";
      return kExitUsage;
    }
    options.broker_public_key = std::move(*key);
  }
  Result<VerifyReport> report = VerifyLog(p.positional, options);
  if (!report) {
    err << "cannot verify: " << report.status().ToString() << "\n";
    return kExitFailed;
  }
  if (report->intact) {
    out << "audit log intact: " << report->records << " records, " << report->heads_checked
        << " signed tree heads checked, root " << ToHex(report->root) << "\n";
    return kExitOk;
  }
  if (report->first_bad_index) {
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

int Prove(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<Bytes> id = FromHexExact(p.flags.at("--message-id"), kMessageIdBytes, "--message-id");
  if (!id) {
    err << id.status().message() << "\n";
    return kExitUsage;
  }
  std::optional<AuditEvent> event;
  if (auto it = p.flags.find("--event"); it != p.flags.end()) {
    event = EventFromName(it->second);
    if (!event) {
      err << "--event: unknown event \"" << it->second << "\"\n";
      return kExitUsage;
    }
  }
  Result<std::string> proof = nrm::audit::Prove(p.positional, *id, event);
  if (!proof) {
    err << "cannot prove: " << proof.status().ToString() << "\n";
    return kExitFailed;
  }
  out << *proof;
  return kExitOk;
}

int CheckProofCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  Result<Bytes> key = LoadBrokerKey(p.flags.at("--broker-key"));
  if (!key) {
    err << key.status().message() << "\n";
    return kExitUsage;
  }
  Result<std::string> text = ReadFile(p.positional);
  if (!text) {
    err << "cannot read the proof: " << text.status().ToString() << "\n";
    return kExitFailed;
  }
  Result<CheckedProof> checked = CheckProof(*text, *key);
  if (!checked) {
    err << "proof does not check out: " << checked.status().ToString() << "\n";
    return kExitFailed;
  }
  const SignedTreeHead& head = checked->head;
  if (checked->type == kInclusionProofType) {
    out << "proof OK: record " << checked->leaf_index << " (" << EventName(checked->record.event)
        << ", message " << ToHex(checked->record.message_id) << ") is in the broker's audit log of "
        << head.size << " records, root " << ToHex(head.root) << ", signed "
        << FormatTimeUtc(head.time_ms) << "\n";
  } else {
    out << "proof OK: the log of " << checked->from_size << " records with root "
        << ToHex(checked->from_root) << " is a prefix of the broker's log of " << head.size
        << " records, root " << ToHex(head.root) << ", signed " << FormatTimeUtc(head.time_ms)
        << "\n";
  }
  return kExitOk;
}

int ConsistencyCommand(const Parsed& p, std::ostream& out, std::ostream& err) {
  const std::string& from = p.flags.at("--from");
  uint64_t from_size = 0;
  auto [end, ec] = std::from_chars(from.data(), from.data() + from.size(), from_size);
  if (ec != std::errc() || end != from.data() + from.size()) {
    err << "--from: \"" << from << "\" is not a tree size\n";
    return kExitUsage;
  }
  Result<std::string> proof = Consistency(p.positional, from_size);
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
  if (cmd->name == "prove") return Prove(*parsed, out, err);
  if (cmd->name == "check-proof") return CheckProofCommand(*parsed, out, err);
  return ConsistencyCommand(*parsed, out, err);
}

}  // namespace nrm::audit
