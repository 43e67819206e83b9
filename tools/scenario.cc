#include "tools/scenario.h"

#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "tools/commands.h"

namespace nrm::tools {

const std::vector<ScenarioAgency>& GmsAgencies() {
  // Illustrative agencies (not real organisations) across TH, KH and MM, with a VN shelter for
  // docs/DOMAIN.md's denied MM -> VN route and an oversight body. The first two are the police unit
  // and the shelter of the first handover.
  static const std::vector<ScenarioAgency> kAgencies = {
      {"TH.POLICE.CRI-ATU", "police", "TH", "Chiang Rai",
       "Chiang Rai Provincial Police, Anti-Trafficking Unit"},
      {"TH.SHELTER.KREDTRAKARN", "shelter", "TH", "Nonthaburi",
       "Kredtrakarn Protection and Occupational Development Centre"},
      {"TH.SHELTER.BAN-PING", "shelter", "TH", "Chiang Mai", "Baan Ping Shelter (provincial)"},
      {"TH.NGO.RETURN-CRI", "ngo", "TH", "Chiang Rai", "Chiang Rai Return and Reintegration NGO"},
      {"TH.IMMIGRATION.BKK", "immigration", "TH", "Bangkok", "Immigration Bureau, Bangkok"},
      {"KH.NGO.PP-CARE", "ngo", "KH", "Phnom Penh", "Phnom Penh Family Care"},
      {"KH.IMMIGRATION.POIPET", "immigration", "KH", "Banteay Meanchey",
       "Poipet International Border Checkpoint"},
      {"MM.NGO.TACHILEIK", "ngo", "MM", "Shan", "Tachileik Community Support"},
      {"VN.SHELTER.HANOI", "shelter", "VN", "Ha Noi", "Ha Noi Peace House"},
      {"TH.MONITOR.NRM-OVERSIGHT", "monitor", "TH", "Bangkok", "NRM Oversight Committee"},
  };
  return kAgencies;
}

std::string Scenario::AgentConfig(const std::string& agency) const {
  return dir + "/agents/" + agency + ".toml";
}
std::string Scenario::KeyFile(const std::string& agency) const {
  return dir + "/keys/" + agency + ".key";
}

Status Scenario::PinBrokerEndpoint() const {
  NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(endpoint_file));
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  NRM_ASSIGN_OR_RETURN(std::string config, ReadFile(broker_config));
  const std::string old_bind = "bind = \"tcp://127.0.0.1:0\"";
  const size_t at = config.find(old_bind);
  if (at == std::string::npos) return Status::Ok();  // pinned already
  config.replace(at, old_bind.size(), "bind = \"" + endpoint + "\"");
  return WriteFileAtomic(broker_config, config);
}

Result<Scenario> CreateScenario(const std::string& dir, const std::vector<ScenarioAgency>& agencies,
                                const std::string& extra_broker_config) {
  Scenario s;
  s.dir = dir;
  NRM_RETURN_IF_ERROR(MakeDirs(dir + "/keys"));
  NRM_RETURN_IF_ERROR(MakeDirs(dir + "/agents"));
  NRM_RETURN_IF_ERROR(MakeDirs(dir + "/logs"));
  s.authority = identity::GenerateKeySet("TH.AUTHORITY.NRM");
  NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(dir + "/keys/authority.key", s.authority));
  s.broker = identity::GenerateKeySet("GMS.BROKER");
  NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(dir + "/keys/broker.key", s.broker));

  const int64_t now = SystemClock::Get().NowMillis();
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::LogVerifierKey(kScenarioLogOrigin, s.broker.sign_public));
  std::string draft = DirectoryDraftHeader("NRM authority (demo)", 1, now + 30 * 86400000LL,
                                           s.broker.id, s.broker.sign_public, s.broker.curve_public,
                                           audit::note::FormatVerifierKey(log_key));
  const std::string authority_hex = ToHex(s.authority.sign_public);
  for (const ScenarioAgency& a : agencies) {
    identity::KeySet k = identity::GenerateKeySet(a.id);
    NRM_RETURN_IF_ERROR(identity::WriteSecretKeyFile(s.KeyFile(a.id), k));
    draft += DirectoryAgencyBlock({a.id, a.name, a.role, a.country, a.province, k.sign_public,
                                   k.box_public, k.curve_public, false});
    NRM_RETURN_IF_ERROR(WriteFileAtomic(s.AgentConfig(a.id),
                                        "agency = \"" + a.id + "\"\nkey_file = \"../keys/" + a.id +
                                            ".key\"\ndirectory = \"../directory.toml\"\n"
                                            "policy = \"../policy.toml\"\nauthority_key = \"" +
                                            authority_hex +
                                            "\"\nbroker_endpoint_file = \"../broker.endpoint\"\n"));
  }
  NRM_ASSIGN_OR_RETURN(std::string signed_dir,
                       identity::SignDirectory(draft, "directory", s.authority, now));
  NRM_RETURN_IF_ERROR(WriteFileAtomic(dir + "/directory.toml", signed_dir));

  s.policy = dir + "/policy.toml";
  NRM_RETURN_IF_ERROR(WriteFileAtomic(s.policy, kGmsPolicy));
  s.broker_config = dir + "/broker.toml";
  s.endpoint_file = dir + "/broker.endpoint";
  s.broker_data = dir + "/broker-data";
  s.broker_log = dir + "/logs/broker.log";
  NRM_RETURN_IF_ERROR(
      WriteFileAtomic(s.broker_config,
                      "bind = \"tcp://127.0.0.1:0\"\ndata_dir = \"broker-data\"\n"
                      "directory = \"directory.toml\"\npolicy = \"policy.toml\"\n"
                      "authority_key = \"" +
                          authority_hex +
                          "\"\nkey_file = \"keys/broker.key\"\n"
                          "endpoint_file = \"broker.endpoint\"\nlog_file = \"logs/broker.log\"\n"
                          "log_origin = \"" +
                          kScenarioLogOrigin + "\"\n" + extra_broker_config));
  return s;
}

}  // namespace nrm::tools
