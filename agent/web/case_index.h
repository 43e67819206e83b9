// What the inbox lists, in memory: a summary of every case and of every message of it (kind,
// parties, times, delivery state, handling code, risk level), so that the inbox and its search
// are served without opening the whole store (which holds every message sealed) on each request.
// It is built from the store when the web inbox starts and kept in step by the store's write
// observer (agent/store.h), whichever thread writes. Names are not in it: a search by name
// opens the messages of the cases on request (and the duplicate check is the agent's own,
// agent/case_data.h). An erased case leaves it for good (the store's erase observer).
//
// Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/store.h"
#include "agent/web/delivery_state.h"
#include "common/crypto/crypto.h"

namespace nrm::agent::web {

struct MessageInfo {
  std::string id, direction, kind, from;
  std::vector<std::string> to;
  int64_t at_ms = 0;
  std::string state;     // the record's (agent/step_state.h)
  std::string note;      // the step's own note
  std::string detail;    // why it is where it is, and what to do (a sent step not delivered)
  Phrase detail_phrase;  // its words and values (MessageRecord::detail_phrase)
  Delivery delivery = Delivery::kNew;
  std::string handling;  // H0..H3
  bool person = false;   // it carries a person section
};

struct CaseInfo {
  std::string ref, label, state;
  std::vector<std::string> parties;
  bool consent_revoked = false;
  // What needs a person on the case, in the agent's words (a step waiting too long for an
  // earlier one); empty when nothing.
  std::string attention;
  std::string risk;        // needs.risk_to_person, from the latest message that has it
  int64_t risk_at_ms = 0;  // that message's time
  int64_t last_ms = 0;
  std::vector<MessageInfo> messages;  // oldest first
};

// One row of the inbox: a message of a case (or a case, in a search by name), and why it needs
// this agency's action (a msgid; nullptr in the activity list).
struct Listed {
  const CaseInfo* c = nullptr;
  const MessageInfo* m = nullptr;
  const char* why = nullptr;
  int64_t at_ms = 0;
  // 0: a step that did not get through (not delivered, waiting for an earlier step), listed
  // before 1: a decision or an answer the workflow waits for.
  int rank = 1;
};

// The order of the list of what needs action: rank, then oldest first.
bool ActionFirst(const Listed& a, const Listed& b);

class CaseIndex {
 public:
  // Reads every case and message of `store`. Errors are the store's.
  Status Build(AgentStore& store);
  // What a write stored (the store's WriteObserver). Records of an erased case are left out.
  void Apply(const std::vector<MessageRecord>& messages, const std::vector<CaseRecord>& cases);
  // Case `ref` was erased here (the store's EraseObserver): it leaves the index for good.
  void Erased(const std::string& ref);

  // Changes with every Apply (for the inbox's live updates).
  uint64_t version() const;
  size_t size() const;
  // Calls `f` with every case, by reference, under the index's lock: `f` must not keep a
  // pointer past its return, and should be quick (the daemon's writes wait for it).
  void Read(const std::function<void(const std::map<std::string, CaseInfo>&)>& f) const;
  std::optional<CaseInfo> Find(const std::string& ref) const;
  // The erased cases' references, newest first (by when they were erased here), `rows` a page:
  // those of page `*page` (from 1; moved to the last page when past it), and `*pages` set.
  std::vector<std::string> ErasedPage(size_t rows, size_t* page, size_t* pages) const;

  // Appends what case `c` puts in the inbox: what waits for this agency's action (steps not
  // delivered, steps received that wait for an earlier one, the case's attention; then offers
  // to decide, handovers to confirm, declined offers to place elsewhere, repatriation requests
  // to answer, consent withdrawn) to `action`, and its messages (receipts left out) to
  // `activity`.
  static void List(const CaseInfo& c, std::vector<Listed>& action, std::vector<Listed>& activity);
  // Calls `f` under the lock with the lists of every case: `action` in ActionFirst order,
  // `activity` newest first, sorted once after each write and kept (the inbox without a
  // search).
  void ReadLists(const std::function<void(const std::vector<Listed>& action,
                                          const std::vector<Listed>& activity)>& f) const;

 private:
  void ApplyLocked(const std::vector<MessageRecord>& messages,
                   const std::vector<CaseRecord>& cases);

  mutable std::mutex mu_;
  std::map<std::string, CaseInfo> cases_;
  // Erased cases, and when (the tombstone's time; the time the index learnt it for one erased
  // since it was built): their erasure requests and receipts are no inbox rows.
  std::map<std::string, int64_t> erased_;
  uint64_t version_ = 0;
  // ReadLists' lists, pointing into cases_, for version lists_version_.
  mutable std::vector<Listed> action_, activity_;
  mutable uint64_t lists_version_ = ~uint64_t{0};
};

}  // namespace nrm::agent::web
