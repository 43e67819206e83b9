#include "audit/witness/witness.h"

#include <algorithm>

#include "audit/big_endian.h"
#include "audit/witness/add_checkpoint.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "common/rocks.h"

namespace nrm::audit::witness {
namespace {

using rocks::FromRocks;
using rocks::ToSlice;

// The stored state of one log: be64 size || root || the cosigned note.
struct State {
  uint64_t size = 0;
  Hash root = EmptyRoot();
  std::string note;
};

std::string EncodeState(const State& s) {
  Bytes b;
  PutBe64(&b, s.size);
  b.insert(b.end(), s.root.begin(), s.root.end());
  std::string out(AsChars(b));
  out += s.note;
  return out;
}

Result<State> DecodeState(std::string_view value) {
  if (value.size() < 8 + crypto::kHashBytes) return Corruption("witness: a stored state is short");
  State s;
  s.size = GetBe64(AsBytes(value).data());
  std::copy(value.begin() + 8, value.begin() + 40, s.root.begin());
  s.note = std::string(value.substr(40));
  return s;
}

std::string StateKey(std::string_view origin) { return "log/" + std::string(origin); }

}  // namespace

Witness::Witness(WitnessOptions options, const Clock& clock, std::unique_ptr<rocksdb::DB> db,
                 note::VerifierKey key)
    : options_(std::move(options)), clock_(clock), db_(std::move(db)), key_(std::move(key)) {}

Witness::~Witness() {
  if (db_) (void)db_->Close();
}

Result<std::unique_ptr<Witness>> Witness::Open(WitnessOptions options, const Clock& clock) {
  if (options.secret.size() != crypto::kSignSecretBytes) {
    return InvalidArgument("witness: the key must be a 64-byte Ed25519 secret");
  }
  NRM_ASSIGN_OR_RETURN(Bytes public_key, crypto::SignPublicFromSecret(options.secret));
  Result<note::VerifierKey> key =
      note::MakeVerifierKey(options.name, note::kTypeCosignatureV1, public_key);
  if (!key) return key.status().WithContext("witness name");
  for (const note::VerifierKey& log : options.logs) {
    if (log.type != note::kTypeEd25519) {
      return InvalidArgument("witness: the key of log " + log.name +
                             " is not a checkpoint key (type 0x01)");
    }
  }
  NRM_RETURN_IF_ERROR(MakeDirs(options.data_dir));
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  NRM_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(o, options.data_dir + "/state", &raw),
                                "witness: opening " + options.data_dir + "/state"));
  return std::unique_ptr<Witness>(
      new Witness(std::move(options), clock, std::unique_ptr<rocksdb::DB>(raw), std::move(*key)));
}

Answer Witness::Refuse(int status, std::string reason, std::atomic<uint64_t>& count) {
  ++count;
  return Answer{status, "text/plain; charset=utf-8", std::move(reason) + "\n"};
}

