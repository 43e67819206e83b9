// Real nrm-broker processes on 127.0.0.1 with real agents, keys and RocksDB.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "audit/audit_log.h"
#include "broker/store/message_store.h"
#include "tests/testing/broker_fixture.h"

namespace nrm {
namespace {

using testing::Frame;
using testing::FrameText;

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";

class BrokerIntegrationTest : public testing::BrokerFixture {
 protected:
  // Stops the broker cleanly and opens its store.
  Result<std::unique_ptr<broker::MessageStore>> StopAndOpenStore() {
    EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
    broker_pid_ = -1;
    return broker::MessageStore::Open(scenario_.broker_data + "/store",
                                      audit::AuditColumnFamilyNames());
  }
};

TEST_F(BrokerIntegrationTest, PoliceToShelterDeliveredAndDecrypted) {
  auto shelter = OpenAgent(kShelter);
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(shelter && police);
  Result<agent::SendOutcome> sent = Offer(*police, kShelter, Payload("Nang Canary"));
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_TRUE(sent->accepted) << sent->code << ": " << sent->reason;
  ASSERT_TRUE(sent->receipt_leaf.has_value()) << "an accepted message comes with a receipt";

  Result<std::optional<agent::Received>> got = shelter->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  const agent::Received& m = **got;
  EXPECT_EQ(m.message_id, sent->message_id);
  EXPECT_EQ(m.sender, kPolice);
  EXPECT_EQ(m.kind, wire::Kind::ReferralOffer);
  Result<std::string> json = wire::PayloadToJson(m.payload.view());
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("Nang Canary"), std::string::npos);
  EXPECT_TRUE(shelter->Acknowledge(m.message_id).ok());
}

TEST_F(BrokerIntegrationTest, OfflineRecipientReceivesOnConnectInOrder) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  std::vector<Bytes> ids;
  for (int i = 0; i < 1000; ++i) {
    Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("p" + std::to_string(i)));
    ASSERT_TRUE(s.ok() && s->accepted);
    ids.push_back(s->message_id);
  }
  // The broker restarts while the shelter is away: what it accepted was on disk.
  KillBroker();
  StartBroker();
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  for (const Bytes& id : ids) {
    Result<std::optional<agent::Received>> got = shelter->Receive(10000);
    ASSERT_TRUE(got.ok() && got->has_value());
    ASSERT_EQ((*got)->message_id, id) << "out of order";
    ASSERT_TRUE(shelter->Acknowledge(id).ok());
  }
  Result<std::optional<agent::Received>> extra = shelter->Receive(300);
  ASSERT_TRUE(extra.ok());
  EXPECT_FALSE(extra->has_value()) << "a message was delivered twice";

  // Acknowledged messages leave the queue, and their disk space returns after compaction.
  auto store = StopAndOpenStore();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->PendingTotal(), 0u);
  rocksdb::ColumnFamilyHandle* queue = (*store)->Handle("queue");
  ASSERT_TRUE(
      (*store)->db()->CompactRange(rocksdb::CompactRangeOptions(), queue, nullptr, nullptr).ok());
  uint64_t sst_bytes = 1;
  ASSERT_TRUE((*store)->db()->GetIntProperty(queue, "rocksdb.total-sst-files-size", &sst_bytes));
  EXPECT_EQ(sst_bytes, 0u);
}

TEST_F(BrokerIntegrationTest, AcknowledgedMessagesAreNotDeliveredAgain) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("once"));
  ASSERT_TRUE(s.ok() && s->accepted);
  {
    auto shelter = OpenAgent(kShelter);
    Result<std::optional<agent::Received>> got = shelter->Receive(10000);
    ASSERT_TRUE(got.ok() && got->has_value());
    ASSERT_TRUE(shelter->Acknowledge((*got)->message_id).ok());
    // An acknowledgement is asynchronous: a second message proves the first was processed.
    ASSERT_TRUE(Offer(*police, kShelter, Payload("marker"))->accepted);
    got = shelter->Receive(10000);
    ASSERT_TRUE(got.ok() && got->has_value());
  }
  auto again = OpenAgent(kShelter);
  Result<std::optional<agent::Received>> got = again->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_NE((*got)->message_id, s->message_id) << "an acknowledged message came back";
}

