#include "agent/case_data.h"

#include <algorithm>
#include <cctype>

#include "agent/command.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

// Lower-case ASCII, one space between words; other bytes (Thai, Khmer...) as they are.
std::string Fold(const std::string& s, bool drop_separators) {
  std::string out;
  for (char c : s) {
    const bool separator = c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/';
    if (separator) {
      if (!drop_separators && !out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::vector<std::string> PersonKeys(ByteView payload) {
  std::vector<std::string> keys;
  Result<const payload::Payload*> p = wire::VerifyPayload(payload);
  if (!p.ok() || (*p)->person() == nullptr) return keys;
  const payload::PersonSection& person = *(*p)->person();
  auto text = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  const std::string name =
      Fold(text(person.first_name()) + " " + text(person.second_name()), false);
  const std::string born = text(person.birth_date());
  if (!name.empty() && !born.empty()) keys.push_back("name:" + name + "|" + born);
  const std::string doc = Fold(text(person.identity_number()), true);
  if (!doc.empty()) keys.push_back("doc:" + doc);
  return keys;
}

Status NoteCaseData(CaseRecord& c, ByteView payload) {
  NRM_ASSIGN_OR_RETURN(const payload::Payload* in, wire::VerifyPayload(payload));
  payload::PayloadT t, fresh;
  if (!c.payload.empty()) {
    NRM_ASSIGN_OR_RETURN(const payload::Payload* known, wire::VerifyPayload(c.payload));
    known->UnPackTo(&t);
  }
  in->UnPackTo(&fresh);
  bool changed = false;
  auto take = [&](auto& into, auto& from) {
    if (from) {
      into = std::move(from);
      changed = true;
    }
  };
  take(t.case_, fresh.case_);
  take(t.person, fresh.person);
  take(t.context, fresh.context);
  take(t.needs, fresh.needs);
  take(t.consent, fresh.consent);
  take(t.investigation, fresh.investigation);
  take(t.repatriation, fresh.repatriation);
  take(t.counselling, fresh.counselling);
  if (!changed) return Status::Ok();
  flatbuffers::FlatBufferBuilder b;
  b.Finish(payload::Payload::Pack(b, &t));
  c.payload.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  c.person_keys = PersonKeys(c.payload);
  return Status::Ok();
}

Result<std::vector<CaseRecord>> SamePerson(AgentStore& store, ByteView payload,
                                           const std::string& except) {
  const std::vector<std::string> keys = PersonKeys(payload);
  std::vector<CaseRecord> out;
  if (keys.empty()) return out;
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> all, store.Cases());
  for (CaseRecord& c : all) {
    if (c.ref == except || c.state == "done") continue;
    const bool same = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
      return std::find(c.person_keys.begin(), c.person_keys.end(), k) != c.person_keys.end();
    });
    if (same) out.push_back(std::move(c));
  }
  return out;
}

Status CheckLabelFree(AgentStore& store, const std::string& label, const std::string& ref) {
  if (label.empty()) return Status::Ok();
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> all, store.Cases());
  for (const CaseRecord& c : all) {
    if (c.label == label && c.ref != ref) {
      return AlreadyExists("the label " + label + " is already case " + c.ref +
                           "; labels are unique here: choose another, or relabel that case");
    }
  }
  return Status::Ok();
}

}  // namespace nrm::agent
