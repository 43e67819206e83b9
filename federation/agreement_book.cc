#include "federation/agreement_book.h"

#include <algorithm>

namespace nrm::federation {

AgreementBook::AgreementBook(std::map<std::string, Bytes, std::less<>> authority_keys,
                             std::vector<Agreement> agreements)
    : keys_(std::move(authority_keys)) {
  for (Agreement& a : agreements) by_id_[a.terms().id].push_back(std::move(a));
  for (auto& [id, list] : by_id_) {
    std::stable_sort(list.begin(), list.end(), [](const Agreement& x, const Agreement& y) {
      return x.terms().version > y.terms().version;
    });
  }
}

bool AgreementBook::AnyValidSignature(const Agreement& a) const {
  for (const std::string& c : a.terms().countries) {
    auto key = keys_.find(c);
    if (key != keys_.end() && a.CheckSignature(c, key->second).ok()) return true;
  }
  return false;
}

const Agreement* AgreementBook::GoverningVersion(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second.empty()) return nullptr;
  for (const Agreement& a : it->second) {
    if (AnyValidSignature(a)) return &a;
  }
  return &it->second.front();  // nobody signed any version validly: it is refused for that
}

std::vector<const Agreement*> AgreementBook::Governing() const {
  std::vector<const Agreement*> out;
  for (const auto& [id, list] : by_id_) out.push_back(GoverningVersion(id));
  return out;
}

bool AgreementBook::AnyInForce(std::string_view a, std::string_view b, int64_t at_ms) const {
  for (const Agreement* x : Governing()) {
    const auto& c = x->terms().countries;
    const bool pair = (c[0] == a && c[1] == b) || (c[0] == b && c[1] == a);
    if (pair && x->CheckSignatures(keys_).ok() && x->CheckInForce(at_ms).ok()) return true;
  }
  return false;
}

Result<const Agreement*> AgreementBook::Decide(const CrossBorderQuery& q) const {
  std::string reasons;
  for (const Agreement* a : Governing()) {
    const auto& c = a->terms().countries;
    const bool pair = (c[0] == q.from_country && c[1] == q.to_country) ||
                      (c[1] == q.from_country && c[0] == q.to_country);
    if (!pair) continue;
    Status s = a->CheckSignatures(keys_);
    if (!s.ok()) {
      // A newer version that one side signed alone withdraws the older ones (see the header).
      for (const Agreement& older : by_id_.at(a->terms().id)) {
        if (older.terms().version < a->terms().version && older.CheckSignatures(keys_).ok()) {
          s = Status(s.code(), s.message() + "; it supersedes version " +
                                   std::to_string(older.terms().version) +
                                   ", which both signed: the route is closed until both sign "
                                   "the new version");
          break;
        }
      }
    }
    if (s.ok()) s = a->CheckInForce(q.at_ms);
    if (s.ok()) s = a->CheckCovers(q);
    if (s.ok()) return a;
    reasons += (reasons.empty() ? "" : "; ") + s.message();
  }
  if (reasons.empty()) {
    return PermissionDenied("no signed agreement between " + q.from_country + " and " +
                            q.to_country + " is installed");
  }
  return PermissionDenied(reasons);
}

}  // namespace nrm::federation
