// The pages of the web inbox, each a function from (site, visit, request) to a response: they
// read the store and the index, and take steps only through Site::Command (the daemon's
// thread). A bad form is answered with the form again, its fields' errors named (400); a step
// the agent refuses, with its reason (409). Thread-safe (see site.h).
#pragma once

#include <string>

#include "agent/web/http.h"
#include "agent/web/site.h"

namespace nrm::agent::web {

// GET /inbox: what needs action, then recent activity; search; pages of 25.
Response InboxPage(Site& site, const Visit& visit, const Request& req);
// GET /updates: {"version": N}, which changes whenever the store does.
Response UpdatesJson(Site& site, const Visit& visit);
// GET /case/REF: everything this agency holds on the case, its timeline and the actions.
Response CasePage(Site& site, const Visit& visit, const Request& req, const std::string& ref);
// GET|POST /new/KIND: a new case (referral_offer or repatriation_request), or with ?case=REF
// (a form field on POST) a re-offer or a request on a case already here.
Response NewCaseForm(Site& site, const Visit& visit, const Request& req, const std::string& kind);
// GET|POST /case/REF/step/ACTION: a step on a case.
Response StepForm(Site& site, const Visit& visit, const Request& req, const std::string& ref,
                  const std::string& action);

// case_admin.cc. GET|POST /case/REF/erase (supervisors only): a reason, then a confirmation
// that says what will happen, then `erase REF --reason R`.
Response EraseForm(Site& site, const Visit& visit, const Request& req, const std::string& ref);
// POST /case/REF/relabel: `relabel REF LABEL` (labels are unique here).
Response Relabel(Site& site, const Visit& visit, const Request& req, const std::string& ref);
// GET /erased (supervisors only): the erased cases, newest first, 50 a page (?page=N), with
// what erasure leaves of
// them (reference, when, by whom, which parties confirmed; never a person), the retention rule
// in force and the closed cases it will erase, when.
Response ErasedCasesPage(Site& site, const Visit& visit, const Request& req);
// GET /case/REF of an erased case: its tombstone (who erased it, when, why; which parties
// confirmed with a signed erasure receipt and which have not yet).
Response ErasedCasePage(Site& site, const Visit& visit, const Request& req, const Tombstone& t);

}  // namespace nrm::agent::web
