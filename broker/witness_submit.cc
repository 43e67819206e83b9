#include "broker/witness_submit.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "audit/witness/add_checkpoint.h"
#include "audit/witness/client.h"
#include "common/file_util.h"
#include "common/json/json.h"

namespace nrm::broker {
namespace {

namespace w = audit::witness;

// The checkpoint as the log signed it: its text and the log's own lines (named by the origin),
// without cosignatures collected earlier.
Result<audit::note::Note> LogsOwnNote(const std::string& stored) {
  NRM_ASSIGN_OR_RETURN(audit::note::Note n, audit::note::ParseNote(stored));
  const std::string origin = n.text.substr(0, n.text.find('\n'));
  std::erase_if(n.signatures, [&](const audit::note::Signature& s) { return s.name != origin; });
  return n;
}

// The cosignature of `key` in a 200 answer (signature lines), if one verifies over `text`.
std::optional<audit::note::Signature> CosignatureIn(std::string_view answer,
                                                    const std::string& text,
                                                    const audit::note::VerifierKey& key) {
  while (!answer.empty()) {
    const size_t nl = answer.find('\n');
    if (nl == std::string_view::npos) break;
    Result<audit::note::Signature> sig = audit::note::ParseSignatureLine(answer.substr(0, nl));
    answer.remove_prefix(nl + 1);
    if (!sig || sig->name != key.name || sig->key_id != key.key_id) continue;
    const audit::note::Note one{text, {*sig}};
    const std::vector<audit::note::VerifierKey> keys = {key};
    if (audit::note::OpenNote(one, keys).ok()) return *sig;
  }
  return std::nullopt;
}

}  // namespace

WitnessSubmitter::WitnessSubmitter(Options options, rocksdb::DB* db,
                                   const audit::AuditColumnFamilies& cfs, const Clock& clock)
    : options_(std::move(options)), tree_(db, cfs), clock_(clock) {
  for (const WitnessEndpoint& e : options_.witnesses) {
    WitnessStatus s;
    s.name = e.key.name;
    s.url = e.url;
    witnesses_.push_back(std::move(s));
  }
  thread_ = std::thread([this] { Loop(); });
}

WitnessSubmitter::~WitnessSubmitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WitnessSubmitter::Offer(uint64_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (size <= offered_) return;
    offered_ = size;
  }
  cv_.notify_one();
}

std::vector<WitnessStatus> WitnessSubmitter::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return witnesses_;
}

void WitnessSubmitter::Loop() {
  // The client lives on this thread: its connections are kept alive from round to round.
  std::vector<std::string> urls;
  for (const WitnessEndpoint& e : options_.witnesses) urls.push_back(e.url);
  client_ = std::make_unique<w::WitnessClient>(urls, static_cast<long>(options_.timeout_ms));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const int64_t now = clock_.NowMillis();
    bool due = false;
    int64_t wake = INT64_MAX;
    for (const WitnessStatus& s : witnesses_) {
      if (offered_ == 0 || s.cosigned_size >= offered_) continue;
      if (s.next_attempt_ms <= now) {
        due = true;
      } else {
        wake = std::min(wake, s.next_attempt_ms);
      }
    }
    if (!due) {
      if (wake == INT64_MAX) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, std::chrono::milliseconds(wake - now));
      }
      continue;
    }
    const uint64_t size = offered_;
    lock.unlock();
    Round(size, now);
    lock.lock();
  }
  client_.reset();
}

void WitnessSubmitter::Failed(WitnessStatus& s, int64_t now, std::string why, bool refusal) {
  ++s.failures;
  if (refusal) ++s.refusals;
  if (why != s.last_error) {
    spdlog::warn("witness {} ({}): {}", s.name, s.url, why);
  }
  s.last_error = std::move(why);
  s.last_error_at_ms = now;
  s.backoff_ms = std::clamp(s.backoff_ms * 2, options_.min_interval_ms, options_.max_backoff_ms);
  s.next_attempt_ms = now + s.backoff_ms;
}