TEST_F(BrokerIntegrationTest, UnknownCurveKeyGetsNothingThrough) {
  identity::KeySet outsider = identity::GenerateKeySet("TH.POLICE.CRI-ATU");
  Result<std::unique_ptr<transport::Client>> c = RawClient(outsider);
  EXPECT_EQ(c.status().code(), Code::kUnauthenticated) << c.status().ToString();

  // The outsider signs as the real police unit would; it still cannot reach the shelter.
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  Result<std::optional<agent::Received>> got = shelter->Receive(500);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(BrokerIntegrationTest, SenderOtherThanAuthenticatedAgencyIsRefused) {
  Result<identity::KeySet> police = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  Result<identity::KeySet> shelter = identity::LoadSecretKeyFile(scenario_.KeyFile(kShelter));
  ASSERT_TRUE(police.ok() && shelter.ok());
  // Connected as the police unit, sending an envelope that names (and is signed by) the shelter.
  Result<std::unique_ptr<transport::Client>> c = RawClient(*police);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  wire::HeaderFields f{kShelter,
                       wire::Kind::ReferralDecline,
                       Bytes(16, 2),
                       wire::Handling::H0,
                       SystemClock::Get().NowMillis(),
                       {},
                       false,
                       {},
                       {}};
  std::vector<wire::Recipient> to = {{kPolice, police->box_public}};
  wire::SenderEpoch epoch(SystemClock::Get());
  Result<wire::Sealed> sealed =
      wire::SealEnvelope(f, to, AsBytes("x"), shelter->sign_secret, epoch);
  ASSERT_TRUE(sealed.ok());
  transport::Frames answer = SendRaw(**c, sealed->frame);
  ASSERT_EQ(answer.size(), 4u);
  EXPECT_EQ(FrameText(answer[0]), "REFUSED");
  EXPECT_EQ(FrameText(answer[2]), "permission_denied");
  EXPECT_NE(FrameText(answer[3]).find("authenticated as TH.POLICE.CRI-ATU"), std::string::npos);
}

TEST_F(BrokerIntegrationTest, ReplayIsRefusedBeforeAndAfterRestart) {
  Result<identity::KeySet> police = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  Result<identity::KeySet> shelter = identity::LoadSecretKeyFile(scenario_.KeyFile(kShelter));
  ASSERT_TRUE(police.ok() && shelter.ok());
  wire::HeaderFields f{kPolice,
                       wire::Kind::ReferralOffer,
                       Bytes(16, 3),
                       wire::Handling::H1,
                       SystemClock::Get().NowMillis(),
                       {},
                       false,
                       {},
                       {}};
  std::vector<wire::Recipient> to = {{kShelter, shelter->box_public}};
  wire::SenderEpoch epoch(SystemClock::Get());
  Result<wire::Sealed> sealed = wire::SealEnvelope(f, to, AsBytes("x"), police->sign_secret, epoch);
  ASSERT_TRUE(sealed.ok());
  {
    auto c = RawClient(*police);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(FrameText(SendRaw(**c, sealed->frame)[0]), "ACCEPTED");
    transport::Frames again = SendRaw(**c, sealed->frame);
    EXPECT_EQ(FrameText(again[0]), "REFUSED");
    EXPECT_EQ(FrameText(again[2]), "already_exists");
  }
  KillBroker();
  StartBroker();
  auto c = RawClient(*police);
  ASSERT_TRUE(c.ok());
  transport::Frames after = SendRaw(**c, sealed->frame);
  EXPECT_EQ(FrameText(after[0]), "REFUSED");
  EXPECT_EQ(FrameText(after[2]), "already_exists");
}

TEST_F(BrokerIntegrationTest, StaleMessageIsRefused) {
  FakeClock behind(SystemClock::Get().NowMillis() - 11 * 60 * 1000);  // the window is 10 min
  auto police = OpenAgent(kPolice, behind);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("late"));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->accepted);
  EXPECT_EQ(s->code, "invalid_argument");
  EXPECT_NE(s->reason.find("freshness window"), std::string::npos);
}

TEST_F(BrokerIntegrationTest, UnknownRecipientIsRefused) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> s = Offer(*police, "TH.SHELTER.NOWHERE", Payload("x"));
  EXPECT_EQ(s.status().code(), Code::kNotFound);  // the agent refuses before sending
}

