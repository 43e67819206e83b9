#include "agent/htcds.h"

#include <map>

#include "agent/vocabulary.h"
#include "common/clock.h"

namespace nrm::agent {
namespace {

using json::Json;

// A payload field with one HTCDS field of the same meaning. `list`: both hold a list; a
// citizenship is a list in HTCDS and one country in the payload (`to_list`).
struct Mapped {
  std::string_view table;    // key of the HTCDS document: "person", "victim", "case"
  std::string_view htcds;    // e.g. "prs_FirstName"
  std::string_view section;  // payload section
  std::string_view field;    // payload field
  bool to_list = false;
};

const std::vector<Mapped>& Fields() {
  static const std::vector<Mapped> kFields = {
      {"person", "prs_FirstName", "person", "first_name"},
      {"person", "prs_SecondName", "person", "second_name"},
      {"person", "prs_Birthdate", "person", "birth_date"},
      {"person", "prs_Gender", "person", "gender"},
      {"person", "prs_Citizenship", "person", "nationality", true},
      {"person", "prs_MobilePhone", "person", "phone"},
      {"person", "prs_IdentityNumber", "person", "identity_number"},
      {"victim", "vic_TraffickingStatus", "context", "trafficking_status"},
      {"victim", "vic_MethodOfRecruitment", "context", "recruitment_methods"},
      {"victim", "vic_MethodsOfControl", "context", "control_methods"},
      {"victim", "vic_TypeOfExploitation", "context", "exploitation_types"},
      {"victim", "vic_ForcedLabourIndustry", "context", "labour_sector"},
      {"case", "cas_Status", "case", "status"},
      {"case", "cas_ReferringOrganisation", "case", "referring_organisation"},
      {"case", "cas_ReferredOrganisation", "case", "referred_organisation"},
      {"case", "cas_ReferringPrimaryCaseWorker", "case", "referring_case_worker"},
      {"case", "cas_ReferredPrimaryCaseWorker", "case", "referred_case_worker"},
  };
  return kFields;
}

// The keys each table of the document may hold besides Fields().
const std::map<std::string, std::vector<std::string_view>>& MoreKeys() {
  static const std::map<std::string, std::vector<std::string_view>> kMore = {
      {"person", {"prs_PrimaryLanguage", "prs_SecondaryLanguage"}},
      {"victim", {}},
      {"case",
       {"cas_OutgoingReferralDate", "cas_OutgoingReferralDetails", "cas_IncomingReferralDate",
        "cas_IncomingReferralDetails"}},
      {"trafficking_events", {"hte_Type", "hte_City", "hte_Country", "hte_Date"}},
      {"perpetrators", {"per_RoleInProcess"}},
      {"consent", {"con_Consent"}},
      {"organisations", {"id", "org_Name", "org_Type", "org_ShippingCountry", "org_ShippingState"}},
  };
  return kMore;
}

constexpr std::string_view kTopKeys[] = {
    "standard", "version", "case_reference",     "exported_by",  "exported_at", "case",
    "person",   "victim",  "trafficking_events", "perpetrators", "consent",     "organisations",
    "nrm"};

// Places: payload field <-> hte_ field.
constexpr std::pair<std::string_view, std::string_view> kPlace[] = {{"stage", "hte_Type"},
                                                                    {"location", "hte_City"},
                                                                    {"country", "hte_Country"},
                                                                    {"date", "hte_Date"}};

// HTCDS org_Type for an agency role; "" where HTCDS has none.
std::string OrgType(std::string_view role) {
  if (role == "police") return "LawEnforcement";
  if (role == "shelter" || role == "ngo") return "NGO";
  if (role == "ministry") return "CentralGovernmentOrganisation";
  if (role == "immigration") return "ImmigrationService";
  return "";
}

std::string Capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}
std::string Lowered(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Removes `section.field` from `p` and returns it (null when absent); drops the emptied section.
Json Take(Json& p, std::string_view section, std::string_view field) {
  const std::string s(section), f(field);
  if (!p.contains(s) || !p[s].is_object() || !p[s].contains(f)) return Json();
  Json v = std::move(p[s][f]);
  p[s].erase(f);
  if (p[s].empty()) p.erase(s);
  return v;
}

}  // namespace

Result<Json> ExportHtcds(const Json& payload_json, const HtcdsExport& info) {
  if (!payload_json.is_object()) return InvalidArgument("the case's data is not a payload");
  Json p = payload_json;
  p.erase("decision");  // a step's decision, not the case's data
  Json out = {{"standard", "HTCDS"}, {"version", "2.0"}};
  if (!info.case_reference.empty()) out["case_reference"] = info.case_reference;
  if (!info.exported_by.empty()) out["exported_by"] = info.exported_by;
  if (info.exported_at_ms != 0) out["exported_at"] = FormatTimeUtc(info.exported_at_ms);
  Json tables = {{"case", Json::object()}, {"person", Json::object()}, {"victim", Json::object()}};
  const std::string referring = p.contains("case") && p["case"].contains("referring_organisation")
                                    ? p["case"]["referring_organisation"].get<std::string>()
                                    : "";
  for (const Mapped& m : Fields()) {
    Json v = Take(p, m.section, m.field);
    if (v.is_null()) continue;
    tables[std::string(m.table)][std::string(m.htcds)] = m.to_list ? Json::array({v}) : v;
  }
  // The referral seen from this agency: outgoing when it referred the case, else incoming.
  const std::string way =
      !referring.empty() && referring == info.exported_by ? "Outgoing" : "Incoming";
  if (Json d = Take(p, "case", "referral_date"); !d.is_null()) {
    tables["case"]["cas_" + way + "ReferralDate"] = d;
  }
  if (Json d = Take(p, "case", "reason_for_referral"); !d.is_null()) {
    tables["case"]["cas_" + way + "ReferralDetails"] = d;
  }
  if (Json langs = Take(p, "person", "languages"); langs.is_array()) {
    if (!langs.empty()) tables["person"]["prs_PrimaryLanguage"] = langs[0];
    if (langs.size() > 1) tables["person"]["prs_SecondaryLanguage"] = langs[1];
    if (langs.size() > 2) {  // HTCDS has two: the rest stay with the payload's own fields
      p["person"]["languages"] = Json(langs.begin() + 2, langs.end());
    }
  }
  for (const char* t : {"case", "person", "victim"}) {
    if (!tables[t].empty()) out[t] = tables[t];
  }
  if (Json places = Take(p, "context", "places"); places.is_array() && !places.empty()) {
    Json events = Json::array();
    for (const Json& place : places) {
      Json e = Json::object();
      for (const auto& [field, hte] : kPlace) {
        if (!place.contains(std::string(field))) continue;
        Json v = place[std::string(field)];
        e[std::string(hte)] = field == "stage" ? Json(Capitalised(v.get<std::string>())) : v;
      }
      events.push_back(std::move(e));
    }
    out["trafficking_events"] = std::move(events);
  }
  if (Json roles = Take(p, "investigation", "perpetrator_roles"); roles.is_array()) {
    Json perpetrators = Json::array();
    for (const Json& r : roles) perpetrators.push_back({{"per_RoleInProcess", Json::array({r})}});
    if (!perpetrators.empty()) out["perpetrators"] = std::move(perpetrators);
  }
  if (p.contains("consent")) {
    // con_Consent is a checkbox; what was agreed to, with whom, stays in nrm.consent.
    const Json& c = p["consent"];
    const bool agreed = (c.contains("share_with_roles") && !c["share_with_roles"].empty()) ||
                        (c.contains("share_with_agencies") && !c["share_with_agencies"].empty());
    out["consent"] = {{"con_Consent", agreed}};
  }
  if (info.directory != nullptr) {
    Json orgs = Json::array();
    std::vector<std::string> seen;
    for (const char* key : {"cas_ReferringOrganisation", "cas_ReferredOrganisation"}) {
      if (!out.contains("case") || !out["case"].contains(key)) continue;
      const std::string id = out["case"][key].get<std::string>();
      const identity::Agency* a = info.directory->Find(id);
      if (a == nullptr || std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      Json o = {{"id", id}, {"org_Name", a->name}};
      if (!OrgType(a->role).empty()) o["org_Type"] = OrgType(a->role);
      o["org_ShippingCountry"] = a->country;
      if (!a->province.empty()) o["org_ShippingState"] = a->province;
      orgs.push_back(std::move(o));
    }
    if (!orgs.empty()) out["organisations"] = std::move(orgs);
  }
  if (!p.empty()) out["nrm"] = std::move(p);
  return out;
}

namespace {

class Importer {
 public:
  explicit Importer(std::vector<FieldError>& errors) : errors_(errors) {}

  Json Run(const Json& doc, std::string& case_reference) {
    Json p = Json::object();
    if (!doc.is_object()) {
      Add("",
          "an HTCDS file is one JSON object: {\"standard\": \"HTCDS\", \"version\": \"2.0\"...}");
      return p;
    }
    for (const auto& [key, v] : doc.items()) {
      if (std::find(std::begin(kTopKeys), std::end(kTopKeys), key) == std::end(kTopKeys)) {
        Unknown(key, key, {std::begin(kTopKeys), std::end(kTopKeys)});
      }
    }
    if (doc.value("standard", Json()) != "HTCDS") Add("standard", "expected \"HTCDS\"");
    if (doc.value("version", Json()) != "2.0") Add("version", "expected \"2.0\" (HTCDS 2.0)");
    if (doc.contains("case_reference") && doc["case_reference"].is_string()) {
      case_reference = doc["case_reference"].get<std::string>();
    }
    for (const char* t : {"case", "person", "victim", "consent"}) Table(doc, t, p);
    Events(doc, p);
    Perpetrators(doc, p);
    if (doc.contains("organisations")) List(doc["organisations"], "organisations");
    Extension(doc, p);
    return p;
  }

  // Rewrites the path of an error on the payload to the path in the file it came from.
  void Locate(FieldError& e) const {
    std::string best;
    for (const auto& [payload_path, file_path] : origin_) {
      const bool prefix = e.path == payload_path || e.path.starts_with(payload_path + ".") ||
                          e.path.starts_with(payload_path + "[");
      if (prefix && payload_path.size() > best.size()) best = payload_path;
    }
    if (!best.empty()) e.path = origin_.at(best) + e.path.substr(best.size());
  }

 private:
  void Add(const std::string& path, const std::string& message, const Json* v = nullptr) {
    errors_.push_back(
        {path, v ? v->dump(-1, ' ', false, Json::error_handler_t::replace) : "", message});
  }
  void Unknown(const std::string& path, const std::string& key,
               const std::vector<std::string_view>& known) {
    const std::string near = Nearest(key, known);
    Add(path,
        "unknown field '" + key + "'" +
            (near.empty() ? " (docs/DATA.md lists the fields)" : ": did you mean '" + near + "'?"));
  }

  void Set(Json& p, std::string_view section, std::string_view field, Json v,
           const std::string& from) {
    p[std::string(section)][std::string(field)] = std::move(v);
    origin_[std::string(section) + "." + std::string(field)] = from;
  }

  void Table(const Json& doc, const std::string& t, Json& p) {
    if (!doc.contains(t)) return;
    const Json& table = doc[t];
    if (!table.is_object()) return Add(t, "expected an object of " + t + " fields", &table);
    std::vector<std::string_view> known = MoreKeys().at(t);
    for (const Mapped& m : Fields()) {
      if (m.table == t) known.push_back(m.htcds);
    }
    for (const auto& [key, v] : table.items()) {
      const std::string at = t + "." + key;
      auto m = std::find_if(Fields().begin(), Fields().end(),
                            [&](const Mapped& x) { return x.table == t && x.htcds == key; });
      if (m != Fields().end()) {
        if (!m->to_list) {
          Set(p, m->section, m->field, v, at);
        } else if (!v.is_array() || v.size() != 1) {
          Add(at, "expected a list of one country, e.g. [\"MM\"] (the payload holds one)", &v);
        } else {
          Set(p, m->section, m->field, v[0], at + "[0]");
        }
      } else if (key == "prs_PrimaryLanguage" || key == "prs_SecondaryLanguage") {
        const size_t i = key == "prs_PrimaryLanguage" ? 0 : 1;
        Json& langs = p["person"]["languages"];
        if (langs.is_null()) langs = Json::array();
        while (langs.size() <= i) langs.push_back(Json());
        langs[i] = v;
        origin_["person.languages[" + std::to_string(i) + "]"] = at;
      } else if (key.starts_with("cas_") && key.ends_with("ReferralDate")) {
        Referral(p, "referral_date", v, at);
      } else if (key.starts_with("cas_") && key.ends_with("ReferralDetails")) {
        Referral(p, "reason_for_referral", v, at);
      } else if (key == "con_Consent") {
        if (!v.is_boolean()) Add(at, "expected true or false", &v);
        consent_ = v.is_boolean() && v.get<bool>();
        consent_given_ = true;
      } else {
        Unknown(at, key, known);
      }
    }
  }

  void Referral(Json& p, std::string_view field, const Json& v, const std::string& at) {
    const std::string path = "case." + std::string(field);
    if (origin_.count(path) && p["case"][std::string(field)] != v) {
      return Add(at,
                 "differs from " + origin_[path] + ": one referral has one " + std::string(field));
    }
    Set(p, "case", field, v, at);
  }

  // A list of objects whose keys are those MoreKeys() gives `name`; false when it is not.
  bool List(const Json& list, const std::string& name) {
    if (!list.is_array()) {
      Add(name, "expected a list of objects [{...}]", &list);
      return false;
    }
    const std::vector<std::string_view>& known = MoreKeys().at(name);
    bool ok = true;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = name + "[" + std::to_string(i) + "]";
      if (!list[i].is_object()) {
        Add(at, "expected an object", &list[i]);
        ok = false;
        continue;
      }
      for (const auto& [key, v] : list[i].items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
          Unknown(at + "." + key, key, known);
          ok = false;
        }
      }
    }
    return ok;
  }

  void Events(const Json& doc, Json& p) {
    if (!doc.contains("trafficking_events") ||
        !List(doc["trafficking_events"], "trafficking_events")) {
      return;
    }
    Json places = Json::array();
    const Json& events = doc["trafficking_events"];
    for (size_t i = 0; i < events.size(); ++i) {
      Json place = Json::object();
      const std::string at = "trafficking_events[" + std::to_string(i) + "]";
      for (const auto& [field, hte] : kPlace) {
        if (!events[i].contains(std::string(hte))) continue;
        Json v = events[i][std::string(hte)];
        if (field == "stage" && v.is_string()) v = Lowered(v.get<std::string>());
        place[std::string(field)] = v;
        origin_["context.places[" + std::to_string(i) + "]." + std::string(field)] =
            at + "." + std::string(hte);
      }
      places.push_back(std::move(place));
    }
    p["context"]["places"] = std::move(places);
  }

  void Perpetrators(const Json& doc, Json& p) {
    if (!doc.contains("perpetrators") || !List(doc["perpetrators"], "perpetrators")) return;
    Json roles = Json::array();
    const Json& list = doc["perpetrators"];
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = "perpetrators[" + std::to_string(i) + "].per_RoleInProcess";
      const Json v = list[i].value("per_RoleInProcess", Json::array());
      if (!v.is_array()) {
        Add(at, "expected a list of roles, e.g. [\"Transporter\"]", &v);
        continue;
      }
      for (size_t k = 0; k < v.size(); ++k) {
        origin_["investigation.perpetrator_roles[" + std::to_string(roles.size()) + "]"] =
            at + "[" + std::to_string(k) + "]";
        roles.push_back(v[k]);
      }
    }
    if (!roles.empty()) p["investigation"]["perpetrator_roles"] = std::move(roles);
  }

