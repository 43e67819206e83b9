// Directories across borders and the links' status (docs/PROTOCOL.md section 12.3). Each broker
// serves its country's signed directory to its partner brokers (PEER-DIRECTORY) and its
// partners' directories to its own agencies (PARTNER-DIRECTORY), always the file in force, byte
// for byte: the asker verifies it with the authority key of that country's anchor, never with
// anything the broker says. A link asks its partner every kDirectoryPollMs; a newer directory
// replaces the partner's file and is in force at once, so a foreign agency its authority revoked
// is refused here within seconds. data_dir/federation.json tells `nrm federation status` how
// each link is doing.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "audit/big_endian.h"
#include "broker/broker.h"
#include "common/file_util.h"
#include "common/json/json.h"

namespace nrm::broker {
namespace {

using transport::Frame;
using transport::FrameText;

Bytes Be64(uint64_t v) {
  Bytes out;
  audit::PutBe64(&out, v);
  return out;
}

// The directory file at `path` when it is the one in force (`serial`), else empty: a file
// changed on disk but not yet loaded is not served.
std::string FileInForce(const std::string& path, ByteView authority_key, int64_t serial,
                        int64_t now_ms) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  Result<identity::Directory> d = identity::Directory::Parse(*text, path, authority_key, now_ms);
  return d.ok() && d->serial() == serial ? *text : "";
}

}  // namespace

void Broker::ServeDirectory(const transport::Incoming& in, const std::string& country,
                            const std::string& reply_verb) {
  const size_t serial_frame = reply_verb == "PEER-DIRECTORY" ? 1 : 2;
  if (in.frames.size() != serial_frame + 1 || in.frames[serial_frame].size() != 8) {
    ++stats_.malformed;
    return Refuse(
        in, {},
        InvalidArgument(reply_verb + " needs " + (serial_frame == 1 ? "" : "a country and ") +
                        "the serial the asker has (8 bytes)"));
  }
  const uint64_t known = audit::GetBe64(in.frames[serial_frame].data());
  const int64_t now = clock_.NowMillis();
  int64_t serial = 0;
  std::string text;
  if (country == config_.country || config_.country.empty()) {
    const auto dir = directory();
    serial = dir->serial();
    if (static_cast<uint64_t>(serial) > known) {
      text = FileInForce(config_.directory, config_.authority_key, serial, now);
    }
  } else if (const auto fed = federation(); fed != nullptr) {
    if (const Partner* p = fed->FindPartner(country)) {
      serial = p->directory->serial();
      if (static_cast<uint64_t>(serial) > known) {
        text = FileInForce(p->directory_path, p->anchor.authority_key, serial, now);
      }
    }
  }
  transport::Frames reply{Frame(reply_verb)};
  if (serial_frame == 2) reply.push_back(Frame(country));
  reply.push_back(Be64(static_cast<uint64_t>(serial)));
  reply.push_back(ToBytes(text));
  replies_.push_back({in.routing_id, std::move(reply), std::nullopt});
}