TEST_F(BrokerIntegrationTest, RevokedAgencyLosesSessionAndQueue) {
  auto shelter = OpenAgent(kShelter);
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(shelter && police);
  ASSERT_TRUE(Offer(*police, kShelter, Payload("before"))->accepted);
  Result<std::optional<agent::Received>> got = shelter->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_TRUE(Offer(*police, kShelter, Payload("waiting"))->accepted);
  got = shelter->Receive(10000);  // delivered before the revocation, never acknowledged
  ASSERT_TRUE(got.ok() && got->has_value());

  ReloadDirectory([](std::string& body) { Revoke(body, kShelter); });
  // Within 2 s the broker refuses messages to the revoked shelter...
  // (Offers accepted before the reload took effect may have been delivered already.)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::set<Bytes> before_revocation;
  Result<agent::SendOutcome> refused = Offer(*police, kShelter, Payload("after"));
  while (refused.ok() && refused->accepted && std::chrono::steady_clock::now() < deadline) {
    before_revocation.insert(refused->message_id);
    refused = Offer(*police, kShelter, Payload("after"));
  }
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_FALSE(refused->accepted);
  EXPECT_EQ(refused->code, "permission_denied");
  // ...and the shelter's own session is gone: nothing it sends is accepted, nothing arrives.
  Result<agent::SendOutcome> from_revoked =
      One(shelter->Send({kPolice}, wire::Kind::ReferralDecline, Bytes(16, 1), wire::Handling::H0,
                        Payload("x"), 3000));
  EXPECT_FALSE(from_revoked.ok() && from_revoked->accepted);
  for (int i = 0; i < 100; ++i) {
    Result<std::optional<agent::Received>> more = shelter->Receive(500);
    if (!more.ok() || !more->has_value()) break;
    EXPECT_TRUE(before_revocation.count((*more)->message_id))
        << "a message accepted after the revocation reached the revoked shelter";
  }

  // The police unit, still in the directory, keeps working after the reconnect.
  Result<agent::SendOutcome> to_self =
      One(police->Send({kPolice}, wire::Kind::StatusUpdate, Bytes(16, 1), wire::Handling::H0,
                       Payload("still here"), 10000));
  ASSERT_TRUE(to_self.ok()) << to_self.status().ToString();
  EXPECT_TRUE(to_self->accepted) << to_self->reason;

  // Nothing more is held for the revoked shelter.
  ASSERT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;
  auto store =
      broker::MessageStore::Open(scenario_.broker_data + "/store", audit::AuditColumnFamilyNames());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->PendingCount(kShelter), 0u);
}

TEST_F(BrokerIntegrationTest, BadDirectoryOnReloadKeepsTheOneInForce) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  const std::string path = tmp_.path() + "/directory.toml";
  std::string good = *ReadFile(path);
  std::string bad = good;
  bad.replace(bad.find("role = \"shelter\""), 16, "role = \"police\" ");  // breaks the signature
  ASSERT_TRUE(WriteFileAtomic(path, bad).ok());
  ASSERT_EQ(::kill(broker_pid_, SIGHUP), 0);
  ASSERT_TRUE(Offer(*police, kShelter, Payload("a"))->accepted);
  // A validly signed but older directory (a rollback) is refused too.
  ASSERT_TRUE(WriteFileAtomic(path, good).ok());
  // The log, once it holds `what` (or after 5 s). Signals coalesce: the next file may only be
  // written once the broker has read this one.
  auto log_once = [&](const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string log;
    while (log.find(what) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      log = ReadFile(scenario_.broker_log).ok() ? *ReadFile(scenario_.broker_log) : "";
    }
    return log;
  };
  ReloadDirectory([](std::string& body) { Revoke(body, kShelter); });
  ASSERT_NE(log_once("directory serial 2 in force").find("directory serial 2 in force"),
            std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(path, good).ok());  // serial 1 after serial 2
  ASSERT_EQ(::kill(broker_pid_, SIGHUP), 0);
  const std::string log = log_once("older than");
  EXPECT_NE(log.find("does not verify"), std::string::npos) << log;
  EXPECT_NE(log.find("older than"), std::string::npos) << log;
}

class ExpiryTest : public BrokerIntegrationTest {
  std::string ExtraBrokerConfig() const override { return "ttl_s = 1\n"; }
};

TEST_F(ExpiryTest, UnacknowledgedMessageExpiresAndSenderIsTold) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("nobody home"));
  ASSERT_TRUE(s.ok() && s->accepted);
  Result<std::optional<agent::Received>> notice = police->Receive(10000);
  ASSERT_TRUE(notice.ok() && notice->has_value()) << notice.status().ToString();
  EXPECT_EQ((*notice)->type, agent::Received::Type::kExpiryNotice);
  EXPECT_EQ((*notice)->message_id, s->message_id);
  EXPECT_EQ((*notice)->recipients, std::vector<std::string>{kShelter});
  ASSERT_TRUE(police->Acknowledge(s->message_id).ok());

  auto shelter = OpenAgent(kShelter);
  Result<std::optional<agent::Received>> late = shelter->Receive(500);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value()) << "an expired message was delivered";
}