  // nrm: the payload's fields HTCDS has none for, in the payload's own JSON form.
  void Extension(const Json& doc, Json& p) {
    if (doc.contains("nrm")) {
      const Json& x = doc["nrm"];
      if (!x.is_object()) return Add("nrm", "expected an object of payload sections", &x);
      for (const auto& [section, fields] : x.items()) {
        if (!fields.is_object() || !p.contains(section) || !p[section].is_object()) {
          p[section] = fields;
          origin_[section] = "nrm." + section;
          continue;
        }
        for (const auto& [field, v] : fields.items()) {
          const std::string path = section + "." + field;
          if (path == "person.languages" && v.is_array() && p[section].contains("languages")) {
            for (const Json& l : v) p[section]["languages"].push_back(l);
            continue;
          }
          if (p[section].contains(field)) {
            Add("nrm." + path, "is mapped to " + origin_[path] + ": give it there only");
            continue;
          }
          Set(p, section, field, v, "nrm." + path);
        }
      }
    }
    // HTCDS says whether the person consented, not to what: a true con_Consent without
    // nrm.consent imports no consent (the caseworker records it before sharing anything).
    if (consent_given_ && !consent_ && p.contains("consent")) {
      Add("consent.con_Consent", "is false, but nrm.consent records consent");
    }
  }

  std::vector<FieldError>& errors_;
  std::map<std::string, std::string> origin_;  // payload path -> path in the file
  bool consent_ = false, consent_given_ = false;
};

}  // namespace

HtcdsImport ImportHtcds(std::string_view text, const identity::Directory& dir,
                        const ValidateOptions& options) {
  HtcdsImport out;
  Result<Json> doc = json::Parse(text);
  if (!doc.ok()) {
    out.errors.push_back(JsonSyntaxError(text, doc.status().message()));
    return out;
  }
  Importer importer(out.errors);
  out.payload = importer.Run(*doc, out.case_reference);
  if (!out.errors.empty()) return out;
  for (FieldError e : ValidateCase(out.payload, dir, options)) {
    importer.Locate(e);
    out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace nrm::agent
