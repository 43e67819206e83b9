#include "audit/stored_log.h"

#include <algorithm>
#include <utility>

namespace nrm::audit::stored {

namespace {

Status OpenError(const std::string& path, const rocksdb::Status& s) {
  std::string message = "cannot open the audit log at " + path + ": " + s.ToString();
  return s.IsCorruption() ? Corruption(std::move(message)) : IOError(std::move(message));
}

}  // namespace

Result<std::unique_ptr<ReadOnlyLog>> ReadOnlyLog::Open(const std::string& path) {
  // A log begun before "audit_nodes" existed has no such column family: open what there is.
  std::vector<std::string> existing;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &existing);
  if (!s.ok()) return OpenError(path, s);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, {}}};
  for (const std::string& name : AuditColumnFamilyNames()) {
    if (std::find(existing.begin(), existing.end(), name) != existing.end()) {
      descriptors.push_back({name, {}});
    }
  }
  auto log = std::unique_ptr<ReadOnlyLog>(new ReadOnlyLog());
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &log->handles_, &db);
  if (!s.ok()) return OpenError(path, s);
  log->db_.reset(db);
  log->cfs_ = AuditColumnFamilies::From([&](const std::string& name) {
    for (size_t i = 0; i < descriptors.size(); ++i) {
      if (descriptors[i].name == name) return log->handles_[i];
    }
    return static_cast<rocksdb::ColumnFamilyHandle*>(nullptr);
  });
  if (log->cfs_.records == nullptr || log->cfs_.heads == nullptr || log->cfs_.meta == nullptr) {
    return NotFound("no audit log at " + path);
  }
  return log;
}

ReadOnlyLog::~ReadOnlyLog() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (db_) (void)db_->DestroyColumnFamilyHandle(h);
  }
}

Result<StoredHead> LatestStoredHead(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.heads));
  it->SeekToLast();
  if (!it->Valid()) {
    NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading tree heads"));
    return NotFound("the audit log has no signed tree head yet");
  }
  return DecodeStoredHead(FromSlice(it->value()));
}

Result<StoredHead> CheckpointForProof(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                      uint64_t at_size) {
  StoredHead head;
  if (at_size == 0) {
    NRM_ASSIGN_OR_RETURN(head, LatestStoredHead(db, cfs));
  } else {
    std::string value;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), cfs.heads, ToSlice(Be64Key(at_size)), &value);
    if (s.IsNotFound()) {
      return NotFound("the log has no checkpoint of size " + std::to_string(at_size));
    }
    NRM_RETURN_IF_ERROR(FromRocks(s, "reading a checkpoint"));
    NRM_ASSIGN_OR_RETURN(head, DecodeStoredHead(AsBytes(value)));
  }
  if (head.legacy) {
    return NotFound("the head of size " + std::to_string(head.size) +
                    " predates checkpoints; a broker of this version signs one at its next start");
  }
  return head;
}

Result<std::string> StoredMeta(rocksdb::DB* db, const AuditColumnFamilies& cfs, const char* key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs.meta, key, &value);
  if (s.IsNotFound()) return NotFound(std::string("the audit log stores no ") + key);
  NRM_RETURN_IF_ERROR(FromRocks(s, std::string("reading ") + key));
  return value;
}

std::vector<note::VerifierKey> StoredWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  std::vector<note::VerifierKey> out;
  Result<std::string> text = StoredMeta(db, cfs, kWitnessesKey);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (Result<note::VerifierKey> k = note::ParseVerifierKey(rest.substr(0, nl)); k) {
      out.push_back(std::move(*k));
    }
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return out;
}

Result<Bytes> StoredBrokerKey(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  NRM_ASSIGN_OR_RETURN(std::string key, StoredMeta(db, cfs, kBrokerKeyKey));
  return ToBytes(key);
}

}  // namespace nrm::audit::stored
