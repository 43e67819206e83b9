// nrm policy: lint | explain | test, over the policy engine's command library. Adds the form
// `explain FILE --from AGENCY --to AGENCY --kind KIND --directory DIR --authority-key KEY`,
// which takes roles and countries from the signed directory.
#include <algorithm>
#include <iostream>

#include "common/args.h"
#include "common/clock.h"
#include "policy/cli.h"
#include "policy/policy_file.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

constexpr const char* kAgencyExplainUsage =
    "usage: nrm policy explain FILE --from AGENCY --to AGENCY --kind KIND\n"
    "                               --directory SIGNED --authority-key HEX|FILE [--date D]\n"
    "Looks both agencies up in the signed directory and shows how the policy FILE decides.\n"
    "Exits 0 if allowed, 3 if denied, 2 on a usage error.\n";

std::string Today() { return FormatTimeUtc(SystemClock::Get().NowMillis()).substr(0, 10); }

int ExplainAgencies(const Words& words, std::ostream& out, std::ostream& err) {
  auto a = Args::Parse(words, {"from", "to", "kind", "directory", "authority-key", "date"}, {});
  if (!a || a->positional().size() != 2) {
    err << "nrm policy explain: " << (a ? "needs one FILE" : a.status().message()) << "\n"
        << kAgencyExplainUsage;
    return 2;
  }
  for (const char* required : {"from", "to", "kind", "directory", "authority-key"}) {
    if (!a->Get(required)) {
      err << "nrm policy explain: missing --" << required << "\n" << kAgencyExplainUsage;
      return 2;
    }
  }
  Result<policy::Policy> p = policy::LoadPolicyFile(a->positional()[1]);
  if (!p) {
    err << "nrm: " << p.status().message() << "\n";
    return 2;
  }
  Result<Bytes> authority = ParseSignPublicKey(*a->Get("authority-key"));
  if (!authority) {
    err << "nrm: " << authority.status().message() << "\n";
    return 2;
  }
  Result<identity::Directory> dir =
      identity::Directory::Load(*a->Get("directory"), *authority, SystemClock::Get().NowMillis());
  if (!dir) {
    err << "nrm: " << dir.status().message() << "\n";
    return 2;
  }
  policy::RouteQuery q;
  q.kind = *a->Get("kind");
  q.date = a->Get("date").value_or(Today());
  for (auto [flag, party] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    const identity::Agency* agency = dir->Find(*a->Get(flag));
    if (agency == nullptr) {
      err << "nrm: " << *a->Get(flag) << " is not in " << *a->Get("directory") << "\n";
      return 2;
    }
    *party = {agency->id, agency->role, agency->country};
    out << flag << ": " << agency->id << " (" << agency->role << ", " << agency->country
        << (agency->revoked ? ", REVOKED" : "") << ")\n";
  }
  return policy::Explain(*p, q, out);
}

}  // namespace

int PolicyCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (!words.empty() && words[0] == "explain" && WantsHelp(words)) {
    // Both forms of explain: the policy engine's, then the one that looks agencies up.
    policy::RunPolicyCommand({"explain", "--help"}, out, err, nullptr);
    out << "\n" << kAgencyExplainUsage;
    return 0;
  }
  const bool agency_form = !words.empty() && words[0] == "explain" &&
                           std::find(words.begin(), words.end(), "--from") != words.end();
  if (agency_form) return ExplainAgencies(words, out, err);
  return policy::RunPolicyCommand(words, out, err,
                                  [](std::string_view bytes) { return policy::PolicyHash(bytes); });
}

}  // namespace nrm::tools
