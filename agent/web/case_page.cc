// The case page: everything this agency holds on the case by section, consent and overrides,
// the timeline (who did what, and how far each step got), the steps this agency may take, the
// access log for supervisors; and, for printing, a one-page handover record.
#include <algorithm>

#include "agent/retention.h"
#include "agent/step_state.h"
#include "agent/web/case_view.h"
#include "agent/web/forms.h"
#include "agent/web/pages.h"
#include "agent/words.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;

// A value of the payload as people read it: words for enumerations, names for countries and
// agencies, the Buddhist era for Thai dates.
std::string Show(Site& site, std::string_view lang, const FieldSpec* f, const Json& v) {
  auto one = [&](const std::string& s) -> std::string {
    if (f == nullptr) return s;
    switch (f->type) {
      case FieldType::kCountry: {
        const Country* c = site.translator().FindCountry(s);
        return c ? site.Tr(lang, c->name) + " (" + s + ")" : s;
      }
      case FieldType::kChoice:
      case FieldType::kChoices:
        return site.Tr(lang, ChoiceWords(s));
      case FieldType::kAgency:
      case FieldType::kAgencies:
        return site.AgencyName(s);
      case FieldType::kDate:
      case FieldType::kYearOrDate:
        return FormatDate(s, lang);
      default:
        return s;
    }
  };
  if (v.is_string()) return one(v.get<std::string>());
  if (v.is_boolean()) return site.Tr(lang, v.get<bool>() ? Msg("yes") : Msg("no"));
  if (v.is_array()) {
    std::string out;
    for (const Json& item : v) {
      if (item.is_string()) out += (out.empty() ? "" : ", ") + one(item.get<std::string>());
    }
    return out;
  }
  if (v.is_number()) return v.dump();
  return "";
}

Json SectionsOf(Site& site, std::string_view lang, const Json& merged) {
  Json out = Json::array();
  for (const SectionSpec& s : FormSections()) {
    if (s.name == "consent") continue;  // shown with its own block
    auto section = merged.find(std::string(s.name));
    if (section == merged.end() || !section->is_object()) continue;
    Json fields = Json::array();
    for (const FieldSpec& f : s.fields) {
      const std::string path(f.path);
      const std::string key = path.substr(path.find('.') + 1);
      if (key.starts_with("places.")) continue;
      auto v = section->find(key);
      if (v == section->end()) continue;
      const std::string text = Show(site, lang, &f, *v);
      if (!text.empty()) fields.push_back({{"label", site.Tr(lang, f.label)}, {"value", text}});
    }
    if (auto places = section->find("places"); places != section->end() && places->is_array()) {
      for (const Json& p : *places) {
        if (!p.is_object()) continue;
        std::string text = p.value("location", std::string());
        if (p.contains("country") && p["country"].is_string()) {
          text += (text.empty() ? "" : ", ") +
                  Show(site, lang, FindField("context.places.transit.country"), p["country"]);
        }
        if (p.contains("date") && p["date"].is_string()) {
          text += (text.empty() ? "" : ", ") + FormatDate(p["date"].get<std::string>(), lang);
        }
        const std::string stage = p.value("stage", std::string());
        const FieldSpec* f = FindField("context.places." + stage + ".location");
        fields.push_back({{"label", f ? site.Tr(lang, f->label) : stage}, {"value", text}});
      }
    }
    if (!fields.empty()) {
      out.push_back({{"title", site.Tr(lang, Site::SectionWords(s.name))}, {"fields", fields}});
    }
  }
  return out;
}

// "A, B" for the comma-separated agency ids of a timeline step.
std::string Names(Site& site, const std::string& ids) {
  std::string out;
  for (const std::string& id : Split(ids)) out += (out.empty() ? "" : ", ") + site.AgencyName(id);
  return out;
}

std::string Fingerprint(const Bytes& frame) {
  const crypto::Hash h = crypto::Sha256(frame);
  const std::string hex = ToHex(ByteView(h.data(), h.size()));
  std::string out;
  for (size_t i = 0; i < 16; i += 4) out += (i ? " " : "") + hex.substr(i, 4);
  return out;
}

// "Person, Needs and risk" for payload sections; "nothing" when none.
std::string SectionList(Site& site, std::string_view lang, const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v)
    out += (out.empty() ? "" : ", ") + site.Tr(lang, Site::SectionWords(s));
  return out.empty() ? site.Tr(lang, "nothing") : out;
}

// What the flash line says after a change on the case page.
std::string DoneWords(Site& site, std::string_view lang, const std::string& done) {
  if (done.empty()) return "";
  if (done == "relabel") return site.Tr(lang, "The case has its new label.");
  return site.Tr(lang, "The step was taken.");
}

