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

bool SameBytes(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// What "audit_meta" holds under `key`, after storing `value` there (synced) if it held nothing.
Result<std::string> PinMeta(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta, const char* key,
                            ByteView value) {
  std::string stored;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, key, &stored);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions write;
    write.sync = true;
    NRM_RETURN_IF_ERROR(FromRocks(db->Put(write, meta, key, ToSlice(value)),
                                  std::string("audit log: storing ") + key));
    return std::string(AsChars(value));
  }
  NRM_RETURN_IF_ERROR(FromRocks(s, std::string("audit log: reading ") + key));
  return stored;
}

Status PutNodes(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* nodes,
                const std::vector<CompactRange::Node>& completed) {
  for (const CompactRange::Node& n : completed) {
    const Bytes key = NodeKey(n.level, n.index);
    NRM_RETURN_IF_ERROR(
        FromRocks(batch->Put(nodes, ToSlice(key), ToSlice(n.hash)), "audit tree node"));
  }
  return Status::Ok();
}

// Writes the nodes of every record of a log begun before "audit_nodes" existed, then marks the
// nodes complete. One pass over the records, in synced batches of 4096 records.
Status BackfillNodes(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  std::string marker;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs.meta, kNodesKey, &marker);
  if (s.ok()) return Status::Ok();
  if (!s.IsNotFound()) return FromRocks(s, "audit log: reading the nodes marker");
  rocksdb::WriteOptions write;
  write.sync = true;
  CompactRange tree;
  std::vector<CompactRange::Node> completed;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ByteView key = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (key.size() != 8 || GetBe64(key.data()) != tree.size() || value.size() < kChainBytes) {
      return Corruption("audit log: record " + std::to_string(tree.size()) +
                        " is missing or malformed; run verify");
    }
    completed.clear();
    tree.Append(HashLeaf(value.subspan(kChainBytes)), &completed);
    NRM_RETURN_IF_ERROR(PutNodes(&batch, cfs.nodes, completed));
    if (tree.size() % 4096 == 0) {
      NRM_RETURN_IF_ERROR(FromRocks(db->Write(write, &batch), "audit log: writing nodes"));
      batch.Clear();
    }
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "audit log: reading records"));
  NRM_RETURN_IF_ERROR(FromRocks(batch.Put(cfs.meta, kNodesKey, "complete"), "nodes marker"));
  return FromRocks(db->Write(write, &batch), "audit log: writing nodes");
}

}  // namespace

std::vector<std::string> AuditColumnFamilyNames() {
  return {kRecordsColumnFamily, kHeadsColumnFamily, kMetaColumnFamily, kNodesColumnFamily};
}

Hash NextChain(const Hash& prev, const Hash& leaf_hash) {
  return crypto::Sha256Parts({prev, leaf_hash});
}

Bytes EncodeFrontier(const CompactRange& frontier, const Hash& chain) {
  Bytes out = frontier.Serialize();
  out.insert(out.end(), chain.begin(), chain.end());
  return out;
}

Status DecodeFrontier(ByteView data, CompactRange* frontier, Hash* chain) {
  if (data.size() < kChainBytes) return Corruption("audit frontier is too short");
  NRM_ASSIGN_OR_RETURN(*frontier, CompactRange::Parse(data.first(data.size() - kChainBytes)));
  std::copy(data.end() - kChainBytes, data.end(), chain->begin());
  return Status::Ok();
}

Bytes NodeKey(uint8_t level, uint64_t index) {
  Bytes key{level};
  PutBe64(&key, index);
  return key;
}

