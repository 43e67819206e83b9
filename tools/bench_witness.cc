// The witnesses' figures of `nrm bench` (see bench_witness.h).
#include "tools/bench_witness.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "audit/checkpoint.h"
#include "audit/witness/add_checkpoint.h"
#include "audit/witness/client.h"
#include "audit/witness/witness.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "tools/bench_limits.h"
#include "tools/process.h"

namespace nrm::tools::bench {
namespace {

constexpr char kBenchOrigin[] = "nrm.bench/audit/v1";

// RFC 6962 roots of ranges of a fixed list of leaves, remembering the complete subtrees: the
// roots and proofs of a tree that grows by one leaf at a time then cost O(log^2 n) each, not
// O(n) (the requests are made before the clock starts, but the bench should not wait for them).
class GrowingTree {
 public:
  explicit GrowingTree(size_t leaves) {
    for (size_t i = 0; i < leaves; ++i) {
      const std::string data = "bench leaf " + std::to_string(i);
      leaves_.push_back(audit::HashLeaf(AsBytes(data)));
    }
  }
  audit::Hash Root(uint64_t begin, uint64_t end) {
    const uint64_t n = end - begin;
    if (n == 1) return leaves_[begin];
    const bool complete = (n & (n - 1)) == 0;
    if (complete) {
      auto it = complete_.find({begin, end});
      if (it != complete_.end()) return it->second;
    }
    const uint64_t k = audit::SplitPoint(n);
    const audit::Hash h = audit::HashChildren(Root(begin, begin + k), Root(begin + k, end));
    if (complete) complete_.emplace(std::make_pair(begin, end), h);
    return h;
  }
  Result<std::vector<audit::Hash>> Consistency(uint64_t old_size, uint64_t new_size) {
    NRM_ASSIGN_OR_RETURN(std::vector<audit::LeafRange> ranges,
                         audit::ConsistencyProofRanges(old_size, new_size));
    std::vector<audit::Hash> proof;
    for (const audit::LeafRange& r : ranges) proof.push_back(Root(r.begin, r.end));
    return proof;
  }

 private:
  std::vector<audit::Hash> leaves_;
  std::map<std::pair<uint64_t, uint64_t>, audit::Hash> complete_;
};

// The requests that grow the log from 0 to `count` leaves, one leaf each.
Result<std::vector<std::string>> GrowthRequests(size_t count, const crypto::SecretBytes& secret) {
  GrowingTree tree(count);
  const int64_t now_ms = SystemClock().NowMillis();
  std::vector<std::string> bodies;
  bodies.reserve(count);
  for (uint64_t size = 1; size <= count; ++size) {
    audit::witness::AddCheckpointRequest req;
    req.old_size = size - 1;
    NRM_ASSIGN_OR_RETURN(req.proof, tree.Consistency(size - 1, size));
    req.checkpoint =
        audit::SignCheckpoint({kBenchOrigin, size, tree.Root(0, size), {}}, secret, now_ms);
    bodies.push_back(audit::witness::FormatAddCheckpoint(req));
  }
  return bodies;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

Result<WitnessRate> MeasureWitnessRate(const std::string& dir, size_t requests) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  NRM_RETURN_IF_ERROR(MakeDirs(dir));
  const crypto::SignKeyPair log = crypto::GenerateSignKeyPair();
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::LogVerifierKey(kBenchOrigin, log.public_key));
  const crypto::SignKeyPair own = crypto::GenerateSignKeyPair();
  NRM_RETURN_IF_ERROR(
      audit::witness::WriteWitnessKeyFile(dir + "/witness.key", "witness.bench", own.secret_key));
  NRM_RETURN_IF_ERROR(
      WriteFileAtomic(dir + "/witness.toml",
                      "key_file = \"witness.key\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n"
                      "endpoint_file = \"url\"\nlog_file = \"witness.log\"\nlogs = [\"" +
                          audit::note::FormatVerifierKey(log_key) + "\"]\n"));
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> bodies, GrowthRequests(requests, log.secret_key));

  NRM_ASSIGN_OR_RETURN(
      pid_t pid, Spawn({SelfDirectory() + "/nrm", "witness", "--config", dir + "/witness.toml"},
                       dir + "/witness.out"));
  WitnessRate r;
  {
    // Stops the witness however this block ends.
    struct Stopper {
      pid_t pid;
      ~Stopper() { (void)Stop(pid, 5000); }
    } stopper{pid};
    NRM_RETURN_IF_ERROR(
        WaitForFile(dir + "/url", 10000)
            .WithContext("the witness did not start (see " + dir + "/witness.out)"));
    NRM_ASSIGN_OR_RETURN(std::string url, ReadFile(dir + "/url"));
    while (!url.empty() && url.back() == '\n') url.pop_back();
    audit::witness::WitnessClient client({url}, 10000);
    std::vector<int64_t> latencies;
    latencies.reserve(bodies.size());
    const ProcSample w0 = SampleProcess(pid);
    const int64_t start = NowNs();
    int64_t end = start;
    for (std::string& body : bodies) {
      const int64_t t0 = NowNs();
      std::vector<audit::witness::PostResult> answer = client.PostAll({std::move(body)});
      end = NowNs();
      if (answer[0].status != 200) {
        r.error =
            "request " + std::to_string(r.requests + 1) + ": " +
            (answer[0].status ? "HTTP " + std::to_string(answer[0].status) + " " + answer[0].body
                              : answer[0].error);
        break;
      }
      latencies.push_back(end - t0);
      ++r.requests;
    }
    const ProcSample w1 = SampleProcess(pid);
    r.seconds = static_cast<double>(end - start) * 1e-9;
    r.per_s = r.seconds > 0 ? static_cast<double>(r.requests) / r.seconds : 0;
    r.latency = Summarize(std::move(latencies));
    r.witness_cpu_us =
        (w1.cpu_s - w0.cpu_s) * 1e6 / static_cast<double>(std::max<size_t>(r.requests, 1));
  }
  // A witness's state record is a checkpoint note and its cosignature: about 400 bytes.
  NRM_ASSIGN_OR_RETURN(r.synced_writes_per_s, MeasureSyncedWrites(dir + "/fsync", 400, 1.0));
  return r;
}

WitnessComparison CompareWitnessPhases(const std::vector<PhaseResult>& phases) {
  std::vector<double> with, without, with_cpu, without_cpu, with_total, without_total;
  for (const PhaseResult& p : phases) {
    if (!p.spec.witness_comparison || !p.error.empty()) continue;
    (p.spec.witnesses ? with : without).push_back(p.accept_per_s);
    (p.spec.witnesses ? with_cpu : without_cpu).push_back(p.broker_accept_cpu_us);
    (p.spec.witnesses ? with_total : without_total).push_back(p.broker_cpu_us);
  }
  WitnessComparison c;
  if (with.empty() || without.empty()) return c;
  c.pairs = std::min(with.size(), without.size());
  c.with_per_s = Median(with);
  c.without_per_s = Median(without);
  c.difference_pct = (c.with_per_s - c.without_per_s) / c.without_per_s * 100;
  c.with_cpu_us = Median(with_cpu);
  c.without_cpu_us = Median(without_cpu);
  c.with_total_cpu_us = Median(with_total);
  c.without_total_cpu_us = Median(without_total);
  return c;
}

}  // namespace nrm::tools::bench
