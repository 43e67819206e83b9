// The agreements a broker holds, and the decision whether they let one message cross a border.
// Pure logic: the caller loads the files and supplies the anchors' authority keys and the time.
//
// For each agreement id only the highest version that carries at least one valid signature
// counts: so either authority withdraws an agreement alone, by signing a newer version (any text)
// that the other has not signed, and a document nobody validly signed withdraws nothing.
// Immutable after construction, so every signature is verified once, there: a broker asks for
// each message. Const methods are thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "federation/agreement.h"

namespace nrm::federation {

class AgreementBook {
 public:
  AgreementBook() = default;
  // `authority_keys`: country -> the authority key of its installed anchor (the broker's own
  // country included).
  AgreementBook(std::map<std::string, Bytes, std::less<>> authority_keys,
                std::vector<Agreement> agreements);

  // The agreement that allows `q`, or kPermissionDenied whose reason names the agreement
  // and what is wrong: none between the two countries, signed by one side only or by a wrong
  // key, withdrawn, not (or no longer) in force, or not covering the direction, the roles, the
  // kind or the handling code. With several agreements for the pair, any one that allows
  // decides; otherwise the reasons of all are given.
  Result<const Agreement*> Decide(const CrossBorderQuery& q) const;

  // True when an agreement between countries `a` and `b` governs, is signed by both and is in
  // force at `at_ms` (whatever it covers): what a partner broker's link needs.
  bool AnyInForce(std::string_view a, std::string_view b, int64_t at_ms) const;

  // The agreement of each id that governs (see above), in id order.
  std::vector<const Agreement*> Governing() const;
  const std::map<std::string, Bytes, std::less<>>& authority_keys() const { return keys_; }

 private:
  // What the signatures of one agreement say under keys_.
  struct Signatures {
    bool any_valid = false;  // at least one authority's signature verifies
    Status both;             // Agreement::CheckSignatures(keys_)
  };
  // The index in by_id_.at(id) of the governing version of the agreements named `id`.
  size_t GoverningIndex(const std::string& id) const { return governing_.at(id); }

  std::map<std::string, Bytes, std::less<>> keys_;
  std::map<std::string, std::vector<Agreement>> by_id_;  // each sorted by version, highest first
  std::map<std::string, std::vector<Signatures>> signatures_;  // in the order of by_id_'s lists
  std::map<std::string, size_t> governing_;
};

}  // namespace nrm::federation