void WitnessSubmitter::Round(uint64_t size, int64_t now) {
  std::vector<WitnessStatus> ws;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ws = witnesses_;
  }
  std::vector<bool> due(ws.size());
  for (size_t i = 0; i < ws.size(); ++i) {
    due[i] = ws[i].cosigned_size < size && ws[i].next_attempt_ms <= now;
  }
  Result<audit::StoredHead> head = tree_.HeadAt(size);
  Result<audit::note::Note> note =
      head ? LogsOwnNote(head->note) : Result<audit::note::Note>(head.status());
  std::vector<audit::note::Signature> collected;
  // A 409 naming a smaller size is settled at once with a proof from there: two attempts.
  for (int attempt = 0; attempt < 2 && note; ++attempt) {
    std::vector<std::optional<std::string>> bodies(ws.size());
    for (size_t i = 0; i < ws.size(); ++i) {
      if (!due[i]) continue;
      due[i] = false;
      if (ws[i].held_size > size) continue;  // reported when it answered so
      Result<std::vector<audit::Hash>> proof = tree_.ConsistencyProof(ws[i].held_size, size);
      if (!proof) {
        Failed(ws[i], now,
               "no consistency proof from " + std::to_string(ws[i].held_size) + ": " +
                   proof.status().message(),
               false);
        continue;
      }
      bodies[i] = w::FormatAddCheckpoint(
          {ws[i].held_size, std::move(*proof), audit::note::FormatNote(*note)});
    }
    if (std::none_of(bodies.begin(), bodies.end(), [](const auto& b) { return b.has_value(); })) {
      break;
    }
    const std::vector<w::PostResult> results = client_->PostAll(bodies);
    const int64_t at = clock_.NowMillis();
    for (size_t i = 0; i < ws.size(); ++i) {
      if (!bodies[i]) continue;
      WitnessStatus& s = ws[i];
      const w::PostResult& r = results[i];
      ++s.submissions;
      if (r.status == 200) {
        std::optional<audit::note::Signature> sig =
            CosignatureIn(r.body, note->text, options_.witnesses[i].key);
        if (!sig) {
          Failed(s, at, "answered 200 without a valid cosignature of its key", false);
          continue;
        }
        collected.push_back(*sig);
        if (!s.last_error.empty()) spdlog::info("witness {} cosigns again", s.name);
        ++s.cosignatures;
        s.cosigned_size = s.held_size = size;
        s.cosigned_at_ms = at;
        s.last_error.clear();
        s.backoff_ms = 0;
        s.next_attempt_ms = at + options_.min_interval_ms;
      } else if (r.status == 409 && r.content_type.starts_with(w::kTreeSizeContentType)) {
        const Result<uint64_t> held = w::ParseConflictSize(r.body);
        if (held && *held <= size && *held != s.held_size) {
          s.held_size = *held;
          due[i] = true;  // again, with a proof from what it holds
        } else if (held && *held > size) {
          s.held_size = *held;
          Failed(s, at,
                 "it holds a checkpoint of size " + std::to_string(*held) +
                     ", larger than the log's " + std::to_string(size) +
                     ": was the log rolled back or rewritten?",
                 true);
        } else {
          Failed(s, at, "409 naming the size it was sent, or a malformed size", false);
        }
      } else if (r.status == 409) {
        Failed(s, at,
               "it holds another checkpoint of size " + std::to_string(size) +
                   " (409): the log forked?",
               true);
      } else if (r.status == 422) {
        Failed(s, at,
               "it refused the consistency proof from " + std::to_string(s.held_size) +
                   " (422): the log is not consistent with what it cosigned",
               true);
      } else if (r.status == 0) {
        Failed(s, at, "no answer: " + r.error, false);
      } else {
        Failed(s, at,
               "answered " + std::to_string(r.status) + ": " +
                   r.body.substr(0, std::min<size_t>(r.body.size(), 120)),
               r.status == 403 || r.status == 404);
      }
    }
  }
  if (!note) {
    for (size_t i = 0; i < ws.size(); ++i) {
      if (due[i]) Failed(ws[i], now, "no checkpoint to send: " + note.status().message(), false);
    }
  }
  if (!collected.empty()) {
    if (Status s = tree_.AddCosignatures(size, collected); !s.ok()) {
      spdlog::error("cannot store the witnesses' cosignatures: {}", s.ToString());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    witnesses_ = std::move(ws);
  }
  WriteStatus();
}

void WitnessSubmitter::WriteStatus() const {
  if (options_.status_file.empty()) return;
  json::Json list = json::Json::array();
  for (const WitnessStatus& s : status()) {
    list.push_back(json::Json{{"name", s.name},
                              {"url", s.url},
                              {"cosigned_size", s.cosigned_size},
                              {"cosigned_at_ms", s.cosigned_at_ms},
                              {"held_size", s.held_size},
                              {"submissions", s.submissions},
                              {"cosignatures", s.cosignatures},
                              {"failures", s.failures},
                              {"refusals", s.refusals},
                              {"last_error", s.last_error},
                              {"last_error_at_ms", s.last_error_at_ms},
                              {"next_attempt_ms", s.next_attempt_ms}});
  }
  const json::Json doc{{"written_at_ms", clock_.NowMillis()}, {"witnesses", std::move(list)}};
  if (Status s = WriteFileAtomic(options_.status_file, json::Dump(doc)); !s.ok()) {
    spdlog::warn("cannot write the witness status file: {}", s.ToString());
  }
}

}  // namespace nrm::broker