// One message to two shelters that never connect: the sender gets two expiry notices with
// the same message id, and acknowledging each removes each; a reconnect delivers nothing more.
TEST_F(ExpiryTest, EachExpiryNoticeOfOneMessageIsAcknowledgedOnItsOwn) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  const std::vector<std::string> shelters{kShelter, "TH.SHELTER.BAN-PING"};
  Result<agent::SendOutcome> s =
      One(police->Send(shelters, wire::Kind::ReferralOffer, Bytes(16, 1), wire::Handling::H1,
                       Payload("two shelters"), 10000));
  ASSERT_TRUE(s.ok() && s->accepted) << s.status().ToString();
  std::set<std::string> told;
  for (int i = 0; i < 2; ++i) {
    Result<std::optional<agent::Received>> notice = police->Receive(10000);
    ASSERT_TRUE(notice.ok() && notice->has_value()) << notice.status().ToString();
    EXPECT_EQ((*notice)->type, agent::Received::Type::kExpiryNotice);
    EXPECT_EQ((*notice)->message_id, s->message_id);
    told.insert((*notice)->recipients.at(0));
    ASSERT_TRUE(police->Acknowledge(s->message_id).ok());
  }
  EXPECT_EQ(told, std::set<std::string>(shelters.begin(), shelters.end()));
  // An acknowledgement is asynchronous, and closing the connection drops what it has not sent
  // yet (both notices may come at once, and both ACKs still wait in the socket when it closes on
  // a loaded machine): a HELLO after them, answered, proves the broker handled them.
  ASSERT_TRUE(police->Greet().ok());
  bool welcomed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!welcomed && std::chrono::steady_clock::now() < deadline) {
    Result<std::optional<transport::Frames>> f = police->ReceiveFrames(100);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    welcomed = f->has_value() && !(*f)->empty() && transport::FrameText((**f)[0]) == "WELCOME";
  }
  ASSERT_TRUE(welcomed) << "the broker answers HELLO";
  police.reset();
  police = OpenAgent(kPolice);  // a new connection: anything still queued comes again
  ASSERT_TRUE(police);
  Result<std::optional<agent::Received>> again = police->Receive(1000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "an acknowledged expiry notice came again";
  police.reset();
  auto store = StopAndOpenStore();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->PendingTotal(), 0u);
}

// A delivery that expires unacknowledged gives its place in the recipient's window back: with a
// window of one, the next message still reaches the connected recipient.
class ExpiryWindowTest : public BrokerIntegrationTest {
  std::string ExtraBrokerConfig() const override { return "ttl_s = 1\ndelivery_window = 1\n"; }
};

TEST_F(ExpiryWindowTest, AnExpiredDeliveryFreesItsPlaceInTheWindow) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(police && shelter);
  Result<agent::SendOutcome> first = Offer(*police, kShelter, Payload("never acknowledged"));
  ASSERT_TRUE(first.ok() && first->accepted);
  Result<std::optional<agent::Received>> got = shelter->Receive(5000);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->message_id, first->message_id);
  // Not acknowledged: the police hear that it expired (the broker scans once a second).
  Result<std::optional<agent::Received>> notice = police->Receive(10000);
  ASSERT_TRUE(notice.ok() && notice->has_value()) << notice.status().ToString();
  EXPECT_EQ((*notice)->type, agent::Received::Type::kExpiryNotice);
  ASSERT_TRUE(police->Acknowledge(first->message_id).ok());

  Result<agent::SendOutcome> second = Offer(*police, kShelter, Payload("the next one"));
  ASSERT_TRUE(second.ok() && second->accepted);
  got = shelter->Receive(900);  // within its own second of life
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value()) << "the expired delivery still fills the window";
  EXPECT_EQ((*got)->message_id, second->message_id);
}

TEST(BrokerConfigTest, BadConfigExitsTwoNamingFileAndLine) {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/broker.toml";
  ASSERT_TRUE(
      WriteFileAtomic(path, "bind = \"tcp://127.0.0.1:0\"\nfreshness_window_s = \"ten\"\n").ok());
  Result<pid_t> pid =
      tools::Spawn({testing::BinDir() + "/nrm-broker", "--config", path}, tmp.path() + "/out");
  ASSERT_TRUE(pid.ok());
  Result<int> code = tools::WaitExit(*pid, 10000);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  std::string out = ReadFile(tmp.path() + "/out").ok() ? *ReadFile(tmp.path() + "/out") : "";
  EXPECT_NE(out.find("broker.toml:"), std::string::npos) << out;
}

}  // namespace
}  // namespace nrm
