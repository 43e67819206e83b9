// The scenario and broker process of `nrm bench` (see bench_bed.h).
#include "tools/bench_bed.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "common/file_util.h"
#include "tools/process.h"

namespace nrm::tools::bench {

std::string RecipientId(int i) { return "TH.SHELTER.BENCH-RECV" + std::to_string(i + 1); }

std::string IdleId(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "TH.NGO.IDLE-%04d", i);
  return buf;
}

Result<Bed> Bed::Create(const std::string& dir, int recipients, int idle) {
  Bed bed;
  bed.dir_ = dir;
  std::vector<ScenarioAgency> agencies = {
      {kSender, "police", "TH", "Chiang Rai", "Bench sender (police)"}};
  for (int i = 0; i < recipients; ++i) {
    agencies.push_back({RecipientId(i), "shelter", "TH", "Nonthaburi", "Bench shelter"});
  }
  for (int i = 0; i < idle; ++i) {
    agencies.push_back({IdleId(i), "ngo", "TH", "Bangkok", "Bench idle agency"});
  }
  NRM_ASSIGN_OR_RETURN(bed.scenario_, CreateScenario(dir, agencies));
  return bed;
}

Status Bed::StartBroker(const std::string& config) {
  std::error_code ec;
  std::filesystem::remove_all(scenario_.broker_data, ec);
  std::filesystem::remove(scenario_.endpoint_file, ec);
  NRM_ASSIGN_OR_RETURN(pid_, Spawn({SelfDirectory() + "/nrm-broker", "--config",
                                    config.empty() ? scenario_.broker_config : config},
                                   dir_ + "/logs/broker.out"));
  return WaitForFile(scenario_.endpoint_file, 20000);
}

Result<BrokerTotals> Bed::StopBroker() {
  if (pid_ < 0) return BrokerTotals{};
  NRM_ASSIGN_OR_RETURN(int code, Stop(pid_, 10000));
  pid_ = -1;
  if (code != 0) return Internal("nrm-broker exited with " + std::to_string(code));
  NRM_ASSIGN_OR_RETURN(std::string log, ReadFile(scenario_.broker_log));
  const size_t at = log.rfind("broker stopping:");
  BrokerTotals t;
  if (at == std::string::npos) return t;
  unsigned long long acc = 0, ref = 0, del = 0, ack = 0, commits = 0, records = 0;
  if (std::sscanf(log.c_str() + at,
                  "broker stopping: %llu accepted, %llu refused, %llu delivered, %llu "
                  "acknowledged, %llu synced writes of %llu records",
                  &acc, &ref, &del, &ack, &commits, &records) >= 4) {
    t = {acc, commits, records};
  }
  return t;
}

Bed::~Bed() {
  if (pid_ >= 0) (void)Stop(pid_, 5000);
}

Bed::Bed(Bed&& o) noexcept
    : dir_(std::move(o.dir_)), scenario_(std::move(o.scenario_)), pid_(o.pid_) {
  o.pid_ = -1;
}

Result<std::string> BrokerEndpoint(const Scenario& s) {
  NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(s.endpoint_file));
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  return endpoint;
}

}  // namespace nrm::tools::bench