// When the case will be erased under the retention rule (agent/retention.h), as the rule and
// `retention report` see it: kept while open, the day it is due once closed, or why it waits.
std::string RetentionWords(Site& site, std::string_view lang, const CaseView& c) {
  const AgentConfig& config = site.agent().config();
  if (!config.retention_days_after_close) {
    return site.Tr(lang, "Kept until a supervisor erases it: the retention rule is off.");
  }
  const std::string days = std::to_string(*config.retention_days_after_close);
  const std::optional<RetentionEntry> e = RetentionOf(c.record, config);
  if (!e || !e->erase_at_ms) {
    return FillPlaceholders(
        site.Tr(lang, "Kept while the case is open; erased %1 days after it is closed."), {days});
  }
  const std::vector<std::string> values = {site.When(e->closed_at_ms, lang),
                                           site.When(*e->erase_at_ms, lang), days};
  if (*e->erase_at_ms > RetentionClock().NowMillis()) {
    return FillPlaceholders(
        site.Tr(lang, "Closed on %1; erased on %2, %3 days after it was closed."), values);
  }
  const bool under_way = std::any_of(c.messages.begin(), c.messages.end(), [](const auto& m) {
    return m.direction == "out" && (m.state == kWaitingToSend || m.state == kAtTheBroker);
  });
  return FillPlaceholders(
      site.Tr(lang, under_way ? Msg("Closed on %1; due for erasure since %2: it waits until its "
                                    "steps still under way are delivered.")
                              : Msg("Closed on %1; due for erasure since %2: erased at the "
                                    "agent's next hourly check.")),
      values);
}

}  // namespace

