// An agency of a national broker (docs/PROTOCOL.md section 12.3): the agencies of partner
// countries it may seal to and hear from come from those countries' directories, which its
// broker passes on (PARTNER-DIRECTORY) and which the agent verifies with the authority key of
// each country's anchor, installed on its own machine: the broker is trusted to pass them on,
// never to vouch for them.
#include <chrono>
#include <filesystem>
#include <set>

#include "agent/agent.h"
#include "audit/big_endian.h"
#include "audit/checkpoint.h"
#include "common/file_util.h"

namespace nrm::agent {
namespace {

using transport::Frame;
using transport::FrameText;

std::string KeptPartnerDirectory(const AgentConfig& config, const std::string& country) {
  return config.data_dir + "/partners/" + country + ".directory.toml";
}

}  // namespace

Status Agent::LoadPartners() {
  own_directory_ = directory_;
  const int64_t now = clock_.NowMillis();
  for (const std::string& path : config_.partner_anchors) {
    NRM_ASSIGN_OR_RETURN(federation::Anchor anchor, federation::LoadAnchor(path, now));
    const std::string country = anchor.country;
    if (country == keys_.id.substr(0, 2)) {
      return InvalidArgument(path + ": the anchor of " + country +
                             ", this agency's own country, is not a partner");
    }
    const std::string kept = KeptPartnerDirectory(config_, country);
    if (std::filesystem::exists(kept)) {
      // Verified again at every start: a file changed since is not used.
      if (Result<identity::Directory> d =
              identity::Directory::Load(kept, anchor.authority_key, now);
          d.ok()) {
        partner_directories_.emplace(country, std::move(*d));
      }
    }
    partner_anchors_.emplace(country, std::move(anchor));
  }
  MergePartners();
  return Status::Ok();
}

void Agent::MergePartners() {
  std::vector<const identity::Directory*> partners;
  for (const auto& [country, d] : partner_directories_) partners.push_back(&d);
  directory_ = identity::Directory::WithPartners(own_directory_, partners);
}

std::map<std::string, int64_t> Agent::PartnerSerials() const {
  std::map<std::string, int64_t> out;
  for (const auto& [country, anchor] : partner_anchors_) {
    auto d = partner_directories_.find(country);
    out[country] = d == partner_directories_.end() ? 0 : d->second.serial();
  }
  return out;
}

Status Agent::AskPartnerDirectories() {
  if (!client_) return Unavailable("not connected to the broker");
  for (const auto& [country, serial] : PartnerSerials()) {
    Bytes be;
    audit::PutBe64(&be, static_cast<uint64_t>(serial));
    NRM_RETURN_IF_ERROR(client_->Send({Frame("PARTNER-DIRECTORY"), Frame(country), be}));
  }
  return Status::Ok();
}

Status Agent::FetchPartnerDirectories(int timeout_ms) {
  NRM_RETURN_IF_ERROR(AskPartnerDirectories());
  std::set<std::string> waiting;
  for (const auto& [country, anchor] : partner_anchors_) waiting.insert(country);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status result = Status::Ok();
  while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
    NRM_ASSIGN_OR_RETURN(auto frames, client_->Receive(50));
    if (!frames || frames->empty()) continue;
    if (FrameText((*frames)[0]) != "PARTNER-DIRECTORY" || frames->size() != 4) {
      early_.push_back(std::move(*frames));  // for the next ReceiveFrames
      continue;
    }
    waiting.erase(std::string(FrameText((*frames)[1])));
    if (Status s = AdoptPartnerDirectory(*frames); !s.ok()) result = s;
  }
  if (!waiting.empty() && result.ok()) {
    result = Unavailable("the broker did not pass on every partner's directory in time");
  }
  return result;
}

Result<Received> Agent::OpenRelayReceipt(const transport::Frames& frames) const {
  if (frames.size() != 5 || frames[1].size() != wire::kMessageIdBytes || frames[3].size() != 8) {
    return InvalidArgument("a malformed relay receipt was ignored");
  }
  const std::string country(FrameText(frames[2]));
  auto anchor = partner_anchors_.find(country);
  auto held = partner_directories_.find(country);
  if (anchor == partner_anchors_.end() || held == partner_directories_.end()) {
    return PermissionDenied("a relay receipt from '" + country +
                            "', whose signed directory this agency does not hold, was ignored");
  }
  // The partner's log key: the one its directory publishes for the broker of its anchor.
  const identity::BrokerEntry& b = held->second.broker();
  if (b.id != anchor->second.broker.id || b.sign_key != anchor->second.broker.sign_key) {
    return PermissionDenied("a relay receipt from " + country + " was ignored: the broker of " +
                            country + "'s directory is not the one of its anchor");
  }
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey key,
                       audit::PublishedLogKey(b.log_vkey, b.id, b.sign_key));
  Result<audit::VerifiedCheckpoint> v = audit::VerifyCheckpointNote(FrameText(frames[4]), key);
  if (!v.ok()) {
    return Unauthenticated("a relay receipt from " + b.id +
                           " that does not verify was ignored: " + v.status().message());
  }
  const uint64_t leaf = audit::GetBe64(frames[3].data());
  if (leaf >= v->checkpoint.size) {
    return Unauthenticated("a relay receipt from " + b.id + " naming leaf " + std::to_string(leaf) +
                           " outside its tree of " + std::to_string(v->checkpoint.size) +
                           " was ignored");
  }
  Received r;
  r.type = Received::Type::kRelayReceipt;
  r.message_id = frames[1];
  r.sender = keys_.id;
  r.recipients = {"@" + country};
  r.relay_receipt = b.id + " leaf " + std::to_string(leaf) + " of its log of size " +
                    std::to_string(v->checkpoint.size);
  return r;
}

Status Agent::AdoptPartnerDirectory(const transport::Frames& frames) {
  if (frames.size() != 4 || frames[2].size() != 8) {
    return InvalidArgument("malformed PARTNER-DIRECTORY answer");
  }
  const std::string country(FrameText(frames[1]));
  auto anchor = partner_anchors_.find(country);
  if (anchor == partner_anchors_.end()) return Status::Ok();  // not ours to ask
  if (frames[3].empty()) return Status::Ok();                 // nothing newer
  const std::string text(FrameText(frames[3]));
  const std::string source = "the directory of " + country + " from the broker";
  NRM_ASSIGN_OR_RETURN(
      identity::Directory d,
      identity::Directory::Parse(text, source, anchor->second.authority_key, clock_.NowMillis()));
  for (const identity::Agency& a : d.agencies()) {
    if (a.country != country) {
      return InvalidArgument(source + " names " + a.id + ", an agency of another country");
    }
  }
  auto held = partner_directories_.find(country);
  if (held != partner_directories_.end() && d.serial() <= held->second.serial()) {
    return Status::Ok();
  }
  // Kept for the next start, where it is verified again; in force now whatever happens to
  // the file.
  if (MakeDirs(config_.data_dir + "/partners").ok()) {
    (void)WriteFileAtomic(KeptPartnerDirectory(config_, country), text, 0600);
  }
  partner_directories_.insert_or_assign(country, std::move(d));
  MergePartners();
  return Status::Ok();
}

}  // namespace nrm::agent
