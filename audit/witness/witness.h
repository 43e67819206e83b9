// A C2SP witness (c2sp.org/tlog-witness@v1.0.0): it keeps, for each log it knows (by origin),
// the latest checkpoint it cosigned, and cosigns a new one (c2sp.org/tlog-cosignature@v1.0.1)
// only when a consistency proof shows it extends that one. This is the service's logic, without
// HTTP (common/http/server.h carries it): AddCheckpoint takes a request body and gives the answer.
//
// The state lives in a RocksDB under data_dir: origin -> be64 size || root || the cosigned
// checkpoint note (the log's signatures and this witness's cosignature). Checking a request
// against it and storing the new state happen under one lock, and the new state is on disk
// (synced) before the answer leaves: a witness killed at any moment never cosigns two
// inconsistent checkpoints of one log (at worst it stored a state whose cosignature nobody got;
// the log then hears 409 with that size, and proves from there).
//
// Thread-safe: AddCheckpoint may be called from every HTTP thread at once.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/note.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit::witness {

struct WitnessOptions {
  std::string name;            // the witness's key name, e.g. "mol.kh/witness"
  crypto::SecretBytes secret;  // its Ed25519 key, 64 bytes
  // The logs it witnesses: their checkpoint keys (type 0x01), named by their origin. Several
  // keys for one origin are allowed (any of them may sign).
  std::vector<note::VerifierKey> logs;
  std::string data_dir;  // its RocksDB
  // Test seam: called after a new state is on disk and before the answer is made.
  std::function<void()> after_persist;
};

// An HTTP answer: status, Content-Type and body.
struct Answer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct WitnessCounts {
  std::atomic<uint64_t> cosigned{0};
  std::atomic<uint64_t> bad_request{0};  // 400
  std::atomic<uint64_t> forbidden{0};    // 403
  std::atomic<uint64_t> unknown_log{0};  // 404
  std::atomic<uint64_t> conflict{0};     // 409
  std::atomic<uint64_t> bad_proof{0};    // 422
  std::atomic<uint64_t> failed{0};       // 500: the state could not be stored
};

class Witness {
 public:
  // Opens (creating) the store. kInvalidArgument for a bad name, key or log key; kIOError when
  // the store cannot be opened. REQUIRES: crypto::InitCrypto() has succeeded.
  static Result<std::unique_ptr<Witness>> Open(WitnessOptions options, const Clock& clock);
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // The add-checkpoint call: 200 with this witness's cosignature line; 400 malformed, or old
  // size larger than the checkpoint's; 403 no signature of a key the witness trusts for the
  // origin; 404 unknown origin; 409 old size is not the size it holds (body "<size>\n",
  // text/x.tlog.size), or same size with another root; 422 the consistency proof does not
  // verify; 500 the new state could not be stored (nothing was cosigned).
  Answer AddCheckpoint(std::string_view body);

  // The witness's cosigning key (type 0x04) as a vkey.
  const note::VerifierKey& key() const { return key_; }
  const WitnessCounts& counts() const { return counts_; }

 private:
  Witness(WitnessOptions options, const Clock& clock, std::unique_ptr<rocksdb::DB> db,
          note::VerifierKey key);
  Answer Refuse(int status, std::string reason, std::atomic<uint64_t>& count);

  WitnessOptions options_;
  const Clock& clock_;
  std::unique_ptr<rocksdb::DB> db_;
  note::VerifierKey key_;
  std::mutex mu_;  // one check-and-store at a time
  WitnessCounts counts_;
};

// The latest checkpoint the witness whose store is `data_dir` cosigned for `origin` (the note,
// with the log's signatures and the witness's cosignature), read-only (the witness may be
// running). kNotFound when it never cosigned one for that origin.
Result<std::string> LatestCosigned(const std::string& data_dir, std::string_view origin);

// The witness's key file (TOML, mode 0600): name = "...", sign_secret = "<128 hex>".
struct WitnessKey {
  std::string name;
  crypto::SecretBytes secret;
};
Status WriteWitnessKeyFile(const std::string& path, const std::string& name,
                           const crypto::SecretBytes& secret);
// kPermissionDenied when group or others can read it; kInvalidArgument naming the file when
// malformed.
Result<WitnessKey> LoadWitnessKeyFile(const std::string& path);

}  // namespace nrm::audit::witness
