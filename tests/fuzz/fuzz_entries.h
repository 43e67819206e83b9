// The entry points of the libFuzzer targets, shared with fuzz_replay_test so that every seed of
// every corpus also runs as a plain test in CI (no libFuzzer needed). Each function takes
// arbitrary bytes, must never abort on them, and traps (__builtin_trap) only when one of our
// own invariants breaks (e.g. a payload that verified once fails to verify after KeepSections).
// Thread-compatible: the entries share lazily made, immutable keys.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nrm::fuzz {

// wire::DecodeEnvelope on the bytes, then every accessor and VerifySignature.
void FuzzEnvelope(const uint8_t* data, size_t size);
// wire::VerifyPayload, PayloadToJson (and back through PayloadFromJson), PresentSections and
// KeepSections on the bytes.
void FuzzPayload(const uint8_t* data, size_t size);
// identity::Directory::Parse on the bytes as a whole signed file, and on the bytes as a body
// carrying a valid signature (so that the TOML and field checks are reached).
void FuzzDirectory(const uint8_t* data, size_t size);
// wire::PayloadFromJson on the bytes; what parses must verify and print.
void FuzzPayloadJson(const uint8_t* data, size_t size);
// agent::ImportHtcds on the bytes (the HTCDS importer of `nrm-agent import`); what imports
// without error must build a payload that verifies, and export again.
void FuzzHtcdsJson(const uint8_t* data, size_t size);
// policy::Policy::Parse and Lint, then Route (tests/fuzz/policy_fuzz.cc).
void FuzzPolicy(const uint8_t* data, size_t size);
// audit::CheckProof on the bytes as a proof file, and again with its checkpoint (or v1 tree
// head) re-signed by a key the entry holds (so that the inclusion and consistency checks are
// reached).
void FuzzAuditProof(const uint8_t* data, size_t size);
// audit::note::ParseNote and OpenNote, audit::ParseCheckpoint (on the bytes, and on a note's
// text), VerifyCheckpointNote once the checkpoint is re-signed by a key the entry holds, and a
// witness's add-checkpoint request parser. What parses must format back to the same bytes.
void FuzzNote(const uint8_t* data, size_t size);

}  // namespace nrm::fuzz
