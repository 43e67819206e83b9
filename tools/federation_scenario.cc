#include "tools/federation_scenario.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "federation/anchor.h"
#include "policy/policy_file.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

std::vector<std::string> Within(const std::vector<std::string>& xs,
                                const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  for (const std::string& x : xs) {
    if (std::find(allowed.begin(), allowed.end(), x) != allowed.end()) out.push_back(x);
  }
  return out;
}

}  // namespace

Result<int64_t> ParseTimeValue(const std::string& value, const std::string& what) {
  std::string v = value;
  if (v.size() == 10) v += "T00:00:00Z";
  if (v.find_first_of("\"'\n=#[") == std::string::npos) {
    if (auto doc = config::ParseToml("t = " + v + "\n", what); doc.ok()) {
      if (auto ms = config::GetDateTimeMillis(doc->root, "t", what); ms.ok()) return *ms;
    }
  }
  return InvalidArgument(what + " '" + value +
                         "' is not a time (expected 2027-12-31 or 2027-12-31T00:00:00Z)");
}

Result<federation::AgreementTerms> AgreementTermsFromPolicy(const policy::Policy& p,
                                                            const std::string& agreement_id,
                                                            federation::AgreementTerms terms) {
  const policy::Agreement* ag = nullptr;
  for (const policy::Agreement& x : p.agreements()) {
    if (x.id == agreement_id) ag = &x;
  }
  if (ag == nullptr) return NotFound("the policy has no [[agreement]] " + agreement_id);
  for (const std::string& c : terms.countries) {
    if (std::find(ag->countries.begin(), ag->countries.end(), c) == ag->countries.end()) {
      return InvalidArgument("the policy's agreement " + agreement_id + " does not name " + c);
    }
  }
  for (int dir = 0; dir < 2; ++dir) {
    for (const policy::Rule& r : p.rules()) {
      if (r.scope != policy::Scope::kCrossBorder) continue;
      federation::AgreementRoute route{terms.countries[dir], terms.countries[1 - dir],
                                       Within(r.from, ag->roles), Within(r.to, ag->roles),
                                       Within(r.kinds, ag->kinds)};
      if (!route.from_roles.empty() && !route.to_roles.empty() && !route.kinds.empty()) {
        terms.routes.push_back(std::move(route));
      }
    }
  }
  if (terms.title.empty()) terms.title = ag->title;
  if (terms.valid_from_ms == 0) {
    NRM_ASSIGN_OR_RETURN(terms.valid_from_ms, ParseTimeValue(ag->from, "the agreement's from"));
  }
  if (terms.routes.empty()) {
    return InvalidArgument("no cross-border rule of the policy falls within " + agreement_id +
                           "'s roles and kinds");
  }
  return terms;
}

std::vector<AgreementSpec> GmsAgreements(int64_t now_ms, int64_t valid_days) {
  const int64_t until = now_ms + valid_days * 86'400'000;
  return {{"th-kh-2003", "TH", "KH", "TH–KH MOU 2003", until, {}, wire::Handling::H2},
          {"th-mm-2009", "TH", "MM", "TH–MM MOU 2009", until, {}, wire::Handling::H2},
          {"kh-vn-2005", "KH", "VN", "KH–VN Agreement 2005", until, {}, wire::Handling::H2}};
}

std::string FederationSetup::AgentConfig(const std::string& agency) const {
  return dir + "/" + agency.substr(0, 2) + "/agents/" + agency + ".toml";
}
std::string FederationSetup::KeyFile(const std::string& agency) const {
  return dir + "/" + agency.substr(0, 2) + "/keys/" + agency + ".key";
}
const NationalSetup& FederationSetup::Of(const std::string& agency) const {
  return countries.at(agency.substr(0, 2));
}

Status ResignDirectory(const NationalSetup& c, const std::function<void(std::string&)>& edit) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(c.directory));
  NRM_ASSIGN_OR_RETURN(auto split, identity::SplitSignedDirectory(text));
  std::string body(split.first);
  edit(body);
  NRM_ASSIGN_OR_RETURN(
      std::string signed_text,
      identity::SignDirectory(body, c.directory, c.authority, SystemClock::Get().NowMillis()));
  return WriteFileAtomic(c.directory, signed_text);
}