Answer Witness::AddCheckpoint(std::string_view body) {
  Result<AddCheckpointRequest> req = ParseAddCheckpoint(body);
  if (!req) return Refuse(400, req.status().message(), counts_.bad_request);
  Result<note::Note> n = note::ParseNote(req->checkpoint);
  if (!n) return Refuse(400, "the checkpoint: " + n.status().message(), counts_.bad_request);
  Result<Checkpoint> c = ParseCheckpoint(n->text);
  if (!c) return Refuse(400, c.status().message(), counts_.bad_request);

  // The log: known by its origin, and signed by a key trusted for it.
  std::vector<note::VerifierKey> trusted;
  for (const note::VerifierKey& k : options_.logs) {
    if (k.name == c->origin) trusted.push_back(k);
  }
  if (trusted.empty()) return Refuse(404, "unknown log origin", counts_.unknown_log);
  if (Result<std::vector<note::VerifiedSignature>> v = note::OpenNote(*n, trusted); !v) {
    return Refuse(403, "no valid signature of a key trusted for this log", counts_.forbidden);
  }
  if (req->old_size > c->size) {
    return Refuse(400, "the old size is larger than the checkpoint's", counts_.bad_request);
  }

  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    State held;
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), StateKey(c->origin), &value);
    if (s.ok()) {
      Result<State> decoded = DecodeState(value);
      if (!decoded) return Refuse(500, decoded.status().message(), counts_.failed);
      held = std::move(*decoded);
    } else if (!s.IsNotFound()) {
      return Refuse(500, "the witness cannot read its state", counts_.failed);
    }
    if (req->old_size != held.size) {
      ++counts_.conflict;
      return Answer{409, std::string(kTreeSizeContentType), std::to_string(held.size) + "\n"};
    }
    if (req->old_size == c->size) {
      if (c->root != held.root) {
        return Refuse(409, "same size, another root: the log forked", counts_.conflict);
      }
    } else if (!VerifyConsistency(held.size, c->size, held.root, c->root, req->proof).ok()) {
      return Refuse(422, "the consistency proof does not verify", counts_.bad_proof);
    }

    // Cosign, store (synced), then answer: the state is on disk before anyone holds the
    // cosignature, and no other request is checked against the state in between.
    const uint64_t now_s = static_cast<uint64_t>(std::max<int64_t>(0, clock_.NowMillis() / 1000));
    const note::Signature cosig = note::Cosign(n->text, key_.name, options_.secret, now_s);
    note::Note cosigned;
    cosigned.text = n->text;
    for (const note::Signature& sig : n->signatures) {
      const bool log_sig = std::any_of(trusted.begin(), trusted.end(),
                                       [&](const auto& k) { return k.name == sig.name; });
      if (log_sig && cosigned.signatures.size() + 1 < note::kMaxSignatures) {
        cosigned.signatures.push_back(sig);
      }
    }
    cosigned.signatures.push_back(cosig);
    const State next{c->size, c->root, note::FormatNote(cosigned)};
    rocksdb::WriteOptions sync;
    sync.sync = true;
    if (!db_->Put(sync, StateKey(c->origin), EncodeState(next)).ok()) {
      return Refuse(500, "the witness cannot store its state", counts_.failed);
    }
    if (options_.after_persist) options_.after_persist();
    line = note::FormatSignatureLine(cosig);
  }
  ++counts_.cosigned;
  return Answer{200, "text/plain; charset=utf-8", std::move(line)};
}

Result<std::string> LatestCosigned(const std::string& data_dir, std::string_view origin) {
  rocksdb::DB* raw = nullptr;
  NRM_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), data_dir + "/state", &raw),
                "witness: opening " + data_dir + "/state"));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), StateKey(origin), &value);
  if (s.IsNotFound()) {
    return NotFound("the witness has cosigned nothing for " + std::string(origin));
  }
  NRM_RETURN_IF_ERROR(FromRocks(s, "witness: reading its state"));
  NRM_ASSIGN_OR_RETURN(State state, DecodeState(value));
  return state.note;
}

Status WriteWitnessKeyFile(const std::string& path, const std::string& name,
                           const crypto::SecretBytes& secret) {
  NRM_RETURN_IF_ERROR(note::CheckKeyName(name));
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return WriteFileAtomic(path,
                         "# A witness's cosigning key (nrm witness keygen). Keep it secret.\n"
                         "name = " +
                             quoted + "\"\nsign_secret = \"" + ToHex(secret.view()) + "\"\n",
                         0600);
}

Result<WitnessKey> LoadWitnessKeyFile(const std::string& path) {
  NRM_RETURN_IF_ERROR(CheckPrivateFile(path));
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(doc.root, {"name", "sign_secret"}, path));
  WitnessKey key;
  NRM_ASSIGN_OR_RETURN(key.name, config::GetString(doc.root, "name", path));
  if (Status s = note::CheckKeyName(key.name); !s.ok()) return s.WithContext(path + ": name");
  NRM_ASSIGN_OR_RETURN(std::string hex, config::GetString(doc.root, "sign_secret", path));
  NRM_ASSIGN_OR_RETURN(Bytes secret,
                       FromHexExact(hex, crypto::kSignSecretBytes, path + ": sign_secret"));
  key.secret = crypto::SecretBytes::FromBytes(secret);
  std::fill(secret.begin(), secret.end(), 0);
  Result<Bytes> pub = crypto::SignPublicFromSecret(key.secret);
  if (!pub || !std::equal(pub->begin(), pub->end(), key.secret.data() + 32)) {
    return InvalidArgument(path + ": sign_secret is not an Ed25519 secret (seed || public key)");
  }
  return key;
}

}  // namespace nrm::audit::witness
