#include "audit/audit_log.h"

#include <algorithm>
#include <utility>

#include "audit/big_endian.h"
#include "common/rocks.h"

namespace nrm::audit {
namespace {

using rocks::FromRocks;
using rocks::FromSlice;
using rocks::ToSlice;

bool ChainMatches(ByteView stored_value, const Hash& chain) {
  return stored_value.size() >= kChainBytes &&
         std::equal(chain.begin(), chain.end(), stored_value.begin());
}

}  // namespace

std::vector<std::string> AuditColumnFamilyNames() {
  return {kRecordsColumnFamily, kHeadsColumnFamily, kMetaColumnFamily};
}

Hash NextChain(const Hash& prev, const Hash& leaf_hash) {
  return crypto::Sha256Parts({prev, leaf_hash});
}

Bytes EncodeCheckpoint(const CompactRange& frontier, const Hash& chain) {
  Bytes out = frontier.Serialize();
  out.insert(out.end(), chain.begin(), chain.end());
  return out;
}

Status DecodeCheckpoint(ByteView data, CompactRange* frontier, Hash* chain) {
  if (data.size() < kChainBytes) return Corruption("audit checkpoint is too short");
  NRM_ASSIGN_OR_RETURN(*frontier, CompactRange::Parse(data.first(data.size() - kChainBytes)));
  std::copy(data.end() - kChainBytes, data.end(), chain->begin());
  return Status::Ok();
}

AuditLog::AuditLog(const AuditColumnFamilies& cfs, crypto::SecretBytes secret, Bytes public_key,
                   State state)
    : cfs_(cfs),
      secret_(std::move(secret)),
      public_key_(std::move(public_key)),
      written_(state),
      pending_(std::move(state)) {}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                                 crypto::SecretBytes broker_sign_secret) {
  if (db == nullptr || cfs.records == nullptr || cfs.heads == nullptr || cfs.meta == nullptr) {
    return InvalidArgument("audit log: a database or column family handle is missing");
  }
  if (broker_sign_secret.size() != crypto::kSignSecretBytes) {
    return InvalidArgument("audit log: the broker signing key must be a 64-byte Ed25519 secret");
  }
  NRM_ASSIGN_OR_RETURN(Bytes public_key, crypto::SignPublicFromSecret(broker_sign_secret));

  // The broker's public key, so that `verify` can check heads without being given it.
  const rocksdb::ReadOptions read;
  std::string stored_key;
  rocksdb::Status s = db->Get(read, cfs.meta, kBrokerKeyKey, &stored_key);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions write;
    write.sync = true;
    NRM_RETURN_IF_ERROR(FromRocks(db->Put(write, cfs.meta, kBrokerKeyKey, ToSlice(public_key)),
                                  "audit log: storing the broker key"));
  } else if (!s.ok()) {
    return FromRocks(s, "audit log: reading the broker key");
  } else if (AsBytes(stored_key).size() != public_key.size() ||
             !std::equal(public_key.begin(), public_key.end(), AsBytes(stored_key).begin())) {
    return InvalidArgument("audit log was started with broker key " + ToHex(AsBytes(stored_key)) +
                           ", not " + ToHex(public_key) + "; key rotation is not supported");
  }

  State state;
  std::string checkpoint;
  s = db->Get(read, cfs.meta, kCheckpointKey, &checkpoint);
  if (s.ok()) {
    NRM_RETURN_IF_ERROR(DecodeCheckpoint(AsBytes(checkpoint), &state.frontier, &state.chain));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "audit log: reading the checkpoint");
  }

  // The checkpoint's last record must exist and end the chain it names.
  const uint64_t start = state.frontier.size();
  if (start > 0) {
    std::string last;
    s = db->Get(read, cfs.records, ToSlice(Be64Key(start - 1)), &last);
    if (s.IsNotFound()) {
      return Corruption("audit log: checkpoint covers " + std::to_string(start) +
                        " records but record " + std::to_string(start - 1) + " is missing");
    }
    NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading a record"));
    if (!ChainMatches(AsBytes(last), state.chain)) {
      return Corruption("audit log: record " + std::to_string(start - 1) +
                        " does not match the checkpoint");
    }
  }

  // Replay the records written after the checkpoint.
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, cfs.records));
  const Bytes start_key = Be64Key(start);
  for (it->Seek(ToSlice(start_key)); it->Valid(); it->Next()) {
    const uint64_t index = state.frontier.size();
    ByteView key = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (key.size() != 8 || GetBe64(key.data()) != index) {
      return Corruption("audit log: record " + std::to_string(index) + " is missing");
    }
    if (value.size() < kChainBytes) {
      return Corruption("audit log: record " + std::to_string(index) + " is truncated");
    }
    const Hash leaf = HashLeaf(value.subspan(kChainBytes));
    const Hash chain = NextChain(state.chain, leaf);
    if (!ChainMatches(value, chain)) {
      return Corruption("audit log: record " + std::to_string(index) + " breaks the chain");
    }
    state.frontier.Append(leaf);
    state.chain = chain;
    ++state.since_checkpoint;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "audit log: reading records"));

  // The latest signed head must be ours and agree with the records.
  std::unique_ptr<rocksdb::Iterator> heads(db->NewIterator(read, cfs.heads));
  heads->SeekToLast();
  if (heads->Valid()) {
    NRM_ASSIGN_OR_RETURN(SignedTreeHead head, DecodeTreeHead(FromSlice(heads->value())));
    const uint64_t size = state.frontier.size();
    if (head.size > size) {
      return Corruption("audit log: a signed head covers " + std::to_string(head.size) +
                        " records but only " + std::to_string(size) + " are stored");
    }
    if (head.size == size && head.root != state.frontier.Root()) {
      return Corruption("audit log: the records do not match the signed head at size " +
                        std::to_string(size));
    }
    if (Status v = VerifyTreeHead(head, public_key); !v.ok()) {
      return Corruption("audit log: " + v.message());
    }
  }
  NRM_RETURN_IF_ERROR(FromRocks(heads->status(), "audit log: reading tree heads"));

  return std::unique_ptr<AuditLog>(
      new AuditLog(cfs, std::move(broker_sign_secret), std::move(public_key), std::move(state)));
}

