// Checkpoints: the broker's signed tree heads in the C2SP formats, so that tools and witnesses
// other than ours can check them (c2sp.org/tlog-checkpoint@v1.0.0 in a signed note,
// c2sp.org/signed-note@v1.0.0; cosignatures c2sp.org/tlog-cosignature@v1.0.1).
//
// The note text (the checkpoint body) is three lines:
//
//   nrm.th/audit/v1                                  the log's origin
//   1234                                             tree size, decimal
//   7Xk1...=                                         RFC 6962 root hash, base64
//
// The broker signs it with its Ed25519 signing key under the key name = the origin (type 0x01),
// and adds a timestamp: a tlog-cosignature/v1 (type 0x04) by the same key and name, whose time
// says when it signed. Any C2SP verifier configured with the log's vkey ignores that second line
// (another key ID); nrm's agents use it to refuse a checkpoint older than one they hold.
// Witnesses add their own type 0x04 cosignatures.
//
// Pure functions and value types; thread-compatible. REQUIRES: crypto::InitCrypto() succeeded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "audit/note.h"
#include "common/status.h"

namespace nrm::audit {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque extension lines; the broker writes none

  bool operator==(const Checkpoint&) const = default;
};

// A tree size as the C2SP formats write it: ASCII decimal, no leading zero (but "0"), at most
// 2^64 - 1; nullopt otherwise.
std::optional<uint64_t> ParseTreeSize(std::string_view text);

// The note text: origin, size and base64 root, each ending in "\n", then any extension lines.
std::string FormatCheckpoint(const Checkpoint& checkpoint);
// The inverse; strict: at least three non-empty lines, each ending in "\n"; a size in decimal
// without leading zeros that fits 64 bits; a root that is the canonical base64 of 32 bytes.
// kInvalidArgument naming the line otherwise. Never aborts.
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// An origin the broker may use: a valid key name (note::CheckKeyName: no space, no '+'), not
// "cosignature/v1" (so that no checkpoint text can read as a cosigned message), at most 255
// bytes of printable ASCII.
Status CheckOrigin(std::string_view origin);

// The origin a log takes when neither its configuration nor the directory names one: the
// broker id in lower case followed by "/audit/v1" ("GMS.BROKER" -> "gms.broker/audit/v1").
std::string DefaultOrigin(std::string_view broker_id);

// The log's keys for an origin and a 32-byte Ed25519 public key: the checkpoint key (type 0x01)
// and the timestamp key (type 0x04, same name and key).
Result<note::VerifierKey> LogVerifierKey(std::string_view origin, ByteView public_key);
note::VerifierKey LogTimestampKey(const note::VerifierKey& log_key);
// The log key a directory publishes for its broker: its log_vkey when it has one (it must hold
// `sign_key`), else the key of the default origin of `broker_id`. kInvalidArgument otherwise.
Result<note::VerifierKey> PublishedLogKey(std::string_view log_vkey, std::string_view broker_id,
                                          ByteView sign_key);

// The broker's checkpoint note: its Ed25519 signature and its timestamp signature at
// `time_ms` (rounded down to seconds). REQUIRES: CheckOrigin(checkpoint.origin) is OK, secret
// is 64 bytes, time_ms >= 0.
std::string SignCheckpoint(const Checkpoint& checkpoint, const crypto::SecretBytes& secret,
                           int64_t time_ms);

// What a checkpoint note established once VerifyCheckpointNote accepted it.
struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  note::Note note;                   // the note as parsed (every signature line, known or not)
  std::optional<uint64_t> log_time;  // the log's timestamp (POSIX seconds), when present
  // The witnesses (by index into the span given) whose cosignatures verified, with their times.
  std::vector<std::pair<size_t, uint64_t>> cosigned_by;
};

// Parses `note_text` and checks it: the body is a checkpoint of `log_key.name` (the origin), the
// log's Ed25519 signature verifies, and every signature line that names a known key (the log's
// timestamp key, a witness in `witnesses`) verifies. Lines of unknown keys are ignored.
// kInvalidArgument when malformed; kUnauthenticated when the log's signature is missing or
// wrong, a known key's signature does not verify, or the origin is not the log's.
// REQUIRES: log_key.type == kTypeEd25519; witnesses are type 0x04 keys.
Result<VerifiedCheckpoint> VerifyCheckpointNote(std::string_view note_text,
                                                const note::VerifierKey& log_key,
                                                std::span<const note::VerifierKey> witnesses = {});

// `note_text` with the signature lines of `extra` added after its own, each once (a line already
// present is not repeated). kInvalidArgument when either does not parse or the result would
// hold more than note::kMaxSignatures signatures.
Result<std::string> AddSignatures(std::string_view note_text,
                                  std::span<const note::Signature> extra);

}  // namespace nrm::audit
