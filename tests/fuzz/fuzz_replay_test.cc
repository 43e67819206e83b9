// Replays every seed of every fuzz corpus (tests/fuzz/corpus/<target>/) through the same entry
// points as the libFuzzer targets, so CI runs them without libFuzzer. An entry traps on a broken
// invariant; under the sanitizer build (.ci/sanitize.sh) a memory error fails the test too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entries.h"

namespace nrm::fuzz {
namespace {

namespace fs = std::filesystem;

using Entry = void (*)(const uint8_t*, size_t);

// The seeds of one corpus, sorted, so that a failure names the same file every run.
std::vector<fs::path> Seeds(const std::string& target) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& e :
       fs::directory_iterator(fs::path(NRM_FUZZ_CORPUS_DIR) / target)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Replay(const std::string& target, Entry entry, size_t min_seeds) {
  const std::vector<fs::path> seeds = Seeds(target);
  EXPECT_GE(seeds.size(), min_seeds) << "corpus/" << target << " lost its seeds";
  for (const fs::path& p : seeds) {
    SCOPED_TRACE(p.string());
    std::ifstream in(p, std::ios::binary);
    ASSERT_TRUE(in.good());
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    // Every prefix of a seed is an input too: short reads are where parsers break.
    for (size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 64) {
      entry(reinterpret_cast<const uint8_t*>(bytes.data()), n);
    }
  }
}

TEST(FuzzReplayTest, Envelope) { Replay("envelope", FuzzEnvelope, 3); }
TEST(FuzzReplayTest, Payload) { Replay("payload", FuzzPayload, 3); }
TEST(FuzzReplayTest, Directory) { Replay("directory", FuzzDirectory, 3); }
TEST(FuzzReplayTest, PayloadJson) { Replay("payload_json", FuzzPayloadJson, 3); }
TEST(FuzzReplayTest, HtcdsJson) { Replay("htcds_json", FuzzHtcdsJson, 3); }
TEST(FuzzReplayTest, Policy) { Replay("policy", FuzzPolicy, 3); }
TEST(FuzzReplayTest, AuditProof) { Replay("audit_proof", FuzzAuditProof, 3); }
TEST(FuzzReplayTest, Note) { Replay("note", FuzzNote, 5); }

// The entries accept nothing at all and a lone byte (libFuzzer's first inputs).
TEST(FuzzReplayTest, EmptyAndOneByte) {
  const uint8_t zero = 0;
  for (Entry e : {FuzzEnvelope, FuzzPayload, FuzzDirectory, FuzzPayloadJson, FuzzHtcdsJson,
                  FuzzPolicy, FuzzAuditProof, FuzzNote}) {
    e(nullptr, 0);
    e(&zero, 1);
  }
}

}  // namespace
}  // namespace nrm::fuzz