Status AuditLog::PutCheckpoint(rocksdb::WriteBatch* batch) {
  const Bytes value = EncodeCheckpoint(pending_.frontier, pending_.chain);
  NRM_RETURN_IF_ERROR(
      FromRocks(batch->Put(cfs_.meta, kCheckpointKey, ToSlice(value)), "audit checkpoint"));
  pending_.since_checkpoint = 0;
  return Status::Ok();
}

Status AuditLog::Append(const AuditRecord& record, rocksdb::WriteBatch* batch,
                        uint64_t* index_out) {
  NRM_ASSIGN_OR_RETURN(Bytes encoding, EncodeRecord(record));
  const uint64_t index = pending_.frontier.size();
  const Hash leaf = HashLeaf(encoding);
  const Hash chain = NextChain(pending_.chain, leaf);

  const Bytes key = Be64Key(index);
  const rocksdb::Slice key_slice = ToSlice(key);
  const rocksdb::Slice value_parts[2] = {ToSlice(chain), ToSlice(encoding)};
  NRM_RETURN_IF_ERROR(FromRocks(batch->Put(cfs_.records, rocksdb::SliceParts(&key_slice, 1),
                                           rocksdb::SliceParts(value_parts, 2)),
                                "audit record"));
  pending_.frontier.Append(leaf);
  pending_.chain = chain;
  if (++pending_.since_checkpoint >= kCheckpointInterval) {
    NRM_RETURN_IF_ERROR(PutCheckpoint(batch));
  }
  if (index_out != nullptr) *index_out = index;
  return Status::Ok();
}

Result<SignedTreeHead> AuditLog::SignHead(int64_t now_ms, rocksdb::WriteBatch* batch) {
  SignedTreeHead head = SignTreeHead(size(), Root(), now_ms, secret_);
  const Bytes key = Be64Key(head.size);
  const Bytes value = EncodeTreeHead(head);
  NRM_RETURN_IF_ERROR(
      FromRocks(batch->Put(cfs_.heads, ToSlice(key), ToSlice(value)), "audit tree head"));
  NRM_RETURN_IF_ERROR(PutCheckpoint(batch));
  return head;
}

}  // namespace nrm::audit
