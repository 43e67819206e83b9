#include "agent/refusal.h"

#include "common/clock.h"

namespace nrm::agent {

Phrase PolicyReason(const policy::Decision& d) {
  if (d.reason_words.empty()) return {};
  Phrase p{d.reason_words, {}};
  for (const policy::ReasonValue& v : d.reason_values) {
    using K = policy::ReasonValue::Kind;
    // Roles and kinds have words in the web inbox; a country stays its code, as the policy
    // writes it.
    const bool words = v.kind == K::kRole || v.kind == K::kKind;
    p.args.push_back({words ? MessageArg::Kind::kValue : MessageArg::Kind::kAsIs, v.text});
  }
  return p;
}

Phrase BrokerRefusal(const Agent& agent, const MessageRecord& m, const std::string& code,
                     const std::string& reason) {
  MessageArg why = AsIs(reason);
  const identity::Agency* self = agent.directory().Find(agent.agency());
  for (const std::string& id : m.to) {
    const identity::Agency* to = agent.directory().Find(id);
    if (code != "permission_denied" || self == nullptr || to == nullptr) break;
    const policy::Decision d = agent.policy().Route({{self->id, self->role, self->country},
                                                     {to->id, to->role, to->country},
                                                     m.kind,
                                                     FormatTimeUtc(m.created_at_ms).substr(0, 10)});
    if (d.allowed || d.reason_words.empty()) continue;
    // The broker's words (broker/admission.cc): the same policy, the same route, the same reason.
    const Phrase quoted = Say(
        "policy %1 refuses %2 -> %3: %4",
        {AsIs(d.policy_hash.substr(0, 12)), AsIs(self->id), AsIs(to->id), Nested(PolicyReason(d))});
    if (English(quoted) == reason) {
      why = Nested(quoted);
      break;
    }
  }
  return RefusedByTheBroker(code, std::move(why));
}

Phrase RefusedByTheBroker(const std::string& code, MessageArg why) {
  // One msgid per code (xgettext reads each), each English as the generic one.
  if (code == "permission_denied")
    return Say("refused by the broker: permission_denied: %1", {why});
  if (code == "invalid_argument") return Say("refused by the broker: invalid_argument: %1", {why});
  if (code == "not_found") return Say("refused by the broker: not_found: %1", {why});
  if (code == "unauthenticated") return Say("refused by the broker: unauthenticated: %1", {why});
  if (code == "already_exists") return Say("refused by the broker: already_exists: %1", {why});
  if (code == "unavailable") return Say("refused by the broker: unavailable: %1", {why});
  if (code == "resource_exhausted") {
    return Say("refused by the broker: resource_exhausted: %1", {why});
  }
  if (code == "internal") return Say("refused by the broker: internal: %1", {why});
  return Say("refused by the broker: %1: %2", {AsIs(code), std::move(why)});
}

Phrase SendAgainLater(const std::string& code, const std::string& reason) {
  if (code == "resource_exhausted") {
    return Say("the broker asked to send it again later (resource_exhausted: %1)", {AsIs(reason)});
  }
  if (code == "unavailable") {
    return Say("the broker asked to send it again later (unavailable: %1)", {AsIs(reason)});
  }
  return Say("the broker asked to send it again later (%1: %2)", {AsIs(code), AsIs(reason)});
}

Phrase WhatToDo(const std::string& code) {
  if (code == "permission_denied") {
    return Say(
        "the need-to-know policy or the H2 rule does not allow this step to this agency: "
        "choose another agency, or ask the authority");
  }
  if (code == "not_found") {
    return Say(
        "the broker's directory does not know a recipient: check the id, or wait until the "
        "broker loads the directory that names it, then take the step again");
  }
  if (code == "unauthenticated") {
    return Say(
        "the broker does not accept this agency's signature: ask the authority whether the "
        "directory holds this agency's current keys");
  }
  return Say("take the step again; if it is refused again, tell the broker's operator");
}

Phrase RefusedDelivery(const std::string& id_hex, const Status& why, const Phrase& words) {
  const bool own = !words.empty() && English(words) == why.message();
  return Say("refused delivery %1: %2", {AsIs(id_hex), own ? Nested(words) : AsIs(why.message())});
}

Phrase MayNotHold(const std::string& section, const std::string& role) {
  return Say("payload holds the %1 section, which a %2 may not hold (need-to-know policy)",
             {AsIs(section), {MessageArg::Kind::kValue, role}});
}

Phrase RefusedHere(const MessageRecord& m) {
  const bool own = !m.detail_phrase.empty() && English(m.detail_phrase) == m.detail;
  return Say("REFUSED here: %1", {own ? Nested(m.detail_phrase) : AsIs(m.detail)});
}

Phrase NotAppliedHere(const Status& why) {
  return Say("not applied here: %1", {AsIs(why.message())});
}

Phrase HeldForEarlier(const std::string& previous) {
  return Say("held: waiting for the earlier step %1", {AsIs(previous)});
}

Phrase RelayedTo(const std::string& country, const std::string& receipt) {
  return Say("relayed to %1 broker, receipt %2", {AsIs(country), AsIs(receipt)});
}

Phrase BrokerReceipt(uint64_t leaf) {
  return Say("audit leaf %1, in a checkpoint signed by the broker and verified",
             {AsIs(std::to_string(leaf))});
}

}  // namespace nrm::agent
