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
    std::vector<Signatures>& checked = signatures_[id];
    for (const Agreement& a : list) {
      Signatures s;
      for (const std::string& c : a.terms().countries) {
        auto key = keys_.find(c);
        if (key != keys_.end() && a.CheckSignature(c, key->second).ok()) s.any_valid = true;
      }
      s.both = a.CheckSignatures(keys_);
      checked.push_back(std::move(s));
    }
    // The highest version anyone validly signed; when nobody signed any validly, the highest,
    // which is refused for that.
    size_t governing = 0;
    while (governing < list.size() && !checked[governing].any_valid) ++governing;
    governing_[id] = governing < list.size() ? governing : 0;
  }
}

std::vector<const Agreement*> AgreementBook::Governing() const {
  std::vector<const Agreement*> out;
  for (const auto& [id, list] : by_id_) out.push_back(&list[GoverningIndex(id)]);
  return out;
}

bool AgreementBook::AnyInForce(std::string_view a, std::string_view b, int64_t at_ms) const {
  for (const auto& [id, list] : by_id_) {
    const size_t g = GoverningIndex(id);
    const auto& c = list[g].terms().countries;
    const bool pair = (c[0] == a && c[1] == b) || (c[0] == b && c[1] == a);
    if (pair && signatures_.at(id)[g].both.ok() && list[g].CheckInForce(at_ms).ok()) return true;
  }
  return false;
}

Result<const Agreement*> AgreementBook::Decide(const CrossBorderQuery& q) const {
  std::string reasons;
  for (const auto& [id, list] : by_id_) {
    const size_t g = GoverningIndex(id);
    const Agreement* a = &list[g];
    const std::vector<Signatures>& checked = signatures_.at(id);
    const auto& c = a->terms().countries;
    const bool pair = (c[0] == q.from_country && c[1] == q.to_country) ||
                      (c[1] == q.from_country && c[0] == q.to_country);
    if (!pair) continue;
    Status s = checked[g].both;
    if (!s.ok()) {
      // A newer version that one side signed alone withdraws the older ones (see the header).
      for (size_t i = 0; i < list.size(); ++i) {
        const Agreement& older = list[i];
        if (older.terms().version < a->terms().version && checked[i].both.ok()) {
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