void Broker::OnPartnerDirectory(Link& link, const transport::Frames& frames) {
  if (frames[1].size() != 8 || frames[2].empty()) return;  // nothing newer
  const auto fed = federation();
  const Partner* p = fed ? fed->FindPartner(link.country) : nullptr;
  if (p == nullptr) return;
  const std::string text(FrameText(frames[2]));
  const int64_t now = clock_.NowMillis();
  auto refuse = [&](const Status& why) {
    link.last_error = "directory of " + link.country + " refused: " + why.message();
    spdlog::error("link to {}: {}", link.country, link.last_error);
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kDirectoryLoaded;
    r.decision = "deny";
    r.rule = "partner " + link.country;
    r.reason = why.message();
    Audit(std::move(r));
  };
  Result<identity::Directory> d =
      identity::Directory::Parse(text, p->directory_path, p->anchor.authority_key, now);
  if (!d.ok()) return refuse(d.status());
  if (d->serial() <= p->directory->serial()) return;  // not newer: nothing to do
  for (const identity::Agency& a : d->agencies()) {
    if (a.country != link.country) {
      return refuse(InvalidArgument("agency " + a.id + " is not of " + link.country));
    }
  }
  // Its broker is still the anchor's, whose log signs the relay receipts' checkpoints.
  Result<audit::note::VerifierKey> log_key = PartnerLogKey(p->anchor, *d, p->directory_path);
  if (!log_key.ok()) return refuse(log_key.status());
  const std::string copy = PartnerDirectoryCopy(config_.data_dir, link.country);
  if (Status s = MakeDirs(config_.data_dir + "/partners"); !s.ok()) return refuse(s);
  if (Status s = WriteFileAtomic(copy, text); !s.ok()) return refuse(s);
  size_t revoked = 0;
  for (const identity::Agency& a : d->agencies()) {
    const identity::Agency* before = p->directory->Find(a.id);
    if (a.revoked && (before == nullptr || !before->revoked)) ++revoked;
  }
  const int64_t serial = d->serial();
  {
    std::lock_guard<std::mutex> lock(federation_mu_);
    federation_ =
        federation_->WithDirectory(link.country, std::move(*d), std::move(*log_key), copy);
  }
  link.verified_note.clear();  // relay receipts are verified again, under its log key now
  link.verified_head.reset();
  spdlog::info("directory of {} serial {} in force ({} agencies newly revoked)", link.country,
               serial, revoked);
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kDirectoryLoaded;
  r.decision = "allow";
  r.rule = "partner " + link.country + " serial " + std::to_string(serial);
  r.reason = "from " + link.name + ", " + std::to_string(revoked) + " agencies newly revoked";
  Audit(std::move(r));
}

void Broker::WriteFederationStatus(bool now) {
  const auto fed = federation();
  if (fed == nullptr) return;
  const int64_t t = clock_.NowMillis();
  if (!now && t - status_written_ms_ < kStatusEveryMs) return;
  status_written_ms_ = t;
  json::Json links = json::Json::array();
  for (const auto& [country, p] : fed->partners()) {
    auto it = links_.find(country);
    const Link* link = it == links_.end() ? nullptr : &it->second;
    const std::string name = PartnerName(country);
    json::Json l;
    l["country"] = country;
    l["broker"] = p.anchor.broker.id;
    l["endpoint"] = p.endpoint;
    l["agreement_in_force"] = fed->book().AnyInForce(config_.country, country, t);
    l["connected"] = link != nullptr && link->connected;
    l["queued"] = store_->PendingCount(name);
    l["in_flight"] = link != nullptr ? link->in_flight.size() : 0;
    l["oldest_queued"] = nullptr;
    if (store_->PendingCount(name) > 0) {
      Result<std::vector<QueuedMessage>> first = store_->Pending(name, 0, 1);
      if (first.ok() && !first->empty()) {
        Result<wire::EnvelopeView> env = wire::DecodeEnvelope(first->front().data);
        if (env.ok()) l["oldest_queued"] = FormatTimeUtcSeconds(env->created_at_ms());
      }
    }
    l["relayed"] = link != nullptr ? link->relayed : 0;
    l["last_receipt"] = nullptr;
    if (link != nullptr && link->last_receipt_ms > 0) {
      l["last_receipt"] = {{"at", FormatTimeUtcSeconds(link->last_receipt_ms)},
                           {"leaf", link->last_receipt_leaf},
                           {"tree_size", link->last_receipt_size}};
    }
    // The governing version of each agreement with the partner, as the reload put it in force.
    json::Json agreements = json::Json::array();
    for (const federation::Agreement* a : fed->book().Governing()) {
      const auto& c = a->terms().countries;
      if (std::find(c.begin(), c.end(), country) == c.end()) continue;
      agreements.push_back({{"id", a->terms().id},
                            {"version", a->terms().version},
                            {"valid_until", FormatTimeUtcSeconds(a->terms().valid_until_ms)}});
    }
    l["agreements"] = std::move(agreements);
    l["directory_serial"] = p.directory->serial();
    l["last_error"] = link != nullptr ? link->last_error : "";
    links.push_back(std::move(l));
  }
  json::Json doc;
  doc["broker"] = keys_.id;
  doc["country"] = config_.country;
  doc["written_at"] = FormatTimeUtcSeconds(t);
  doc["written_at_ms"] = t;
  doc["links"] = std::move(links);
  // Not synced: a status, rewritten every second, that a power cut may take back.
  const std::string path = config_.data_dir + "/" + kStatusFile;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json::Dump(doc);
    if (!out) return;
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace nrm::broker