Status WriteSignedAgreement(const FederationSetup& f, const policy::Policy& policy,
                            const AgreementSpec& spec, const std::string& path) {
  federation::AgreementTerms terms;
  terms.id = spec.id;
  terms.version = spec.version;
  terms.mou = spec.mou;
  terms.countries = {spec.a, spec.b};
  terms.valid_until_ms = spec.valid_until_ms;
  terms.max_handling = spec.max_handling;
  NRM_ASSIGN_OR_RETURN(terms, AgreementTermsFromPolicy(policy, spec.id, std::move(terms)));
  NRM_ASSIGN_OR_RETURN(std::string text, federation::AgreementBody(terms));
  const std::vector<std::string> signers =
      spec.signers.empty() ? std::vector<std::string>{spec.a, spec.b} : spec.signers;
  for (const std::string& c : signers) {
    NRM_ASSIGN_OR_RETURN(text,
                         federation::SignAgreement(text, spec.id, c, f.countries.at(c).authority));
  }
  return WriteFileAtomic(path, text);
}

Result<FederationSetup> CreateFederation(const std::string& dir,
                                         const std::vector<ScenarioAgency>& agencies,
                                         const std::vector<AgreementSpec>& agreements,
                                         const std::string& extra_broker_config) {
  FederationSetup f;
  f.dir = dir;
  const int64_t now = SystemClock::Get().NowMillis();
  NRM_RETURN_IF_ERROR(MakeDirs(dir + "/agreements"));
  f.policy = dir + "/policy.toml";
  NRM_RETURN_IF_ERROR(WriteFileAtomic(f.policy, kGmsPolicy));
  NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(f.policy));

  // Each country: keys, its national directory, its anchor.
  std::set<std::string> codes;
  for (const ScenarioAgency& a : agencies) codes.insert(a.country);
  for (const std::string& cc : codes) {
    NationalSetup n;
    n.country = cc;
    n.dir = dir + "/" + cc;
    NRM_RETURN_IF_ERROR(MakeDirs(n.dir + "/keys"));
    NRM_RETURN_IF_ERROR(MakeDirs(n.dir + "/agents"));
    NRM_RETURN_IF_ERROR(MakeDirs(n.dir + "/partners"));
    NRM_RETURN_IF_ERROR(MakeDirs(n.dir + "/logs"));
    n.authority = identity::GenerateKeySet(cc + ".AUTHORITY.NRM");
    n.broker = identity::GenerateKeySet(cc + ".BROKER");
    NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(n.dir + "/keys/authority.key", n.authority));
    NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(n.dir + "/keys/broker.key", n.broker));
    n.broker_config = n.dir + "/broker.toml";
    n.directory = n.dir + "/directory.toml";
    n.anchor = n.dir + "/anchor.toml";
    n.endpoint = "ipc://" + n.dir + "/broker.sock";
    n.endpoint_file = n.dir + "/broker.endpoint";
    n.broker_data = n.dir + "/broker-data";
    n.broker_log = n.dir + "/logs/broker.log";
    // Its audit log's origin, "nrm.th/audit/v1", published with the log's key in the directory
    // (partner brokers check relay receipts with it) and repeated in broker.toml.
    n.log_origin = "nrm." + cc + "/audit/v1";
    for (char& c : n.log_origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                         audit::LogVerifierKey(n.log_origin, n.broker.sign_public));
    std::string draft = DirectoryDraftHeader(
        cc + " NRM authority (demo)", 1, now + 30 * 86400000LL, n.broker.id, n.broker.sign_public,
        n.broker.curve_public, audit::note::FormatVerifierKey(log_key));
    for (const ScenarioAgency& a : agencies) {
      if (a.country != cc) continue;
      identity::KeySet k = identity::GenerateKeySet(a.id);
      NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(f.KeyFile(a.id), k));
      draft += DirectoryAgencyBlock({a.id, a.name, a.role, a.country, a.province, k.sign_public,
                                     k.box_public, k.curve_public, false});
      NRM_RETURN_IF_ERROR(WriteFileAtomic(
          f.AgentConfig(a.id), "agency = \"" + a.id + "\"\nkey_file = \"../keys/" + a.id +
                                   ".key\"\ndirectory = \"../directory.toml\"\n"
                                   "policy = \"../../policy.toml\"\nauthority_key = \"" +
                                   ToHex(n.authority.sign_public) +
                                   "\"\nbroker_endpoint_file = \"../broker.endpoint\"\n"));
    }
    NRM_ASSIGN_OR_RETURN(std::string signed_dir,
                         identity::SignDirectory(draft, n.directory, n.authority, now));
    NRM_RETURN_IF_ERROR(WriteFileAtomic(n.directory, signed_dir));
    federation::Anchor anchor{
        cc,
        cc + " NRM authority (demo)",
        {},
        1,
        now / 1000 * 1000 - 1000,
        now + 365 * 86400000LL,
        {n.broker.id, n.endpoint, n.broker.sign_public, n.broker.curve_public}};
    NRM_ASSIGN_OR_RETURN(std::string anchor_text, federation::SignAnchor(anchor, n.authority, now));
    NRM_RETURN_IF_ERROR(WriteFileAtomic(n.anchor, anchor_text));
    f.countries.emplace(cc, std::move(n));
  }

  // The agreements, drafted from the policy and signed.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> partners;
  for (const AgreementSpec& spec : agreements) {
    if (!f.countries.count(spec.a) || !f.countries.count(spec.b)) {
      return InvalidArgument("agreement " + spec.id + " between countries without agencies");
    }
    const std::string path = dir + "/agreements/" + spec.id + ".toml";
    NRM_RETURN_IF_ERROR(WriteSignedAgreement(f, policy, spec, path));
    f.agreements[spec.id] = path;
    partners[spec.a].push_back({spec.b, path});
    partners[spec.b].push_back({spec.a, path});
  }

  // Each broker's config: its own files first, then one [[partner]] per partner country, with a
  // copy of the partner's directory (its link keeps it fresh).
  for (auto& [cc, n] : f.countries) {
    std::string config = "bind = \"" + n.endpoint +
                         "\"\ndata_dir = \"broker-data\"\ndirectory = \"directory.toml\"\n"
                         "policy = \"../policy.toml\"\nauthority_key = \"" +
                         ToHex(n.authority.sign_public) +
                         "\"\nkey_file = \"keys/broker.key\"\nendpoint_file = "
                         "\"broker.endpoint\"\nlog_file = \"logs/broker.log\"\nlog_origin = \"" +
                         n.log_origin + "\"\ncountry = \"" + cc + "\"\n" + extra_broker_config;
    std::map<std::string, std::vector<std::string>> by_partner;
    for (const auto& [partner, path] : partners[cc]) by_partner[partner].push_back(path);
    for (const auto& [partner, paths] : by_partner) {
      const NationalSetup& p = f.countries.at(partner);
      const std::string copy = n.dir + "/partners/" + partner + ".directory.toml";
      NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(p.directory));
      NRM_RETURN_IF_ERROR(WriteFileAtomic(copy, text));
      std::vector<std::string> relative;
      for (const std::string& path : paths)
        relative.push_back("../agreements/" + path.substr(path.rfind('/') + 1));
      std::string list;
      for (const std::string& r : relative) list += (list.empty() ? "\"" : ", \"") + r + "\"";
      config += "\n[[partner]]\nanchor = \"../" + partner +
                "/anchor.toml\"\ndirectory = \"partners/" + partner +
                ".directory.toml\"\nagreements = [" + list + "]\n";
    }
    NRM_RETURN_IF_ERROR(WriteFileAtomic(n.broker_config, config));
  }
  return f;
}

}  // namespace nrm::tools
