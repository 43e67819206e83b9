// What a case holds at this agency besides its workflow: the case's data (the latest of each
// payload section sent or received, kept with the case record under its own case key), keys to
// find the same person in another open case (same name and birth date, or same identity
// document), and the rules of local labels (unique per agency). Thread-compatible (the store).
#pragma once

#include <string>
#include <vector>

#include "agent/store.h"
#include "common/bytes.h"

namespace nrm::agent {

// Keys of the person in `payload`, which people never read: "name:<first second>|<birth date>"
// (names folded to lower case, spaces collapsed) when the name and the birth date are both
// there, and "doc:<identity number>" (without spaces or dashes). Empty when neither.
std::vector<std::string> PersonKeys(ByteView payload);

// Takes the sections of `payload` (all but decision) into `c.payload`, replacing the ones it
// had, and updates `c.person_keys`. kInvalidArgument when a payload does not verify.
Status NoteCaseData(CaseRecord& c, ByteView payload);

// The open cases here (not done) whose person shares a key with `payload`, but case `except`.
Result<std::vector<CaseRecord>> SamePerson(AgentStore& store, ByteView payload,
                                           const std::string& except);

// OK when no case but `ref` has the local label `label`; kAlreadyExists naming the case that
// has it otherwise. An empty label is always free.
Status CheckLabelFree(AgentStore& store, const std::string& label, const std::string& ref);

}  // namespace nrm::agent