Response CasePage(Site& site, const Visit& visit, const Request& req, const std::string& ref) {
  const std::string& lang = visit.lang();
  Result<CaseView> loaded = LoadCase(site, ref);
  if (!loaded.ok() && loaded.status().code() == Code::kNotFound) {
    // An erased case: what is left of it, its tombstone.
    if (Result<std::optional<Tombstone>> t = site.store().GetTombstone(ref); t.ok() && *t) {
      return ErasedCasePage(site, visit, req, **t);
    }
  }
  if (!loaded.ok()) {
    return site.Problem(&visit, lang, loaded.status().code() == Code::kNotFound ? 404 : 500,
                        site.Tr(lang, "This agency holds no such case."));
  }
  const CaseView& c = *loaded;
  const bool printing = req.Query("print") == "1";
  site.Access(ref, visit.session.user,
              printing ? Msg("printed the handover record") : Msg("opened"));

  // What came in and was not yet seen by a person is read now (on the daemon's thread, which
  // owns the message records).
  std::vector<std::string> unread;
  for (const MessageRecord& m : c.messages) {
    if (m.direction == "in" && m.state == kNew) unread.push_back(m.id);
  }
  if (!unread.empty()) {
    AgentStore& store = site.store();
    site.daemon().Post([&store, unread](Outbox&) {
      for (const std::string& id : unread) {
        Result<std::optional<MessageRecord>> m = store.GetMessage(id);
        if (!m.ok() || !*m || (**m).state != kNew) continue;
        (**m).state = std::string(kRead);
        (void)store.Write({**m}, {});
      }
    });
  }

  Json parties = Json::array();
  for (const std::string& p : c.record.parties) parties.push_back(site.AgencyJson(p));
  Json timeline = Json::array(), overrides = Json::array(), handover_steps = Json::array();
  std::string handling;
  for (const TimelineStep& s : c.record.timeline) {
    const MessageRecord* m = c.Find(s.message_id);
    Json step = {{"time", site.When(s.at_ms, lang)},
                 {"kind", site.Tr(lang, Site::KindWords(s.kind))},
                 {"receipt_step", s.kind == "receipt"},
                 {"from", site.AgencyName(s.from)},
                 {"to", Names(site, s.to)},
                 {"state", site.Tr(lang, Site::StateWords(s.state))},
                 // A receipt's note repeats its line in the agent's words ("signed receipt from
                 // ID for KIND ID"): the line says it.
                 {"note", s.kind == "receipt" ? ""
                          : s.note_phrase.empty()
                              ? site.Tr(lang, ChoiceWords(s.note))
                              : SaidText(site.translator(), lang, s.note, s.note_phrase)},
                 {"by", s.by},
                 {"id", s.message_id.substr(0, 12)}};
    if (s.from == "broker") step["from"] = site.Tr(lang, "the broker");
    if (m != nullptr && s.kind != "receipt") {
      // Where the step is, in the words of `nrm-agent show`: every step sent; a step received
      // only when it waits for an earlier one or was refused here.
      const Delivery d = DeliveryOf(*m);
      if (m->direction == "out" || d == Delivery::kHeld || d == Delivery::kRefusedHere) {
        step["delivery"] = site.Tr(lang, DeliveryWords(d));
        step["delivery_class"] = std::string(DeliveryClass(d));
      }
      // Why it did not get through and what to do, in the agent's words.
      if (d == Delivery::kActionNeeded || d == Delivery::kRefusedHere) {
        step["why"] = SaidText(site.translator(), lang, m->detail, m->detail_phrase);
      }
      step["broker_receipt"] =
          SaidText(site.translator(), lang, m->broker_receipt, m->broker_receipt_phrase);
      Json receipts = Json::array();
      for (const std::string& rid : m->receipts) {
        const MessageRecord* r = c.Find(rid);
        receipts.push_back({{"from", r ? site.AgencyName(r->from) : ""},
                            {"fingerprint", r ? Fingerprint(r->frame) : rid.substr(0, 16)}});
      }
      step["receipts"] = receipts;
      // What it carried to its recipients, and what the policy withheld (as `show` says).
      if (m->direction == "out" && (!m->sections.empty() || !m->withheld.empty())) {
        step["sent_sections"] = SectionList(site, lang, m->sections);
        step["withheld_sections"] = SectionList(site, lang, m->withheld);
      }
      // The other side's note on its decision (the timeline's note is its reason).
      if (Result<const payload::Payload*> p = wire::VerifyPayload(m->payload);
          p.ok() && (*p)->decision() && (*p)->decision()->note() && s.kind != "receipt") {
        step["detail"] = (*p)->decision()->note()->str();
      }
      if (m->consent_override) {
        overrides.push_back({{"time", site.When(m->created_at_ms, lang)},
                             {"kind", site.Tr(lang, Site::KindWords(m->kind))},
                             {"note", m->note}});
      }
      if (Result<wire::EnvelopeView> env = wire::DecodeEnvelope(m->frame); env.ok()) {
        handling = std::string(wire::HandlingName(env->handling()));
      }
      handover_steps.push_back(
          {{"time", step["time"]},
           {"kind", step["kind"]},
           {"from", step["from"]},
           {"to", step["to"]},
           {"delivery", m->direction == "in" ? Json(site.Tr(lang, "received"))
                                             : Json(site.Tr(lang, DeliveryWords(d)))},
           {"fingerprint", Fingerprint(m->frame)},
           {"receipts", receipts}});
    }
    timeline.push_back(std::move(step));
  }
  Json consent = nullptr;
  if (const std::optional<ConsentRecord>& k = c.record.consent) {
    auto words = [&](const std::vector<std::string>& v, bool agencies) {
      std::string out;
      for (const std::string& x : v) {
        out += (out.empty() ? "" : ", ") +
               (agencies ? site.AgencyName(x) : site.Tr(lang, ChoiceWords(x)));
      }
      return out;
    };
    consent = {{"sections", words(k->share_sections, false)},
               {"roles", words(k->share_with_roles, false)},
               {"agencies", words(k->share_with_agencies, true)},
               {"purpose", k->purpose},
               {"date", FormatDate(k->date, lang)},
               {"recorded_by", k->recorded_by},
               {"revoked", k->revoked},
               {"revoked_reason", k->revoked_reason}};
  }
  Json actions = Json::array();
  for (const CaseAction& a : ActionsFor(site, c)) {
    actions.push_back(
        {{"label", site.Tr(lang, a.label)}, {"href", a.href}, {"primary", a.primary}});
  }
  // Erasure destroys the case here and asks every party to do the same: supervisors only.
  if (visit.supervisor()) {
    actions.push_back({{"label", site.Tr(lang, "Erase this case")},
                       {"href", "/case/" + ref + "/erase"},
                       {"primary", false},
                       {"danger", true}});
  }
  Json access = Json::array();
  if (visit.supervisor()) {
    for (const AccessEntry& e : site.AccessLog(ref)) {
      access.push_back(
          {{"time", site.When(e.at_ms, lang)}, {"user", e.user}, {"what", site.Tr(lang, e.what)}});
    }
  }
  const std::string title =
      c.record.label.empty() ? site.Tr(lang, "Case") + " " + ref.substr(0, 8) : c.record.label;
  Json data = {
      {"title", title},
      {"ref", ref},
      {"label", c.record.label},
      {"state", site.Tr(lang, Site::StateWords(c.record.state))},
      {"attention", c.record.attention},
      {"handling", handling},
      {"parties", parties},
      {"sections", SectionsOf(site, lang, c.merged)},
      {"consent", consent},
      {"overrides", overrides},
      {"timeline", timeline},
      {"actions", actions},
      {"supervisor", visit.supervisor()},
      {"relabel_csrf", SessionTable::CsrfToken(visit.session, "/case/" + ref + "/relabel")},
      {"access", access},
      {"printing", printing},
      {"printed_at", site.When(SystemClock::Get().NowMillis(), lang)},
      {"printed_by", visit.session.user},
      {"handover_steps", handover_steps},
      {"retention", RetentionWords(site, lang, c)},
      {"done", DoneWords(site, lang, req.Query("done"))}};
  return site.Page(&visit, lang, "case", std::move(data));
}

}  // namespace nrm::agent::web
