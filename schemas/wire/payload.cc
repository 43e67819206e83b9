#include "schemas/wire/payload.h"

#include <algorithm>
#include <memory>

#include "flatbuffers/idl.h"

namespace nrm::wire {

extern const char* const kPayloadSchema;  // schemas/payload.fbs, compiled in by CMake

namespace {

Result<std::unique_ptr<flatbuffers::Parser>> SchemaParser() {
  flatbuffers::IDLOptions opts;
  opts.strict_json = true;
  opts.indent_step = 2;
  // Text as text: Thai, Khmer, Burmese, Lao, Vietnamese and Chinese names are printed as they
  // are, not as \u escapes (strings that are not valid UTF-8 are refused, not printed).
  opts.natural_utf8 = true;
  auto parser = std::make_unique<flatbuffers::Parser>(opts);
  if (!parser->Parse(kPayloadSchema)) return Internal("payload schema: " + parser->error_);
  return parser;
}

bool Keep(const std::vector<std::string>& keep, std::string_view name) {
  return std::find(keep.begin(), keep.end(), name) != keep.end();
}

}  // namespace

const std::vector<std::string_view>& PayloadSectionNames() {
  static const std::vector<std::string_view> kNames = {
      "case",          "person",       "context",     "needs",   "consent",
      "investigation", "repatriation", "counselling", "decision"};
  return kNames;
}

Result<Bytes> PayloadFromJson(std::string_view json) {
  NRM_ASSIGN_OR_RETURN(auto parser, SchemaParser());
  std::string text(json);  // the parser wants a NUL-terminated string
  if (!parser->Parse(text.c_str())) {
    // The parser's message reads "error: <line>: <col>: ...: unknown field: foo"; keep it whole.
    return InvalidArgument("case file does not match the payload schema: " + parser->error_);
  }
  const uint8_t* data = parser->builder_.GetBufferPointer();
  return Bytes(data, data + parser->builder_.GetSize());
}

Result<const nrm::payload::Payload*> VerifyPayload(ByteView payload) {
  flatbuffers::Verifier verifier(payload.data(), payload.size(), /*max_depth=*/16,
                                 /*max_tables=*/4096);
  if (payload.empty() || !nrm::payload::VerifyPayloadBuffer(verifier)) {
    return InvalidArgument("payload fails the FlatBuffers verifier");
  }
  return nrm::payload::GetPayload(payload.data());
}

Result<std::string> PayloadToJson(ByteView payload) {
  NRM_RETURN_IF_ERROR(VerifyPayload(payload).status());
  NRM_ASSIGN_OR_RETURN(auto parser, SchemaParser());
  std::string text;
  if (!flatbuffers::GenerateText(*parser, payload.data(), &text)) {
    return InvalidArgument("payload holds text that is not valid UTF-8");
  }
  return text;
}

std::vector<std::string> PresentSections(const nrm::payload::Payload& p) {
  const bool present[] = {
      p.case_() != nullptr,        p.person() != nullptr,      p.context() != nullptr,
      p.needs() != nullptr,        p.consent() != nullptr,     p.investigation() != nullptr,
      p.repatriation() != nullptr, p.counselling() != nullptr, p.decision() != nullptr};
  std::vector<std::string> out;
  for (size_t i = 0; i < PayloadSectionNames().size(); ++i) {
    if (present[i]) out.emplace_back(PayloadSectionNames()[i]);
  }
  return out;
}

Result<Bytes> KeepSections(ByteView payload, const std::vector<std::string>& keep) {
  NRM_ASSIGN_OR_RETURN(const nrm::payload::Payload* p, VerifyPayload(payload));
  nrm::payload::PayloadT t;
  p->UnPackTo(&t);
  if (!Keep(keep, "case")) t.case_.reset();
  if (!Keep(keep, "person")) t.person.reset();
  if (!Keep(keep, "context")) t.context.reset();
  if (!Keep(keep, "needs")) t.needs.reset();
  if (!Keep(keep, "consent")) t.consent.reset();
  if (!Keep(keep, "investigation")) t.investigation.reset();
  if (!Keep(keep, "repatriation")) t.repatriation.reset();
  if (!Keep(keep, "counselling")) t.counselling.reset();
  if (!Keep(keep, "decision")) t.decision.reset();
  flatbuffers::FlatBufferBuilder b(payload.size());
  b.Finish(nrm::payload::Payload::Pack(b, &t));
  return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace nrm::wire