Result<StoredHead> DecodeStoredHead(ByteView value) {
  StoredHead head;
  // A legacy head starts with its be64 size (a zero byte for any real size); a note never holds
  // a control character.
  if (value.size() == kStoredTreeHeadBytes && value[0] == 0) {
    NRM_ASSIGN_OR_RETURN(head.legacy, DecodeTreeHead(value));
    head.size = head.legacy->size;
    head.root = head.legacy->root;
    return head;
  }
  Result<note::Note> n = note::ParseNote(AsChars(value));
  if (!n) return Corruption("a stored checkpoint does not parse: " + n.status().message());
  Result<Checkpoint> c = ParseCheckpoint(n->text);
  if (!c) return Corruption("a stored checkpoint does not parse: " + c.status().message());
  head.size = c->size;
  head.root = c->root;
  head.note = std::string(AsChars(value));
  return head;
}

Result<std::optional<VerifiedCheckpoint>> VerifyStoredHead(
    const StoredHead& head, const note::VerifierKey& log_key,
    std::span<const note::VerifierKey> witnesses) {
  if (head.legacy) {
    NRM_RETURN_IF_ERROR(VerifyTreeHead(*head.legacy, log_key.public_key));
    return std::optional<VerifiedCheckpoint>();
  }
  NRM_ASSIGN_OR_RETURN(VerifiedCheckpoint v, VerifyCheckpointNote(head.note, log_key, witnesses));
  return std::optional<VerifiedCheckpoint>(std::move(v));
}

AuditLog::AuditLog(const AuditColumnFamilies& cfs, crypto::SecretBytes secret, Bytes public_key,
                   note::VerifierKey log_key, State state)
    : cfs_(cfs),
      secret_(std::move(secret)),
      public_key_(std::move(public_key)),
      log_key_(std::move(log_key)),
      written_(state),
      pending_(std::move(state)) {}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                                 crypto::SecretBytes broker_sign_secret,
                                                 std::string_view origin) {
  if (db == nullptr || cfs.records == nullptr || cfs.heads == nullptr || cfs.meta == nullptr ||
      cfs.nodes == nullptr) {
    return InvalidArgument("audit log: a database or column family handle is missing");
  }
  if (broker_sign_secret.size() != crypto::kSignSecretBytes) {
    return InvalidArgument("audit log: the broker signing key must be a 64-byte Ed25519 secret");
  }
  NRM_ASSIGN_OR_RETURN(Bytes public_key, crypto::SignPublicFromSecret(broker_sign_secret));
  NRM_ASSIGN_OR_RETURN(note::VerifierKey log_key, LogVerifierKey(origin, public_key));

  // The broker's public key and the origin, so that `verify` can check heads without them.
  NRM_ASSIGN_OR_RETURN(std::string stored_key, PinMeta(db, cfs.meta, kBrokerKeyKey, public_key));
  if (!SameBytes(AsBytes(stored_key), public_key)) {
    return InvalidArgument("audit log was started with broker key " + ToHex(AsBytes(stored_key)) +
                           ", not " + ToHex(public_key) + "; key rotation is not supported");
  }
  NRM_ASSIGN_OR_RETURN(std::string stored_origin,
                       PinMeta(db, cfs.meta, kOriginKey, AsBytes(origin)));
  if (stored_origin != origin) {
    return InvalidArgument("audit log has origin \"" + stored_origin + "\", not \"" +
                           std::string(origin) + "\"; a log's origin never changes");
  }
  NRM_RETURN_IF_ERROR(BackfillNodes(db, cfs));

  const rocksdb::ReadOptions read;
  State state;
  std::string frontier;
  rocksdb::Status s = db->Get(read, cfs.meta, kFrontierKey, &frontier);
  if (s.ok()) {
    NRM_RETURN_IF_ERROR(DecodeFrontier(AsBytes(frontier), &state.frontier, &state.chain));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "audit log: reading the frontier");
  }

  // The frontier's last record must exist and end the chain it names.
  const uint64_t start = state.frontier.size();
  if (start > 0) {
    std::string last;
    s = db->Get(read, cfs.records, ToSlice(Be64Key(start - 1)), &last);
    if (s.IsNotFound()) {
      return Corruption("audit log: the frontier covers " + std::to_string(start) +
                        " records but record " + std::to_string(start - 1) + " is missing");
    }
    NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading a record"));
    if (!ChainMatches(AsBytes(last), state.chain)) {
      return Corruption("audit log: record " + std::to_string(start - 1) +
                        " does not match the frontier");
    }
  }

  // Replay the records written after the frontier. Their nodes went into the same batches.
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
    ++state.since_frontier;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "audit log: reading records"));

  // The latest signed head must be ours and agree with the records.
  std::unique_ptr<rocksdb::Iterator> heads(db->NewIterator(read, cfs.heads));
  heads->SeekToLast();
  if (heads->Valid()) {
    NRM_ASSIGN_OR_RETURN(StoredHead head, DecodeStoredHead(FromSlice(heads->value())));
    const uint64_t size = state.frontier.size();
    if (head.size > size) {
      return Corruption("audit log: a signed head covers " + std::to_string(head.size) +
                        " records but only " + std::to_string(size) + " are stored");
    }
    if (head.size == size && head.root != state.frontier.Root()) {
      return Corruption("audit log: the records do not match the signed head at size " +
                        std::to_string(size));
    }
    if (Result<std::optional<VerifiedCheckpoint>> v = VerifyStoredHead(head, log_key); !v) {
      return Corruption("audit log: the head at size " + std::to_string(head.size) +
                        " does not verify: " + v.status().message());
    }
  }
  NRM_RETURN_IF_ERROR(FromRocks(heads->status(), "audit log: reading tree heads"));

  return std::unique_ptr<AuditLog>(new AuditLog(cfs, std::move(broker_sign_secret),
                                                std::move(public_key), std::move(log_key),
                                                std::move(state)));
}

