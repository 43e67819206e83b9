// Backups while running and restore (issue 19), on real processes: `nrm backup` copies a
// running broker's store; after kill -9 the broker is restored from it into its data directory
// and started again; every step accepted after the backup reaches its recipient once (the
// agents submit again what the broker no longer holds), and the restored log is a prefix of
// the lost one. `nrm-agent backup` copies a running agent's store, from which it starts again.
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/audit_reader.h"
#include "common/json/json.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

namespace fs = std::filesystem;
using testing::Cli;
using testing::kPolice;
using testing::kShelterA;

constexpr char kFastTimers[] = "answer_timeout_s = 2\nconfirm_after_s = 3\n";

class BackupTest : public testing::DaemonFixture {
 protected:
  // Runs `nrm WORDS...` as an operator types it.
  Cli Nrm(const std::vector<std::string>& words) {
    const std::string out = tmp_.path() + "/logs/nrm-" + std::to_string(++nrm_calls_) + ".out";
    std::vector<std::string> argv = {testing::BinDir() + "/nrm"};
    argv.insert(argv.end(), words.begin(), words.end());
    Cli r;
    Result<pid_t> pid = tools::Spawn(argv, out);
    if (!pid.ok()) return r;
    Result<int> code = tools::WaitExit(*pid, 60000);
    r.code = code.ok() ? *code : -1;
    Result<std::string> text = ReadFile(out);
    r.out = text.ok() ? *text : "";
    return r;
  }

  std::string Offer(const std::string& name) {
    const std::string file = WriteJson(name + ".json", VictimFile(name, "\"shelter\""));
    Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return Field(o.out, "message_id");
  }

  size_t Delivered() {
    return Occurrences(Run(kPolice, {"outbox", "--json"}).out, "\"status\":\"delivered\"");
  }

  int nrm_calls_ = 0;
};

TEST_F(BackupTest, ABrokerRestoredFromABackupAfterKillNineLosesNoStep) {
  for (const std::string& id : {kPolice, kShelterA}) {
    AddToAgentConfig(id, kFastTimers);
    StartAgent(id);
  }
  std::vector<std::string> ids = {Offer("CanaryBefore0"), Offer("CanaryBefore1")};
  ASSERT_TRUE(PollUntil([&] { return Delivered() == 2; })) << Log(kPolice);

  const std::string backup = tmp_.path() + "/backup-1";
  Cli b = Nrm({"backup", "--broker-data", scenario_.broker_data, "--out", backup});
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("checked"), std::string::npos) << b.out;
  Result<std::string> manifest_text = ReadFile(backup + "/manifest.json");
  ASSERT_TRUE(manifest_text.ok());
  Result<json::Json> manifest = json::Parse(*manifest_text);
  ASSERT_TRUE(manifest.ok());
  const uint64_t backup_size = (*manifest)["audit_tree_size"].get<uint64_t>();
  const std::string backup_root = (*manifest)["audit_root"].get<std::string>();

  // After the backup: three more steps accepted while the shelter is offline.
  StopAgent(kShelterA);
  for (int i = 0; i < 3; ++i) ids.push_back(Offer("CanaryAfter" + std::to_string(i)));
  ASSERT_TRUE(PollUntil([&] {
    return Occurrences(Run(kPolice, {"outbox", "--json"}).out, "\"status\":\"at the broker\"") == 3;
  })) << Log(kPolice);

  KillBroker();  // kill -9
  const std::string lost = scenario_.broker_data + ".lost";
  fs::rename(scenario_.broker_data, lost);
  Cli r = Nrm({"restore", "--backup", backup, "--broker-data", scenario_.broker_data});
  ASSERT_EQ(r.code, 0) << r.out;
  // A second restore into the same directory is refused: nothing is overwritten.
  Cli again = Nrm({"restore", "--backup", backup, "--broker-data", scenario_.broker_data});
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("exists"), std::string::npos) << again.out;

  StartBroker();
  StartAgent(kShelterA);
  ASSERT_TRUE(PollUntil([&] { return Delivered() == 5; }, 30000))
      << Run(kPolice, {"outbox"}).out << Log(kPolice);
  Cli inbox = Run(kShelterA, {"inbox", "--all", "--json"});
  for (const std::string& id : ids) {
    EXPECT_EQ(Occurrences(inbox.out, "\"message_id\":\"" + id + "\""), 1u) << id << inbox.out;
  }

  // The restored log is a prefix of the lost one: a consistency proof from the backup's tree
  // to the lost log's latest signed head checks out under the broker's key.
  Result<std::string> proof = audit::Consistency(lost + "/store", backup_size);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  Result<audit::note::VerifierKey> log_key =
      audit::LogVerifierKey(tools::kScenarioLogOrigin, scenario_.broker.sign_public);
  ASSERT_TRUE(log_key.ok());
  Result<audit::CheckedProof> checked = audit::CheckProof(*proof, *log_key);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->from_size, backup_size);
  EXPECT_EQ(ToHex(ByteView(checked->from_root.data(), checked->from_root.size())), backup_root);
  EXPECT_GT(checked->size, backup_size);  // the lost log had grown past the backup
}

