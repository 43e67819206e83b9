// The sealed payload (schemas/payload.fbs): JSON in and out for people and integrations,
// verification before any read, and the section list the need-to-know policy works on.
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "schemas/payload_generated.h"

namespace nrm::wire {

// The payload section names, in schema order: case, person, context, needs, consent,
// investigation, repatriation, counselling, decision.
const std::vector<std::string_view>& PayloadSectionNames();

// Builds a payload from its JSON form, checked against the schema. kInvalidArgument naming the
// line and the field when a field is unknown or has the wrong type.
Result<Bytes> PayloadFromJson(std::string_view json);

// The payload after the FlatBuffers Verifier passed; kInvalidArgument otherwise.
Result<const nrm::payload::Payload*> VerifyPayload(ByteView payload);

// The JSON form of a verified payload (pretty-printed), its text in UTF-8 as it is (no \u
// escapes); kInvalidArgument when a string is not valid UTF-8.
Result<std::string> PayloadToJson(ByteView payload);

// The names of the sections present in a verified payload.
std::vector<std::string> PresentSections(const nrm::payload::Payload& payload);

// A copy of `payload` holding only the sections in `keep` (field minimisation).
Result<Bytes> KeepSections(ByteView payload, const std::vector<std::string>& keep);

}  // namespace nrm::wire