Status AuditLog::PutFrontier(rocksdb::WriteBatch* batch) {
  const Bytes value = EncodeFrontier(pending_.frontier, pending_.chain);
  NRM_RETURN_IF_ERROR(
      FromRocks(batch->Put(cfs_.meta, kFrontierKey, ToSlice(value)), "audit frontier"));
  pending_.since_frontier = 0;
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
  nodes_.clear();
  pending_.frontier.Append(leaf, &nodes_);
  NRM_RETURN_IF_ERROR(PutNodes(batch, cfs_.nodes, nodes_));
  pending_.chain = chain;
  if (++pending_.since_frontier >= kFrontierInterval) {
    NRM_RETURN_IF_ERROR(PutFrontier(batch));
  }
  if (index_out != nullptr) *index_out = index;
  return Status::Ok();
}

Result<SignedCheckpoint> AuditLog::SignHead(int64_t now_ms, rocksdb::WriteBatch* batch) {
  SignedCheckpoint out{size(), Root(), now_ms, {}};
  out.note = SignCheckpoint(Checkpoint{log_key_.name, out.size, out.root, {}}, secret_, now_ms);
  const Bytes key = Be64Key(out.size);
  NRM_RETURN_IF_ERROR(
      FromRocks(batch->Put(cfs_.heads, ToSlice(key), out.note), "audit checkpoint"));
  NRM_RETURN_IF_ERROR(PutFrontier(batch));
  return out;
}

// ------------------------------------------------------------------------------ StoredTree

Result<Hash> StoredTree::Node(uint8_t level, uint64_t index) const {
  std::string value;
  if (level == 0) {
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cfs_.records, ToSlice(Be64Key(index)), &value);
    if (s.IsNotFound() || (s.ok() && value.size() < kChainBytes)) {
      return Corruption("audit log: record " + std::to_string(index) + " is missing");
    }
    NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading a record"));
    return HashLeaf(AsBytes(value).subspan(kChainBytes));
  }
  const Bytes key = NodeKey(level, index);
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_.nodes, ToSlice(key), &value);
  if (s.IsNotFound() || (s.ok() && value.size() != crypto::kHashBytes)) {
    return Corruption("audit log: tree node " + std::to_string(level) + "/" +
                      std::to_string(index) + " is missing");
  }
  NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading a tree node"));
  Hash h;
  std::copy(value.begin(), value.end(), h.begin());
  return h;
}