TEST_F(BackupTest, ABackupOfNoRunningBrokerOrIntoAnExistingFolderFails) {
  Cli exists = Nrm({"backup", "--broker-data", scenario_.broker_data, "--out", tmp_.path()});
  EXPECT_EQ(exists.code, 1) << exists.out;
  EXPECT_NE(exists.out.find("exists"), std::string::npos) << exists.out;
  KillBroker();
  Cli none = Nrm(
      {"backup", "--broker-data", scenario_.broker_data, "--out", tmp_.path() + "/backup-none"});
  EXPECT_EQ(none.code, 1) << none.out;
  EXPECT_NE(none.out.find("no running broker answered"), std::string::npos) << none.out;
  EXPECT_FALSE(fs::exists(tmp_.path() + "/backup-none"));
}

TEST_F(BackupTest, ABackupWhoseLogWasChangedIsRefusedByRestore) {
  const std::string backup = tmp_.path() + "/backup-2";
  ASSERT_EQ(Nrm({"backup", "--broker-data", scenario_.broker_data, "--out", backup}).code, 0);
  Result<std::string> text = ReadFile(backup + "/manifest.json");
  ASSERT_TRUE(text.ok());
  std::string edited = *text;
  const size_t at = edited.find("\"audit_tree_size\": ");
  ASSERT_NE(at, std::string::npos) << edited;
  edited.insert(at + 19, "1");  // claims ten times more records (or more) than the copy holds
  ASSERT_TRUE(WriteFileAtomic(backup + "/manifest.json", edited).ok());
  Cli r = Nrm({"restore", "--backup", backup, "--broker-data", tmp_.path() + "/restored"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("the manifest says"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.path() + "/restored/store"));
}

TEST_F(BackupTest, AnAgentStartsAgainFromItsBackup) {
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);
  const std::string id = Offer("CanaryAgentBackup");
  ASSERT_TRUE(PollUntil([&] { return Delivered() == 1; })) << Log(kPolice);
  const std::string backup = tmp_.path() + "/police-backup";
  Cli b = Run(kPolice, {"backup", "--out", backup});
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("1 cases"), std::string::npos) << b.out;
  Cli again = Run(kPolice, {"backup", "--out", backup});  // never over an earlier backup
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("exists"), std::string::npos) << again.out;

  StopAgent(kPolice);
  fs::rename(DataDir(kPolice), DataDir(kPolice) + ".old");
  fs::create_directories(DataDir(kPolice));
  fs::permissions(DataDir(kPolice), fs::perms::owner_all);
  fs::copy(backup + "/store", DataDir(kPolice) + "/store");
  fs::copy_file(backup + "/local.key", DataDir(kPolice) + "/local.key");
  StartAgent(kPolice);
  Cli outbox = Run(kPolice, {"outbox", "--json"});
  EXPECT_EQ(Occurrences(outbox.out, "\"message_id\":\"" + id + "\""), 1u) << outbox.out;
  EXPECT_EQ(Occurrences(outbox.out, "\"status\":\"delivered\""), 1u) << outbox.out;
}

}  // namespace
}  // namespace nrm
