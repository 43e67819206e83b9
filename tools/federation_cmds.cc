// nrm federation: a country's trust anchor and the bilateral agreements its authority signs
// with partner countries (docs/PROTOCOL.md section 12; docs/OPERATIONS.md "Linking two
// countries").
#include <iostream>
#include <set>
#include <string_view>

#include "common/args.h"
#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "federation/agreement_book.h"
#include "federation/anchor.h"
#include "policy/policy_file.h"
#include "tools/commands.h"
#include "tools/federation_scenario.h"

namespace nrm::tools {
namespace {

struct Help {
  std::string_view group;     // "anchor" or "agreement"
  std::string_view name;      // the subcommand
  std::string_view synopsis;  // the words after the name
  std::string_view summary;   // one line
  std::string_view options;   // one line per option
};

constexpr std::string_view kAnchorsOption =
    "  --anchors FILE,FILE  the two countries' anchors (installed after comparing fingerprints)\n";

constexpr Help kHelp[] = {
    {"anchor", "export",
     "--directory SIGNED --authority-key KEYFILE --country CC --endpoint URL --out FILE "
     "[--valid-days N]",
     "Write the country's trust anchor, signed by its authority, for partner countries.",
     "  --directory SIGNED       the country's signed directory (its broker's keys and serial)\n"
     "  --authority-key KEYFILE  the national authority's .key file (it signs the anchor)\n"
     "  --country CC             the country, e.g. TH (every agency of the directory is of it)\n"
     "  --endpoint URL           where partner brokers connect, tcp://HOST:PORT\n"
     "  --out FILE               the anchor to write\n"
     "  --valid-days N           days until the anchor expires (default 365)\n"},
    {"anchor", "show", "ANCHOR [--fingerprint FP]",
     "Verify an anchor and print it with the fingerprint to compare by phone or in person.",
     "  --fingerprint FP  the fingerprint the issuing authority read out: exit 1 unless it "
     "matches\n"},
    {"agreement", "draft",
     "--out FILE --id ID --mou TEXT --countries CC,CC --max-handling H --until TIME "
     "[--from TIME] [--version N] [--title TEXT] (--policy FILE [--agreement ID] | --roles "
     "R,R --kinds K,K)",
     "Write an unsigned agreement between two countries.",
     "  --out FILE          the draft to write\n"
     "  --id ID             the agreement's id, e.g. th-kh-2003\n"
     "  --mou TEXT          the MOU it implements, e.g. \"TH-KH MOU 2003\"\n"
     "  --countries CC,CC   the two countries\n"
     "  --max-handling H    the highest handling code allowed, H0 to H3\n"
     "  --until TIME        when it stops being in force (2027-12-31 or 2027-12-31T00:00:00Z)\n"
     "  --from TIME         when it comes into force (default: the policy agreement's date, or "
     "now)\n"
     "  --version N         raise it for every new text of the same id (default 1)\n"
     "  --title TEXT        a title for people (default: the policy agreement's, or the MOU)\n"
     "  --policy FILE       take the routes from this policy: its cross-border rules within\n"
     "                      the roles and kinds of its [[agreement]] --agreement (default --id)\n"
     "  --roles R,R         without --policy: the roles, on both sides and in both directions\n"
     "  --kinds K,K         without --policy: the kinds that may cross\n"},
    {"agreement", "sign", "FILE --authority-key KEYFILE --country CC [--anchor FILE] [--out FILE]",
     "Sign the agreement for one country (each authority signs the same body in turn).",
     "  --authority-key KEYFILE  this country's authority .key file\n"
     "  --country CC             the country this authority signs for\n"
     "  --anchor FILE            this country's anchor: refuse a key that is not its authority's\n"
     "  --out FILE               where to write the signed file (default: FILE itself)\n"},
    {"agreement", "verify", "FILE --anchors FILE,FILE [--at TIME]",
     "Check both signatures and the dates: exit 0 when the agreement is in force, 1 when not.",
     "  --anchors FILE,FILE  the two countries' anchors (installed after comparing fingerprints)\n"
     "  --at TIME            check for this time instead of now\n"},
    {"agreement", "show", "FILE [--anchors FILE,FILE]",
     "Print the agreement's terms and who signed it (checked when anchors are given).",
     kAnchorsOption},
    {"status", "", "--data-dir DIR [--json]",
     "Show each link of a running national broker: connected, queued, oldest queued, last "
     "receipt.",
     "  --data-dir DIR  the broker's data_dir (it writes federation.json there every second)\n"
     "  --json          print the broker's status file as it is\n"},
};

// "anchor export --directory ...", "status --data-dir DIR [--json]".
std::string Synopsis(const Help& h) {
  return std::string(h.group) + (h.name.empty() ? "" : " ") + std::string(h.name) + " " +
         std::string(h.synopsis);
}

std::string HelpText(const Help& h) {
  return "usage: nrm federation " + Synopsis(h) + "\n" + std::string(h.summary) + "\n" +
         std::string(h.options);
}

std::string GroupUsage() {
  std::string out = "usage: nrm federation GROUP COMMAND ...\n";
  for (const Help& h : kHelp)
    out += "  " + Synopsis(h) + "\n      " + std::string(h.summary) + "\n";
  return out + "Run `nrm federation GROUP COMMAND --help` for details.\n";
}

// A group's listing (`nrm federation anchor --help`), with every option of its subcommands.
std::string GroupUsage(std::string_view group) {
  std::string out;
  for (const Help& h : kHelp) {
    if (h.group == group) out += HelpText(h);
  }
  return out.empty() ? GroupUsage() : out;
}

std::string CommandUsage(std::string_view group, std::string_view name) {
  for (const Help& h : kHelp) {
    if (h.group == group && h.name == name) return HelpText(h);
  }
  return GroupUsage(group);
}

int Usage(std::ostream& err, const std::string& problem, const std::string& usage) {
  err << "nrm: " << problem << "\n" << usage;
  return 2;
}

int Error(std::ostream& err, const Status& s, int code = 2) {
  err << "nrm: " << s.message() << "\n";
  return code;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Result<int64_t> ParseTime(const std::string& value, const std::string& option) {
  return ParseTimeValue(value, option);
}

Result<int64_t> ParseCount(const std::optional<std::string>& value, int64_t fallback,
                           const std::string& option) {
  if (!value) return fallback;
  try {
    size_t used = 0;
    const int64_t n = std::stoll(*value, &used);
    if (used == value->size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  return InvalidArgument(option + " takes a whole number of 1 or more");
}

// --anchors FILE,FILE -> country -> authority key, each anchor verified.
Result<std::map<std::string, Bytes, std::less<>>> LoadAnchorKeys(const std::string& list,
                                                                 int64_t now_ms) {
  std::map<std::string, Bytes, std::less<>> keys;
  for (const std::string& path : SplitList(list)) {
    NRM_ASSIGN_OR_RETURN(federation::Anchor a, federation::LoadAnchor(path, now_ms));
    if (!keys.emplace(a.country, a.authority_key).second) {
      return InvalidArgument(path + ": a second anchor of " + a.country);
    }
  }
  return keys;
}

int AnchorExport(const Args& a, std::ostream& out, std::ostream& err) {
  const std::string usage = CommandUsage("anchor", "export");
  std::map<std::string, std::string> v;
  for (const char* name : {"directory", "authority-key", "country", "endpoint", "out"}) {
    auto r = a.Require(name);
    if (!r) return Usage(err, "federation anchor export: " + r.status().message(), usage);
    v[name] = *r;
  }
  auto days = ParseCount(a.Get("valid-days"), 365, "--valid-days");
  if (!days) return Usage(err, "federation anchor export: " + days.status().message(), usage);
  auto keys = identity::LoadSecretKeyFile(v["authority-key"]);
  if (!keys) return Error(err, keys.status());
  const int64_t now = SystemClock::Get().NowMillis();
  auto dir = identity::Directory::Load(v["directory"], keys->sign_public, now);
  if (!dir) {
    return Error(err, dir.status().WithContext("the directory must verify with the authority "
                                               "key that signs the anchor"));
  }
  for (const identity::Agency& ag : dir->agencies()) {
    if (ag.country != v["country"]) {
      return Error(err, InvalidArgument(v["directory"] + ": agency " + ag.id + " is of " +
                                        ag.country + ", not " + v["country"] +
                                        " (a national directory holds one country's agencies)"));
    }
  }
  federation::Anchor anchor;
  anchor.country = v["country"];
  anchor.authority = dir->authority_name();
  anchor.directory_serial = dir->serial();
  anchor.issued_ms = now / 1000 * 1000;
  anchor.expires_ms = anchor.issued_ms + *days * 86400 * 1000;
  anchor.broker = {dir->broker().id, v["endpoint"], dir->broker().sign_key,
                   dir->broker().curve_key};
  auto text = federation::SignAnchor(anchor, *keys, now);
  if (!text) return Error(err, text.status());
  if (Status s = WriteFileAtomic(v["out"], *text); !s.ok()) return Error(err, s);
  anchor.authority_key = keys->sign_public;
  out << "wrote the anchor of " << anchor.country << " to " << v["out"] << " (expires "
      << FormatTimeUtcSeconds(anchor.expires_ms) << ")\nfingerprint "
      << federation::AnchorFingerprint(anchor)
      << "\nread this fingerprint to each partner authority by phone or in person\n";
  return 0;
}

int AnchorShow(const Args& a, const std::string& path, std::ostream& out, std::ostream& err) {
  auto anchor = federation::LoadAnchor(path, SystemClock::Get().NowMillis());
  if (!anchor) {
    err << "nrm: INVALID: " << anchor.status().message() << "\n";
    return 1;
  }
  out << path << ": valid anchor of " << anchor->country << ", signed by " << anchor->authority
      << "\n  authority key     " << ToHex(anchor->authority_key) << "\n  directory serial  "
      << anchor->directory_serial << "\n  issued            "
      << FormatTimeUtcSeconds(anchor->issued_ms) << "\n  expires           "
      << FormatTimeUtcSeconds(anchor->expires_ms) << "\n  broker            " << anchor->broker.id
      << " at " << anchor->broker.endpoint << "\n  broker sign key   "
      << ToHex(anchor->broker.sign_key) << "\n  broker curve key  "
      << ToHex(anchor->broker.curve_key) << "\nfingerprint "
      << federation::AnchorFingerprint(*anchor) << "\n";
  if (auto expected = a.Get("fingerprint")) {
    if (!federation::FingerprintMatches(*anchor, *expected)) {
      err << "nrm: MISMATCH: the fingerprint read out is not this anchor's: do not install it\n";
      return 1;
    }
    out << "the fingerprint matches\n";
  }
  return 0;
}

// The routes of `policy_path`'s agreement `agreement_id` between the two countries.
Result<federation::AgreementTerms> TermsFromPolicy(const std::string& policy_path,
                                                   const std::string& agreement_id,
                                                   federation::AgreementTerms terms) {
  NRM_ASSIGN_OR_RETURN(policy::Policy p, policy::LoadPolicyFile(policy_path));
  Result<federation::AgreementTerms> t =
      AgreementTermsFromPolicy(p, agreement_id, std::move(terms));
  if (!t.ok()) return t.status().WithContext(policy_path);
  return t;
}

int AgreementDraft(const Args& a, std::ostream& out, std::ostream& err) {
  const std::string usage = CommandUsage("agreement", "draft");
  auto fail = [&](const Status& s) {
    return Usage(err, "federation agreement draft: " + s.message(), usage);
  };
  std::map<std::string, std::string> v;
  for (const char* name : {"out", "id", "mou", "countries", "max-handling", "until"}) {
    auto r = a.Require(name);
    if (!r) return fail(r.status());
    v[name] = *r;
  }
  federation::AgreementTerms terms;
  terms.id = v["id"];
  terms.mou = v["mou"];
  terms.title = a.Get("title").value_or("");
  const std::vector<std::string> countries = SplitList(v["countries"]);
  if (countries.size() != 2)
    return fail(InvalidArgument("--countries takes two codes, e.g. TH,KH"));
  terms.countries = {countries[0], countries[1]};
  auto version = ParseCount(a.Get("version"), 1, "--version");
  if (!version) return fail(version.status());
  terms.version = *version;
  auto handling = wire::HandlingFromName(v["max-handling"]);
  if (!handling) return fail(handling.status());
  terms.max_handling = *handling;
  auto until = ParseTime(v["until"], "--until");
  if (!until) return fail(until.status());
  terms.valid_until_ms = *until;
  if (auto from = a.Get("from")) {
    auto ms = ParseTime(*from, "--from");
    if (!ms) return fail(ms.status());
    terms.valid_from_ms = *ms;
  }
  if (auto policy_path = a.Get("policy")) {
    if (a.Get("roles") || a.Get("kinds")) {
      return fail(InvalidArgument("--roles and --kinds go without --policy"));
    }
    auto t = TermsFromPolicy(*policy_path, a.Get("agreement").value_or(terms.id), terms);
    if (!t) return Error(err, t.status());
    terms = std::move(*t);
  } else {
    auto roles = a.Require("roles");
    auto kinds = a.Require("kinds");
    if (!roles || !kinds) return fail(InvalidArgument("needs --policy, or --roles and --kinds"));
    for (int dir = 0; dir < 2; ++dir) {
      terms.routes.push_back({terms.countries[dir], terms.countries[1 - dir], SplitList(*roles),
                              SplitList(*roles), SplitList(*kinds)});
    }
  }
  if (terms.valid_from_ms == 0) terms.valid_from_ms = SystemClock::Get().NowMillis() / 1000 * 1000;
  if (terms.title.empty()) terms.title = terms.mou;
  auto body = federation::AgreementBody(terms);
  if (!body) return Error(err, body.status());
  if (Status s = WriteFileAtomic(v["out"], *body); !s.ok()) return Error(err, s);
  out << "wrote draft " << v["out"] << ": agreement " << terms.id << " v" << terms.version
      << " between " << terms.countries[0] << " and " << terms.countries[1] << ", "
      << terms.routes.size() << " routes, in force " << FormatTimeUtcSeconds(terms.valid_from_ms)
      << " to " << FormatTimeUtcSeconds(terms.valid_until_ms)
      << "\nboth authorities sign it: nrm federation agreement sign " << v["out"]
      << " --authority-key KEY --country CC\n";
  return 0;
}

int AgreementSign(const Args& a, const std::string& path, std::ostream& out, std::ostream& err) {
  const std::string usage = CommandUsage("agreement", "sign");
  auto key_file = a.Require("authority-key");
  auto country = a.Require("country");
  for (const auto* r : {&key_file, &country}) {
    if (!r->ok()) return Usage(err, "federation agreement sign: " + r->status().message(), usage);
  }
  auto keys = identity::LoadSecretKeyFile(*key_file);
  if (!keys) return Error(err, keys.status());
  if (auto anchor_path = a.Get("anchor")) {
    auto anchor = federation::LoadAnchor(*anchor_path, SystemClock::Get().NowMillis());
    if (!anchor) return Error(err, anchor.status());
    if (anchor->country != *country || anchor->authority_key != keys->sign_public) {
      return Error(err, PermissionDenied(*key_file + " is not the authority key of " + *country +
                                         "'s anchor " + *anchor_path + "; not signing"));
    }
  }
  auto text = ReadFile(path);
  if (!text) return Error(err, text.status());
  auto signed_text = federation::SignAgreement(*text, path, *country, *keys);
  if (!signed_text) return Error(err, signed_text.status());
  const std::string dest = a.Get("out").value_or(path);
  if (Status s = WriteFileAtomic(dest, *signed_text); !s.ok()) return Error(err, s);
  auto parsed = federation::Agreement::Parse(*signed_text, dest);
  out << "signed " << (parsed.ok() ? parsed->Name() : path) << " for " << *country << " -> " << dest
      << " (signed by";
  if (parsed.ok()) {
    for (const std::string& c : parsed->SignedBy()) out << " " << c;
  }
  out << ")\n";
  return 0;
}

int ShowStatus(const Args& a, std::ostream& out, std::ostream& err) {
  auto dir = a.Require("data-dir");
  if (!dir)
    return Usage(err, "federation status: " + dir.status().message(), CommandUsage("status", ""));
  const std::string path = *dir + "/federation.json";
  auto text = ReadFile(path);
  if (!text) {
    return Error(err, NotFound(path + " is missing: is this a national broker's data_dir (with "
                                      "'country' and [[partner]] in its config), and has it run?"));
  }
  auto doc = json::Parse(*text);
  if (!doc) return Error(err, doc.status().WithContext(path));
  if (a.Has("json")) {
    out << *text;
    return 0;
  }
  const json::Json& d = *doc;
  const int64_t age_s =
      (SystemClock::Get().NowMillis() - d.value("written_at_ms", int64_t{0})) / 1000;
  out << d.value("broker", std::string("?")) << " (" << d.value("country", std::string("?"))
      << "), status of " << d.value("written_at", std::string("?")) << "\n";
  if (age_s > 10) {
    out << "  WARNING: written " << age_s << " s ago: the broker is not running, or is stuck\n";
  }
  for (const json::Json& l : d.value("links", json::Json::array())) {
    auto text_of = [&](const char* key) {
      const json::Json& v = l.contains(key) ? l[key] : json::Json();
      return v.is_null() ? std::string("-") : v.is_string() ? v.get<std::string>() : v.dump();
    };
    out << "  " << text_of("country") << "  " << text_of("broker") << " at " << text_of("endpoint")
        << "\n    " << (l.value("connected", false) ? "connected" : "NOT CONNECTED") << ", "
        << (l.value("agreement_in_force", false) ? "agreement in force" : "NO AGREEMENT IN FORCE")
        << ", directory serial " << text_of("directory_serial") << "\n    queued "
        << text_of("queued") << " (in flight " << text_of("in_flight") << "), oldest queued "
        << text_of("oldest_queued") << "\n    agreements";
    std::string agreements;
    for (const json::Json& g : l.value("agreements", json::Json::array())) {
      if (!g.is_object()) continue;
      agreements += " " + g.value("id", std::string("?")) + " v" +
                    std::to_string(g.value("version", int64_t{0})) + " until " +
                    g.value("valid_until", std::string("?")) + ";";
    }
    if (!agreements.empty()) agreements.pop_back();
    out << (agreements.empty() ? " -" : agreements) << "\n    relayed " << text_of("relayed")
        << ", last receipt ";
    if (l.contains("last_receipt") && l["last_receipt"].is_object()) {
      const json::Json& r = l["last_receipt"];
      out << r.value("at", std::string("?")) << " (leaf " << r.value("leaf", uint64_t{0})
          << " of the partner's tree of " << r.value("tree_size", uint64_t{0}) << ")";
    } else {
      out << "-";
    }
    out << "\n";
    if (!text_of("last_error").empty() && text_of("last_error") != "\"\"") {
      out << "    last problem: " << text_of("last_error") << "\n";
    }
  }
  return 0;
}

int AgreementVerifyOrShow(const Args& a, const std::string& path, bool show, std::ostream& out,
                          std::ostream& err) {
  const std::string usage = CommandUsage("agreement", show ? "show" : "verify");
  const int64_t now = SystemClock::Get().NowMillis();
  auto anchors = a.Get("anchors");
  if (!show && !anchors) return Usage(err, "federation agreement verify: missing --anchors", usage);
  int64_t at = now;
  if (auto t = a.Get("at")) {
    auto ms = ParseTime(*t, "--at");
    if (!ms) return Usage(err, "federation agreement verify: " + ms.status().message(), usage);
    at = *ms;
  }
  auto agreement = federation::Agreement::Load(path);
  if (!agreement) return Error(err, agreement.status());
  Status check = Status::Ok();
  if (anchors) {
    auto keys = LoadAnchorKeys(*anchors, now);
    if (!keys) return Error(err, keys.status());
    check = agreement->CheckSignatures(*keys);
    if (check.ok()) check = agreement->CheckInForce(at);
  }
  const federation::AgreementTerms& t = agreement->terms();
  if (show) {
    out << agreement->Name() << ": " << t.title << "\n  between " << t.countries[0] << " and "
        << t.countries[1] << ", in force " << FormatTimeUtcSeconds(t.valid_from_ms) << " to "
        << FormatTimeUtcSeconds(t.valid_until_ms) << ", handling up to "
        << wire::HandlingName(t.max_handling) << "\n";
    for (const federation::AgreementRoute& r : t.routes) {
      std::string roles_from, roles_to, kinds;
      for (const auto& x : r.from_roles) roles_from += (roles_from.empty() ? "" : ",") + x;
      for (const auto& x : r.to_roles) roles_to += (roles_to.empty() ? "" : ",") + x;
      for (const auto& x : r.kinds) kinds += (kinds.empty() ? "" : ",") + x;
      out << "  " << r.from << " " << roles_from << " -> " << r.to << " " << roles_to << ": "
          << kinds << "\n";
    }
    std::string signers;
    for (const std::string& c : agreement->SignedBy()) signers += " " + c;
    out << "  signature lines:" << (signers.empty() ? " none (a draft)" : signers) << "\n";
  }
  if (!check.ok()) {
    err << "nrm: NOT IN FORCE: " << check.message() << "\n";
    return 1;
  }
  if (anchors) {
    out << path << ": " << agreement->Name() << " is signed by both " << t.countries[0] << " and "
        << t.countries[1] << " and in force at " << FormatTimeUtcSeconds(at) << "\n";
  }
  return 0;
}

}  // namespace

int FederationCommand(const Words& words, std::ostream& out, std::ostream& err) {
  const std::string group = words.empty() ? "" : words[0];
  const std::string cmd = words.size() > 1 && group != "status" ? words[1] : "";
  if (WantsHelp(words)) {
    out << CommandUsage(group, cmd);
    return 0;
  }
  if (group == "status") {
    auto a = Args::Parse(Words(words.begin() + 1, words.end()), {"data-dir"}, {"json"});
    if (!a)
      return Usage(err, "federation status: " + a.status().message(), CommandUsage("status", ""));
    return ShowStatus(*a, out, err);
  }
  if (words.size() < 2) {
    err << GroupUsage();
    return 2;
  }
  auto a = Args::Parse(Words(words.begin() + 2, words.end()), {"directory",    "authority-key",
                                                               "country",      "endpoint",
                                                               "out",          "valid-days",
                                                               "fingerprint",  "id",
                                                               "mou",          "countries",
                                                               "max-handling", "until",
                                                               "from",         "version",
                                                               "title",        "policy",
                                                               "agreement",    "roles",
                                                               "kinds",        "anchor",
                                                               "anchors",      "at"},
                       {});
  const std::string usage = CommandUsage(group, cmd);
  const std::string name = "federation " + group + " " + cmd;
  if (!a) return Usage(err, name + ": " + a.status().message(), usage);
  if (group == "anchor" && cmd == "export") return AnchorExport(*a, out, err);
  if (group == "agreement" && cmd == "draft") return AgreementDraft(*a, out, err);
  const bool known = (group == "anchor" && cmd == "show") ||
                     (group == "agreement" && (cmd == "sign" || cmd == "verify" || cmd == "show"));
  if (!known)
    return Usage(err, "unknown command 'federation " + group + " " + cmd + "'", GroupUsage());
  if (a->positional().size() != 1) return Usage(err, name + ": needs one FILE", usage);
  const std::string& file = a->positional()[0];
  if (group == "anchor") return AnchorShow(*a, file, out, err);
  if (cmd == "sign") return AgreementSign(*a, file, out, err);
  return AgreementVerifyOrShow(*a, file, cmd == "show", out, err);
}

}  // namespace nrm::tools