Result<Hash> StoredTree::RangeRoot(uint64_t begin, uint64_t end) const {
  if (begin >= end) return EmptyRoot();
  // The perfect subtrees that make up [begin, end), largest first; the MTH folds them from the
  // right (as CompactRange::Root does).
  std::vector<Hash> parts;
  for (uint64_t at = begin; at < end;) {
    uint8_t level = 0;
    while (level < 63 && (at & ((uint64_t{2} << level) - 1)) == 0 &&
           at + (uint64_t{2} << level) <= end) {
      ++level;
    }
    NRM_ASSIGN_OR_RETURN(Hash h, Node(level, at >> level));
    parts.push_back(h);
    at += uint64_t{1} << level;
  }
  Hash root = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) root = HashChildren(parts[i], root);
  return root;
}

Result<std::vector<Hash>> StoredTree::Roots(const std::vector<LeafRange>& ranges) const {
  std::vector<Hash> out;
  out.reserve(ranges.size());
  for (const LeafRange& r : ranges) {
    NRM_ASSIGN_OR_RETURN(Hash h, RangeRoot(r.begin, r.end));
    out.push_back(h);
  }
  return out;
}

Result<Hash> StoredTree::RootAt(uint64_t size) const { return RangeRoot(0, size); }

Result<std::vector<Hash>> StoredTree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges, ConsistencyProofRanges(old_size, new_size));
  return Roots(ranges);
}

Result<std::vector<Hash>> StoredTree::InclusionProof(uint64_t index, uint64_t size) const {
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges, InclusionProofRanges(index, size));
  return Roots(ranges);
}

Result<StoredHead> StoredTree::HeadAt(uint64_t size) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_.heads, ToSlice(Be64Key(size)), &value);
  if (s.IsNotFound()) return NotFound("no checkpoint of size " + std::to_string(size));
  NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading a checkpoint"));
  NRM_ASSIGN_OR_RETURN(StoredHead head, DecodeStoredHead(AsBytes(value)));
  if (head.legacy) return NotFound("the head of size " + std::to_string(size) + " is legacy");
  return head;
}

Result<StoredHead> StoredTree::LatestHead() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_.heads));
  it->SeekToLast();
  if (!it->Valid()) {
    NRM_RETURN_IF_ERROR(FromRocks(it->status(), "audit log: reading checkpoints"));
    return NotFound("the audit log has no checkpoint yet");
  }
  NRM_ASSIGN_OR_RETURN(StoredHead head, DecodeStoredHead(FromSlice(it->value())));
  if (head.legacy) return NotFound("the audit log has no checkpoint yet (only legacy heads)");
  return head;
}

Result<StoredHead> StoredTree::LatestCosignedHead() const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_.meta, kCosignedKey, &value);
  if (s.IsNotFound()) return LatestHead();
  NRM_RETURN_IF_ERROR(FromRocks(s, "audit log: reading the cosigned size"));
  if (value.size() != 8) return Corruption("audit log: the cosigned size is malformed");
  return HeadAt(GetBe64(AsBytes(value).data()));
}

Status StoredTree::AddCosignatures(uint64_t size,
                                   std::span<const note::Signature> cosignatures) const {
  NRM_ASSIGN_OR_RETURN(StoredHead head, HeadAt(size));
  NRM_ASSIGN_OR_RETURN(std::string note, AddSignatures(head.note, cosignatures));
  rocksdb::WriteBatch batch;
  const Bytes key = Be64Key(size);
  NRM_RETURN_IF_ERROR(FromRocks(batch.Put(cfs_.heads, ToSlice(key), note), "checkpoint"));
  NRM_RETURN_IF_ERROR(FromRocks(batch.Put(cfs_.meta, kCosignedKey, ToSlice(key)), "cosigned"));
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "audit log: adding cosignatures");
}

}  // namespace nrm::audit
