#include "policy/cli.h"

#include <algorithm>
#include <map>
#include <optional>

#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "policy/cases.h"

namespace nrm::policy {
namespace {

constexpr std::string_view kUsage =
    "usage: policy <command> [args]\n"
    "commands:\n"
    "  lint FILE         check a policy file and print every problem\n"
    "  explain FILE ...  show how the policy decides one message\n"
    "  test FILE CASES   run a decision table against a policy\n"
    "'policy <command> --help' describes each.\n";

constexpr std::string_view kLintUsage =
    "usage: policy lint FILE\n"
    "Prints every problem in the policy FILE as 'file:line: message' and exits 1 if there is\n"
    "any; otherwise prints 'FILE: ok (N rules, M agreements)' and exits 0.\n";

constexpr std::string_view kExplainUsage =
    "usage: policy explain FILE --from-role ROLE --from-country CC --to-role ROLE\n"
    "                           --to-country CC --kind KIND [--date YYYY-MM-DD]\n"
    "Shows whether the policy FILE allows the message, by which rule and agreement or why not,\n"
    "and which payload sections the recipient would receive. --date is the message's date\n"
    "(default: today, UTC); agreements apply from their date of entry into force.\n"
    "Exits 0 if allowed, 3 if denied, 2 on a usage error.\n";

constexpr std::string_view kTestUsage =
    "usage: policy test FILE CASES\n"
    "Runs every [[case]] of the decision table CASES against the policy FILE, prints each case\n"
    "that fails and a summary 'N passed, M failed'; exits 1 if any case failed.\n";

bool IsHelp(const std::string& a) { return a == "--help" || a == "-h" || a == "help"; }

// The usage of `command`, or the group's for anything else.
std::string_view UsageOf(const std::string& command) {
  if (command == "lint") return kLintUsage;
  if (command == "explain") return kExplainUsage;
  if (command == "test") return kTestUsage;
  return kUsage;
}

int Usage(std::ostream& err, const std::string& problem, std::string_view usage) {
  err << "error: " << problem << "\n" << usage;
  return kExitUsage;
}

// Reads and parses the policy at `path`; prints the problem to `err` on failure.
std::optional<Policy> LoadPolicy(const std::string& path, std::ostream& err,
                                 const HashFn& hash_fn) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return std::nullopt;
  }
  Result<Policy> p = Policy::Parse(*text, path, hash_fn ? hash_fn(*text) : "unhashed");
  if (!p.ok()) {
    err << p.status().message() << "\n"
        << "('policy lint " << path << "' lists every problem)\n";
    return std::nullopt;
  }
  return std::move(*p);
}

std::string Describe(const Party& p) {
  std::string s = p.role + " (" + p.country;
  if (!p.id.empty()) s += ", " + p.id;
  return s + ")";
}

std::string JoinOrNone(const std::vector<std::string>& v) {
  if (v.empty()) return "nothing";
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int Lint(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() == 2 && IsHelp(args[1])) {
    out << kLintUsage;
    return kExitOk;
  }
  if (args.size() != 2) return Usage(err, "lint takes exactly one FILE", kLintUsage);
  const std::string& path = args[1];
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return kExitUsage;
  }
  std::vector<std::string> problems = policy::Lint(*text, path);
  if (!problems.empty()) {
    for (const std::string& p : problems) out << p << "\n";
    return kExitFailed;
  }
  Result<Policy> p = Policy::Parse(*text, path, "");
  if (!p.ok()) {  // cannot happen: Parse fails exactly when Lint finds something
    err << "internal error: " << p.status().message() << "\n";
    return kExitFailed;
  }
  out << path << ": ok (" << p->rules().size() << " rules, " << p->agreements().size()
      << " agreements)\n";
  return kExitOk;
}

int ExplainCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const HashFn& hash_fn) {
  std::string file;
  std::map<std::string, std::string> flags;
  const std::vector<std::string> known = {"--from-role",  "--from-country", "--to-role",
                                          "--to-country", "--kind",         "--date"};
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (IsHelp(a)) {
      out << kExplainUsage;
      return kExitOk;
    }
    if (a.rfind("--", 0) != 0) {
      if (!file.empty()) return Usage(err, "unexpected argument '" + a + "'", kExplainUsage);
      file = a;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return Usage(err, "unknown option '" + name + "'", kExplainUsage);
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Usage(err, name + " needs a value", kExplainUsage);
      value = args[++i];
    }
    if (flags.count(name) != 0) return Usage(err, name + " given twice", kExplainUsage);
    flags[name] = value;
  }
  if (file.empty()) return Usage(err, "missing the policy FILE", kExplainUsage);
  for (const std::string& f : known) {
    if (f != "--date" && flags.count(f) == 0) return Usage(err, "missing " + f, kExplainUsage);
  }
  RouteQuery q;
  q.from.role = flags["--from-role"];
  q.from.country = flags["--from-country"];
  q.to.role = flags["--to-role"];
  q.to.country = flags["--to-country"];
  q.kind = flags["--kind"];
  if (flags.count("--date") != 0) {
    q.date = flags["--date"];
    if (!IsValidDate(q.date)) {
      return Usage(err, "bad --date '" + q.date + "' (expected YYYY-MM-DD)", kExplainUsage);
    }
  } else {
    q.date = FormatTimeUtc(SystemClock::Get().NowMillis()).substr(0, 10);
  }
  std::optional<Policy> policy = LoadPolicy(file, err, hash_fn);
  if (!policy) return kExitUsage;
  return Explain(*policy, q, out);
}

int TestCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const HashFn& hash_fn) {
  if (args.size() == 2 && IsHelp(args[1])) {
    out << kTestUsage;
    return kExitOk;
  }
  if (args.size() != 3) return Usage(err, "test takes a policy FILE and a CASES file", kTestUsage);
  std::optional<Policy> policy = LoadPolicy(args[1], err, hash_fn);
  if (!policy) return kExitUsage;
  Result<std::string> text = ReadFile(args[2]);
  if (!text.ok()) {
    err << "error: " << text.status().message() << "\n";
    return kExitUsage;
  }
  Result<std::vector<CaseResult>> results = RunCases(*policy, *text, args[2]);
  if (!results.ok()) {
    err << results.status().message() << "\n";
    return kExitUsage;
  }
  int passed = 0, failed = 0;
  for (const CaseResult& r : *results) {
    if (r.passed) {
      ++passed;
      continue;
    }
    ++failed;
    out << r.where << ": FAIL " << r.name << ": " << r.failure << "\n";
  }
  out << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

int Explain(const Policy& policy, const RouteQuery& q, std::ostream& out) {
  Decision d = policy.Route(q);
  std::string message = Describe(q.from) + " -> " + Describe(q.to) + ", " + q.kind +
                        (q.date.empty() ? "" : " on " + q.date);
  std::vector<std::string> sections = policy.SectionsFor(q.to.role);
  if (d.allowed) {
    out << "ALLOWED by rule " << d.rule_id;
    if (!d.agreement_id.empty()) out << " (agreement " << d.agreement_id << ")";
    out << ": " << message << "\n";
    out << "the " << q.to.role << " receives: " << JoinOrNone(sections) << "\n";
    // Everything else is stripped before delivery; say so, so nobody assumes it arrives.
    std::vector<std::string> withheld;
    for (const std::string& s : policy.sections()) {
      if (!policy.MayReceive(q.to.role, s)) withheld.push_back(s);
    }
    if (!withheld.empty()) out << "withheld from it: " << JoinOrNone(withheld) << "\n";
    out << "policy " << d.policy_hash << "\n";
    return kExitOk;
  }
  out << "DENIED: " << d.reason << "\n";
  out << "message: " << message << "\n";
  out << "nothing is delivered";
  if (policy.KnowsRole(q.to.role)) {
    out << " (if allowed, the " << q.to.role << " would receive: " << JoinOrNone(sections) << ")";
  }
  out << "\npolicy " << d.policy_hash << "\n";
  return kExitDenied;
}

int RunPolicyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const HashFn& hash_fn) {
  if (args.empty()) return Usage(err, "missing command", kUsage);
  const std::string& cmd = args[0];
  // `--help` or `-h` anywhere comes before any other argument is looked at: the command's own
  // usage, or the group's.
  if (IsHelp(cmd) || WantsHelp(args)) {
    out << UsageOf(cmd);
    return kExitOk;
  }
  if (cmd == "lint") return Lint(args, out, err);
  if (cmd == "explain") return ExplainCommand(args, out, err, hash_fn);
  if (cmd == "test") return TestCommand(args, out, err, hash_fn);
  return Usage(err, "unknown command '" + cmd + "'", kUsage);
}

}  // namespace nrm::policy
