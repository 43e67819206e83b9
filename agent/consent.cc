#include "agent/consent.h"

#include <algorithm>

#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> Strings(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (v != nullptr) {
    for (const auto* s : *v) out.emplace_back(s->str());
  }
  return out;
}

std::string Str(const flatbuffers::String* s) { return s == nullptr ? "" : s->str(); }

}  // namespace

bool IsPersonalSection(const std::string& section) {
  return section != "case" && section != "consent" && section != "decision";
}

std::optional<ConsentRecord> ConsentOf(ByteView payload) {
  Result<const payload::Payload*> p = wire::VerifyPayload(payload);
  if (!p.ok() || (*p)->consent() == nullptr) return std::nullopt;
  const payload::ConsentSection& c = *(*p)->consent();
  ConsentRecord r;
  r.share_sections = Strings(c.share_sections());
  r.share_with_roles = Strings(c.share_with_roles());
  r.share_with_agencies = Strings(c.share_with_agencies());
  r.purpose = Str(c.purpose());
  r.date = Str(c.date());
  r.recorded_by = Str(c.recorded_by());
  return r;
}

Phrase ConsentProblem(const std::optional<ConsentRecord>& consent,
                      const std::vector<std::string>& sections, const std::string& agency,
                      const std::string& role) {
  for (const std::string& section : sections) {
    if (!IsPersonalSection(section)) continue;
    // %1 the section, %2 the agency, %3 its role; the words are msgids of the web inbox
    // (po/update.sh finds them by Say).
    std::vector<MessageArg> args = {
        {MessageArg::Kind::kValue, section}, AsIs(agency), {MessageArg::Kind::kValue, role}};
    if (!consent) {
      return Say(
          "no consent is recorded for this case, so the %1 section to %2 (%3) may not be sent; "
          "add a consent section to the case file, or give --override REASON where the law "
          "allows it",
          std::move(args));
    }
    if (consent->revoked) {
      args.push_back(AsIs(consent->revoked_reason));
      return Say(
          "the person withdrew consent (%4), so the %1 section to %2 (%3) may not be sent; give "
          "--override REASON where the law allows it",
          std::move(args));
    }
    if (!Has(consent->share_with_roles, role) && !Has(consent->share_with_agencies, agency)) {
      return Say(
          "the person's consent does not cover sharing with %2 (%3), so the %1 section to %2 "
          "(%3) may not be sent; give --override REASON where the law allows it",
          std::move(args));
    }
    if (!Has(consent->share_sections, section)) {
      return Say(
          "the person's consent does not cover the %1 section, so the %1 section to %2 (%3) may "
          "not be sent; give --override REASON where the law allows it",
          std::move(args));
    }
  }
  return {};
}

Status CheckConsent(const std::optional<ConsentRecord>& consent,
                    const std::vector<std::string>& sections, const std::string& agency,
                    const std::string& role) {
  const Phrase problem = ConsentProblem(consent, sections, agency, role);
  return problem.empty() ? Status::Ok() : PermissionDenied(English(problem));
}

Result<Bytes> WithConsent(ByteView payload, const ConsentRecord& consent,
                          const std::string& override_reason) {
  NRM_ASSIGN_OR_RETURN(const payload::Payload* p, wire::VerifyPayload(payload));
  payload::PayloadT t;
  p->UnPackTo(&t);
  t.consent = std::make_unique<payload::ConsentSectionT>();
  t.consent->share_sections = consent.share_sections;
  t.consent->share_with_roles = consent.share_with_roles;
  t.consent->share_with_agencies = consent.share_with_agencies;
  t.consent->purpose = consent.purpose;
  t.consent->date = consent.date;
  t.consent->recorded_by = consent.recorded_by;
  t.consent->override_reason = override_reason;
  flatbuffers::FlatBufferBuilder b;
  b.Finish(payload::Payload::Pack(b, &t));
  return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace nrm::agent
