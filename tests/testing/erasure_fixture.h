// What the erasure and retention tests share (tests/agent/erasure_test.cc, retention_test.cc):
// real agents over a real broker (AgentDaemonTest), the keys and values of a stopped agent's
// store, and the check that nothing of an erased case is left in an agent's data directory.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/store.h"
#include "common/crypto/crypto.h"
#include "tests/testing/agent_fixture.h"

namespace nrm::testing {

// Every key and value of an agent's store (the agent must be stopped).
inline std::vector<std::pair<std::string, std::string>> Dump(const std::string& data_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), data_dir + "/store", &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return out;
}

class ErasureFixture : public AgentDaemonTest {
 protected:
  // Stops the broker cleanly, so that its audit log can be read.
  void TearDownBrokerForProof() {
    Result<int> code = tools::Stop(broker_pid_, 5000);
    EXPECT_TRUE(code.ok() && *code == 0);
    broker_pid_ = -1;
  }

  // `nrm ARGS...`, its output in `out`; the exit code.
  int RunTool(std::vector<std::string> args, const std::string& out = "") {
    args.insert(args.begin(), testing::BinDir() + "/nrm");
    Result<pid_t> pid = tools::Spawn(args, out.empty() ? tmp_.path() + "/logs/nrm.out" : out);
    if (!pid.ok()) return -1;
    Result<int> code = tools::WaitExit(*pid, 30000);
    return code.ok() ? *code : -1;
  }

  // `offer` from the police to `to` of a person called `name`, labelled `label`: its --json.
  std::string Offer(const std::string& to, const std::string& name, const std::string& label) {
    Cli o = Run(kPolice, {"offer", "--to", to, "--file",
                          WriteJson(name + ".json", VictimFile(name, "\"shelter\"")), "--label",
                          label, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return o.out;
  }

  // Everything that must be gone from `id`'s data directory: the canary in the clear and in
  // hex (records hold payloads in hex), and pieces of the case's old sealed records.
  void ExpectNothingLeft(const std::string& id, const std::string& ref, const std::string& canary,
                         const std::vector<std::string>& old_records) {
    std::vector<std::string> needles = {canary, ToHex(AsBytes(canary))};
    for (const std::string& r : old_records) needles.push_back(r.substr(r.size() / 2, 32));
    for (const std::string& n : needles) {
      std::vector<std::string> hits = FilesHolding(DataDir(id), n);
      EXPECT_TRUE(hits.empty()) << id << ": a trace of the erased case in " << hits.front();
    }
    // No key left in the store opens anything of the case: try every key on every value.
    Result<crypto::SecretBytes> local = agent::LoadOrCreateLocalKey(DataDir(id), "");
    ASSERT_TRUE(local.ok());
    std::vector<crypto::SecretBytes> keys;
    keys.push_back(local->Clone());
    const auto all = Dump(DataDir(id));
    for (const auto& [k, v] : all) {
      EXPECT_NE(k, "c/" + ref) << id;
      EXPECT_NE(k, "k/" + ref) << id;
      if (k.starts_with("k/")) {
        Result<crypto::SecretBytes> ck = crypto::SecretBoxOpen(*local, AsBytes(v));
        ASSERT_TRUE(ck.ok());
        keys.push_back(std::move(*ck));
      }
    }
    for (const auto& [k, v] : all) {
      for (size_t skip : {size_t{0}, size_t{1}, size_t{34}}) {
        if (v.size() <= skip) continue;
        for (const crypto::SecretBytes& key : keys) {
          Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(key, AsBytes(v).subspan(skip));
          if (!plain.ok()) continue;
          const std::string text(AsChars(plain->view()));
          EXPECT_EQ(text.find(canary), std::string::npos) << id << " " << k;
          EXPECT_EQ(text.find(ToHex(AsBytes(canary))), std::string::npos) << id << " " << k;
        }
      }
    }
  }

  // The sealed records of case `ref` in `id`'s store now (the agent must be stopped).
  std::vector<std::string> Records(const std::string& id, const std::string& ref) {
    std::vector<std::string> out;
    for (const auto& [k, v] : Dump(DataDir(id))) {
      if (k == "c/" + ref || k == "k/" + ref || v.starts_with("C" + ref)) out.push_back(v);
    }
    EXPECT_GE(out.size(), 3u) << id << ": the case, its key and a message at least";
    return out;
  }
};

}  // namespace nrm::testing
