// The web inbox's parts, without a server: templates and escaping, catalogs, local time, forms
// and their checks, sessions and the login throttle (on a clock the test sets), the [web]
// config, delivery states. The inbox served by real agents is tested by the scripts beside this
// file (security_test.py, browser_test.py), run by ctest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/consent.h"
#include "agent/refusal.h"
#include "agent/step_state.h"
#include "agent/vocabulary.h"
#include "agent/web/assets.h"
#include "agent/web/case_index.h"
#include "agent/web/delivery_state.h"
#include "agent/web/forms.h"
#include "agent/web/html.h"
#include "agent/web/http.h"
#include "agent/web/i18n.h"
#include "agent/web/local_time.h"
#include "agent/web/sessions.h"
#include "agent/web/web_config_parse.h"
#include "common/config/toml_util.h"
#include "common/crypto/crypto.h"
#include "tests/testing/temp_dir.h"
#include "tools/scenario.h"

namespace nrm::agent::web {
namespace {

using json::Json;

class WebUnitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};

// Templates from literal text, with the built-in catalogs.
struct Fixture {
  Assets assets;
  Translator tr;
};
Fixture Builtin() {
  Result<Assets> a = Assets::Load("");
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  Result<Translator> t = Translator::Load(*a);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return {std::move(*a), std::move(*t)};
}

// A directory with the agencies of scenarios 1 and 2, signed by a fresh authority.
const identity::Directory& Dir() {
  static const identity::Directory* dir = [] {
    if (!crypto::InitCrypto().ok()) std::abort();
    testing::TempDir tmp;
    Result<tools::Scenario> s = tools::CreateScenario(
        tmp.path(), {{"TH.POLICE.CRI-ATU", "police", "TH", "Chiang Rai", "ATU"},
                     {"TH.SHELTER.KREDTRAKARN", "shelter", "TH", "Nonthaburi", "Kredtrakarn"}});
    if (!s.ok()) std::abort();
    Result<identity::Directory> d = identity::Directory::Load(
        tmp.path() + "/directory.toml", s->authority.sign_public, SystemClock::Get().NowMillis());
    if (!d.ok()) std::abort();
    return new identity::Directory(std::move(*d));
  }();
  return *dir;
}

Result<std::string> RenderText(const std::string& text, const Json& data,
                               const std::string& lang = "en") {
  const std::string dir = ::testing::TempDir() + "/tmpl-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/static");
  {
    std::ofstream(dir + "/t.html") << text;
    std::ofstream(dir + "/part.html") << "[{{x}}]";
  }
  NRM_ASSIGN_OR_RETURN(Assets a, Assets::Load(dir));
  NRM_ASSIGN_OR_RETURN(Translator tr, Translator::Load(a));
  NRM_ASSIGN_OR_RETURN(Templates t, Templates::Compile(a));
  return t.Render("t", data, tr, lang);
}

TEST_F(WebUnitTest, EveryValueIsEscaped) {
  Result<std::string> r = RenderText("<p title=\"{{v}}\">{{v}}</p>",
                                     {{"v", "\"><img src=x onerror=alert(1)>&'<script>"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r,
            "<p title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;&lt;script&gt;\">"
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;&#39;&lt;script&gt;</p>");
}

TEST_F(WebUnitTest, RawIsAVisiblyDifferentCall) {
  Result<std::string> r = RenderText("{{raw v}}|{{v}}", {{"v", "<b>"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "<b>|&lt;b&gt;");
}

TEST_F(WebUnitTest, BlocksLoopsAndPartials) {
  Result<std::string> r = RenderText(
      "{{#each list}}{{name}}{{#if on}}+{{else}}-{{/if}}{{top}};{{/each}}"
      "{{#unless empty}}U{{/unless}}{{#if empty}}E{{/if}}{{#each strings}}<{{.}}>{{/each}}"
      "{{> part}}{{! a comment }}",
      {{"list", {{{"name", "a"}, {"on", true}}, {{"name", "b"}, {"on", ""}}}},
       {"top", "T"},
       {"empty", ""},
       {"strings", {"x<", "y"}},
       {"x", 7}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "a+T;b-T;U<x&lt;><y>[7]");
}

TEST_F(WebUnitTest, TranslatedTextTakesEscapedArguments) {
  Result<std::string> en =
      RenderText("{{t \"Page %1 of %2\" page pages}}", {{"page", "<1>"}, {"pages", 3}});
  ASSERT_TRUE(en.ok());
  EXPECT_EQ(*en, "Page &lt;1&gt; of 3");
  Result<std::string> th = RenderText("{{t \"Inbox\"}}", Json::object(), "th");
  ASSERT_TRUE(th.ok());
  EXPECT_NE(*th, "Inbox") << "the Thai catalog translates it";
}

TEST_F(WebUnitTest, TemplateErrorsNameTheFileAndLine) {
  Result<std::string> r = RenderText("line 1\n{{#if x}}\nnever closed", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("templates/t.html:3"), std::string::npos)
      << r.status().message();
  r = RenderText("{{> nowhere}}", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nowhere"), std::string::npos);
  r = RenderText("{{else}}", Json::object());
  EXPECT_FALSE(r.ok());
  r = RenderText("{{what is this}}", Json::object());
  EXPECT_FALSE(r.ok());
}

TEST_F(WebUnitTest, BuiltInTemplatesCompileAndStaticFilesAreThere) {
  Fixture f = Builtin();
  Result<Templates> t = Templates::Compile(f.assets);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (const char* name : {"static/style.css", "static/print.css", "static/app.js"}) {
    EXPECT_NE(f.assets.Find(name), nullptr) << name;
  }
  EXPECT_EQ(f.assets.Find("static/../../etc/passwd"), nullptr);
}

TEST_F(WebUnitTest, CountriesAreThoseOfTheCaseData) {
  Fixture f = Builtin();
  ASSERT_GT(f.tr.countries().size(), 240u);
  EXPECT_EQ(f.tr.countries().size(), IsoCountries().size());
  for (const char* code : {"TH", "KH", "MM", "LA", "VN", "CN"}) {
    EXPECT_NE(f.tr.FindCountry(code), nullptr) << code;
  }
  EXPECT_EQ(f.tr.FindCountry("XX"), nullptr);
  EXPECT_EQ(f.tr.FindCountry("th"), nullptr) << "codes are upper case";
}

TEST_F(WebUnitTest, CatalogRefusesWhatIsNotAMoFile) {
  EXPECT_FALSE(Catalog::Parse("").ok());
  EXPECT_FALSE(Catalog::Parse("not a catalog at all").ok());
  std::string truncated("\xde\x12\x04\x95\0\0\0\0\xff\xff\0\0", 12);
  EXPECT_FALSE(Catalog::Parse(truncated).ok());
}

TEST_F(WebUnitTest, BangkokTimesAndTheBuddhistEra) {
  Result<TimeZone> bkk = TimeZone::Load("Asia/Bangkok");
  ASSERT_TRUE(bkk.ok()) << bkk.status().ToString();
  const int64_t t = 1796108400000;  // 2026-12-01T07:00:00Z
  EXPECT_EQ(bkk->OffsetAt(t / 1000), 7 * 3600);
  EXPECT_EQ(FormatLocalTime(t, *bkk, "en"), "2026-12-01 14:00");
  EXPECT_EQ(FormatLocalTime(t, *bkk, "th"), "01/12/2569 14:00");
  EXPECT_EQ(LocalDate(t + 10 * 3600 * 1000, *bkk), "2026-12-02");
  Result<TimeZone> yangon = TimeZone::Load("Asia/Yangon");
  ASSERT_TRUE(yangon.ok());
  EXPECT_EQ(yangon->OffsetAt(t / 1000), 6 * 3600 + 1800);
  Result<TimeZone> utc = TimeZone::Load("UTC");
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(FormatLocalTime(t, *utc, "en"), "2026-12-01 07:00");
  EXPECT_EQ(FormatDate("2003-05-31", "th"), "31/05/2546");
  EXPECT_EQ(FormatDate("2003", "th"), "2546");
  EXPECT_EQ(FormatDate("2003-05-31", "en"), "2003-05-31");
}

TEST_F(WebUnitTest, TimeZoneNamesCannotLeaveTheZoneFolder) {
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("/etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("Asia/Nowhere").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "TZif").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "garbage").ok());
}

TEST_F(WebUnitTest, UrlEncodedFormsDecodeToText) {
  auto f = ParseUrlEncoded("a=1&b=x+y%21&a=2&c&d=%ff%fe&e=%E0%B8%81&bad=%zz");
  EXPECT_EQ(f["a"], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(f["b"].front(), "x y!");
  EXPECT_EQ(f["c"].front(), "");
  EXPECT_EQ(f["d"].front(), "\xef\xbf\xbd\xef\xbf\xbd") << "invalid UTF-8 becomes U+FFFD";
  EXPECT_EQ(f["e"].front(), "\xe0\xb8\x81") << "Thai stays Thai";
  EXPECT_EQ(f["bad"].front(), "%zz");
}

Request FormRequest(std::map<std::string, std::vector<std::string>> form) {
  Request r;
  r.method = "POST";
  r.form = std::move(form);
  return r;
}

TEST_F(WebUnitTest, FormsBecomePayloadsAndBack) {
  Request r = FormRequest({{"person.first_name", {" Mya "}},
                           {"person.languages", {"my", "th"}},
                           {"person.is_child", {"yes"}},
                           {"investigation.evidence_refs", {"A-1\r\nB-2\n\n"}},
                           {"context.places.transit.country", {"LA"}},
                           {"context.places.transit.location", {"Houayxay"}},
                           {"needs.risk_to_person", {""}}});
  Json p = PayloadFromForm(r, {"person", "context", "needs", "investigation"});
  EXPECT_EQ(p["person"]["first_name"], "Mya");
  EXPECT_EQ(p["person"]["languages"], Json({"my", "th"}));
  EXPECT_EQ(p["person"]["is_child"], true);
  EXPECT_EQ(p["investigation"]["evidence_refs"], Json({"A-1", "B-2"}));
  EXPECT_EQ(p["context"]["places"][0]["stage"], "transit");
  EXPECT_FALSE(p.contains("needs")) << "an empty section is left out";
  const auto values = FormValues(p);
  EXPECT_NE(
      std::find(values.begin(), values.end(),
                std::pair<std::string, std::string>{"investigation.evidence_refs", "A-1\nB-2"}),
      values.end());
  EXPECT_NE(std::find(values.begin(), values.end(),
                      std::pair<std::string, std::string>{"context.places.transit.country", "LA"}),
            values.end());
  // Sections the form was not asked for are never read from it.
  EXPECT_FALSE(PayloadFromForm(r, {"needs"}).contains("person"));
}

// The errors at `path` of `errors`.
std::vector<FieldError> At(const std::vector<FieldError>& errors, const std::string& path) {
  std::vector<FieldError> out;
  for (const FieldError& e : errors) {
    if (e.path == path) out.push_back(e);
  }
  return out;
}

TEST_F(WebUnitTest, FormsAreCheckedByTheCaseDataValidation) {
  const int64_t now = 1796601600000;  // 2026-12-07
  Json p = {{"person",
             {{"first_name", "Mya"},
              {"birth_date", "2003-02-30"},
              {"nationality", "XX"},
              {"languages", {"my", "Burmese"}}}},
            {"context",
             {{"places",
               {{{"stage", "recruitment"}, {"country", "MM"}},
                {{"stage", "transit"}, {"country", "Laos"}}}}}},
            {"needs", {{"risk_to_person", "Extreme"}}},
            {"consent", {{"share_with_roles", {"shelter"}}}}};
  const std::vector<FieldError> errors = CheckForm("referral_offer", p, Dir(), false, now);
  // Every error of the validation, each at the form's field it concerns.
  ValidateOptions o;
  o.kind = wire::Kind::ReferralOffer;
  o.now_ms = now;
  const std::vector<FieldError> same = ValidateCase(p, Dir(), o);
  ASSERT_EQ(errors.size(), same.size());
  for (size_t i = 0; i < errors.size(); ++i) EXPECT_EQ(errors[i].message, same[i].message);
  for (const char* path : {"person.birth_date", "person.nationality", "person.languages",
                           "context.places.transit.country", "needs.risk_to_person",
                           "case.reason_for_referral", "consent.share_sections", "consent.date"}) {
    EXPECT_EQ(At(errors, path).size(), 1u) << path;
  }
  EXPECT_NE(At(errors, "context.places.transit.country")[0].message.find("LA"), std::string::npos)
      << "the fix is spelled out: " << At(errors, "context.places.transit.country")[0].message;
  EXPECT_TRUE(At(errors, "context.places.recruitment.country").empty());
  // A missing section is shown at the field that fills it.
  const std::vector<FieldError> empty =
      CheckForm("repatriation_request", Json::object(), Dir(), false, now);
  for (const char* path :
       {"person.first_name", "repatriation.origin_address", "consent.share_sections"}) {
    EXPECT_EQ(At(empty, path).size(), 1u) << path;
  }
  EXPECT_TRUE(At(CheckForm("repatriation_request", Json::object(), Dir(), true, now),
                 "consent.share_sections")
                  .empty())
      << "a reason to share without consent";

  Json good = {{"case", {{"reason_for_referral", "a raid"}}},
               {"person", {{"first_name", "Mya"}, {"birth_date", "2003"}, {"nationality", "MM"}}},
               {"needs", {{"immediate_needs", {"Shelter"}}, {"risk_to_person", "High"}}},
               {"consent",
                {{"share_sections", {"person", "needs"}},
                 {"share_with_roles", {"shelter"}},
                 {"date", "2026-12-01"},
                 {"recorded_by", "nok"}}}};
  EXPECT_TRUE(CheckForm("referral_offer", good, Dir(), false, now).empty());
  good["person"]["second_name"] = std::string(kMaxFieldBytes + 1, 'x');
  EXPECT_EQ(At(CheckForm("referral_offer", good, Dir(), false, now), "person.second_name").size(),
            1u);
}

TEST_F(WebUnitTest, EveryChoiceIsAValueTheValidationAcceptsAndHasWords) {
  Fixture f = Builtin();
  for (const SectionSpec& s : FormSections()) {
    for (const FieldSpec& field : s.fields) {
      if (field.type != FieldType::kChoice && field.type != FieldType::kChoices) continue;
      EXPECT_FALSE(field.choices.empty()) << field.path;
      for (std::string_view v : field.choices) {
        Request r;
        r.method = "POST";
        r.form[std::string(field.path)] = {std::string(v)};
        const Json p = PayloadFromForm(r, {std::string(s.name)});
        EXPECT_TRUE(CheckForm("status_update", p, Dir(), false, 0).empty())
            << field.path << " = " << v;
        // Words of their own ("Feminine" -> "Female"), which the Thai catalog translates.
        EXPECT_NE(f.tr.Tr("th", ChoiceWords(v)), ChoiceWords(v))
            << field.path << " = " << v << " has no words in Thai";
      }
    }
  }
}

TEST_F(WebUnitTest, TheValidationsMessagesForMissingFieldsAreInThai) {
  Fixture f = Builtin();
  for (const char* kind : {"referral_offer", "repatriation_request"}) {
    for (const FieldError& e : CheckForm(kind, Json::object(), Dir(), false, 0)) {
      EXPECT_NE(ErrorText(f.tr, "th", e), e.message) << e.message;
      EXPECT_EQ(ErrorText(f.tr, "en", e), e.message);
    }
    Json consent = {{"consent", {{"purpose", "care"}}}};
    for (const FieldError& e : CheckForm(kind, consent, Dir(), false, 0)) {
      EXPECT_NE(ErrorText(f.tr, "th", e), e.message) << e.message;
    }
  }
}

// The messages with values: the words from the Thai catalog, the values filled in, a country by
// its Thai name, a value of a list by the words the form shows for it. The command line's
// English (FieldError::message) is the same phrase with the values as written.
TEST_F(WebUnitTest, TheValidationsMessagesWithValuesAreInThai) {
  Fixture f = Builtin();
  const int64_t now = 1796601600000;  // 2026-12-07
  Json p = {{"person",
             {{"first_name", "Mya"},
              {"birth_date", "29/11/2569"},
              {"nationality", "Laos"},
              {"gender", "Femenine"},
              {"languages", {"Burmese"}}}},
            {"context", {{"places", {{{"stage", "transit"}, {"country", "la"}}}}}},
            {"needs", {{"risk_to_person", "Hihg"}, {"immediate_needs", {"Shelter"}}}},
            {"case", {{"reason_for_referral", "a raid"}, {"referral_date", "2027-01-02"}}},
            {"consent",
             {{"share_sections", {"persn"}},
              {"share_with_roles", {"polise"}},
              {"share_with_agencies", {"TH.SHELTER.KREDTRAKRN"}},
              {"date", "2026-02-30"},
              {"recorded_by", "nok"}}}};
  const std::vector<FieldError> errors = CheckForm("referral_offer", p, Dir(), false, now);
  auto th = [&](const char* path) {
    std::vector<FieldError> at = At(errors, path);
    EXPECT_EQ(at.size(), 1u) << path;
    return at.empty() ? std::string() : ErrorText(f.tr, "th", at[0]);
  };
  EXPECT_EQ(th("person.birth_date"),
            "29/11/2569 ดูเหมือนเป็นวันที่แบบพุทธศักราช: ให้เขียนเป็น ค.ศ. 2026-11-29");
  EXPECT_EQ(At(errors, "person.birth_date")[0].message,
            "29/11/2569 looks like a Buddhist-era date: write 2026-11-29")
      << "the command line's words are unchanged";
  const std::string laos(f.tr.Tr("th", "Lao People's Democratic Republic"));
  ASSERT_NE(laos, "Lao People's Democratic Republic");
  EXPECT_EQ(th("person.nationality"), "Laos เป็นชื่อประเทศ: ให้ใช้รหัส ISO 3166-1 คือ LA (" + laos + ")");
  EXPECT_EQ(th("context.places.transit.country"),
            "รหัสประเทศต้องเป็นตัวพิมพ์ใหญ่: ให้ใช้รหัส ISO 3166-1 คือ LA (" + laos + ")");
  EXPECT_NE(th("needs.risk_to_person").find("'สูง'"), std::string::npos)
      << "the nearest value in the words the form shows: " << th("needs.risk_to_person");
  EXPECT_NE(th("person.gender").find(std::string(f.tr.Tr("th", "Female"))), std::string::npos)
      << th("person.gender");
  EXPECT_NE(th("person.languages").find(std::string(f.tr.Tr("th", "Burmese"))), std::string::npos)
      << th("person.languages");
  EXPECT_NE(th("consent.share_sections").find(std::string(f.tr.Tr("th", "Person"))),
            std::string::npos)
      << th("consent.share_sections");
  EXPECT_NE(th("consent.share_with_roles").find(std::string(f.tr.Tr("th", "police"))),
            std::string::npos)
      << th("consent.share_with_roles");
  EXPECT_NE(th("consent.share_with_agencies").find("TH.SHELTER.KREDTRAKARN"), std::string::npos);
  EXPECT_EQ(th("consent.date"), "2026-02-30 ไม่ใช่วันที่ที่มีอยู่ในปฏิทิน (ปปปป-ดด-วว แบบ ค.ศ.)");
  EXPECT_EQ(th("case.referral_date"), "2027-01-02 เป็นวันในอนาคต (วันนี้คือ 2026-12-07)");
  for (const FieldError& e : errors) {
    // Every message in Thai words, the English one as the command line says it.
    ASSERT_FALSE(e.phrase.empty()) << e.path;
    EXPECT_NE(f.tr.Tr("th", e.phrase.words), e.phrase.words) << e.phrase.words;
    EXPECT_EQ(English(e.phrase), e.message);
    EXPECT_EQ(ErrorText(f.tr, "th", e).find('%'), std::string::npos) << ErrorText(f.tr, "th", e);
  }
  // A list of values, joined in Thai.
  Json unknown = {{"persn", {{"first_name", "Mya"}}}, {"needs", {{"risk_to_person", "Extreme"}}}};
  const std::vector<FieldError> more = CheckForm("status_update", unknown, Dir(), false, now);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].message, "unknown section 'persn': did you mean 'person'?");
  EXPECT_EQ(ErrorText(f.tr, "th", more[0]), "ไม่รู้จักหมวดข้อมูล 'persn': หมายถึง 'person' หรือไม่");
  EXPECT_NE(ErrorText(f.tr, "th", more[1])
                .find(std::string(f.tr.Tr("th", "Medium")) + " หรือ " +
                      std::string(f.tr.Tr("th", "High"))),
            std::string::npos)
      << ErrorText(f.tr, "th", more[1]);
  EXPECT_EQ(more[1].message,
            "'Extreme' is not a value of DOMAIN.md (no HTCDS field); write Low, "
            "Medium or High");
  EXPECT_NE(ErrorText(f.tr, "th", more[1]).find("DOMAIN.md (ไม่มีช่องข้อมูลใน HTCDS)"),
            std::string::npos)
      << ErrorText(f.tr, "th", more[1]);
  for (const Enumeration& e : Enumerations()) {
    // Where the values come from, in Thai where it is more than a name.
    if (std::string(e.source).find_first_of("()") != std::string::npos) {
      EXPECT_NE(f.tr.Tr("th", e.source), e.source) << e.source;
    }
  }
  // A date a step form checks, and a text too long for any field.
  FieldError date{"date", "2569-12-15", ""};
  date.phrase = CheckDatePhrase("2569-12-15", false);
  date.message = English(date.phrase);
  EXPECT_EQ(date.message, CheckDate("2569-12-15", false));
  EXPECT_EQ(ErrorText(f.tr, "th", date),
            "2569-12-15 ดูเหมือนเป็นวันที่แบบพุทธศักราช: ให้เขียนเป็น ค.ศ. 2026-12-15");
  FieldError long_text{"note", "", English(TooLongPhrase())};
  long_text.phrase = TooLongPhrase();
  EXPECT_EQ(long_text.message, "longer than 4000 bytes");
  EXPECT_EQ(ErrorText(f.tr, "th", long_text), "ยาวเกิน 4000 ไบต์");
  // A value that carries a placeholder is not filled in again.
  EXPECT_EQ(FillPlaceholders("%1 and %2", {"%2", "x"}), "%2 and x");
}

// The consent check's reasons, which a review before sending shows: in Thai too, the section in
// its words; the same phrase through the step's --preview --json (PhraseToJson) as in the agent.
TEST_F(WebUnitTest, TheConsentChecksReasonsAreInThai) {
  Fixture f = Builtin();
  ConsentRecord c;
  c.share_sections = {"person"};
  c.share_with_roles = {"shelter"};
  ConsentRecord revoked = c;
  revoked.revoked = true;
  revoked.revoked_reason = "asked on 2026-12-01";
  struct Case {
    std::optional<ConsentRecord> consent;
    std::string section, agency, role, thai;
  };
  const std::vector<Case> cases = {
      {std::nullopt, "person", "TH.SHELTER.A", "shelter", "ยังไม่มีการบันทึกความยินยอม"},
      {revoked, "person", "TH.SHELTER.A", "shelter", "บุคคลได้ถอนความยินยอมแล้ว (asked on 2026-12-01)"},
      {c, "person", "TH.NGO.X", "ngo", "ไม่ครอบคลุมการแบ่งปันกับ TH.NGO.X"},
      {c, "needs", "TH.SHELTER.A", "shelter", "ไม่ครอบคลุมหมวด"},
  };
  for (const Case& k : cases) {
    const Phrase p = ConsentProblem(k.consent, {"case", k.section}, k.agency, k.role);
    ASSERT_FALSE(p.empty()) << k.section << " " << k.agency;
    EXPECT_EQ(English(p), CheckConsent(k.consent, {"case", k.section}, k.agency, k.role).message())
        << "the command line's words are unchanged";
    Result<Json> parsed = json::Parse(PhraseToJson(p).dump());
    ASSERT_TRUE(parsed.ok());
    const Phrase back = PhraseFromJson(*parsed);
    EXPECT_EQ(back.words, p.words);
    ASSERT_EQ(back.args.size(), p.args.size());
    const std::string th = PhraseText(f.tr, "th", back);
    EXPECT_NE(th.find(k.thai), std::string::npos) << th;
    EXPECT_NE(th.find(std::string(f.tr.Tr("th", ChoiceWords(k.section)))), std::string::npos) << th;
    EXPECT_EQ(th.find('%'), std::string::npos) << th;
    EXPECT_EQ(PhraseText(f.tr, "en", back).find(k.section + " section"), std::string::npos)
        << "English in the inbox names the section in its words too";
  }
  EXPECT_TRUE(ConsentProblem(c, {"case", "person"}, "TH.SHELTER.A", "shelter").empty());
  EXPECT_TRUE(PhraseFromJson(Json("not a phrase")).empty());
}

TEST_F(WebUnitTest, SessionsEndAfterIdleTimeAndTokensArePerSessionAndForm) {
  FakeClock clock(1000000);
  SessionTable sessions(clock, 15 * 60 * 1000);
  Session s;
  s.user = "nok";
  s.role = "caseworker";
  const std::string token = sessions.Create(s);
  EXPECT_EQ(token.size(), 64u);
  std::optional<Session> live = sessions.Touch(token);
  ASSERT_TRUE(live);
  const std::string csrf = SessionTable::CsrfToken(*live, "/case/x/step/accept");
  EXPECT_TRUE(SessionTable::CheckCsrf(*live, "/case/x/step/accept", csrf));
  EXPECT_FALSE(SessionTable::CheckCsrf(*live, "/case/x/step/decline", csrf));
  EXPECT_FALSE(SessionTable::CheckCsrf(*live, "/case/x/step/accept", ""));
  const std::string other = sessions.Create(s);
  EXPECT_FALSE(SessionTable::CheckCsrf(*sessions.Touch(other), "/case/x/step/accept", csrf));
  clock.Advance(14 * 60 * 1000);
  EXPECT_TRUE(sessions.Touch(token)) << "a request restarts the idle time";
  clock.Advance(14 * 60 * 1000);
  EXPECT_TRUE(sessions.Touch(token));
  clock.Advance(10 * 60 * 1000);
  EXPECT_TRUE(sessions.Peek(token)) << "a live update sees the session";
  clock.Advance(5 * 60 * 1000 + 1);
  EXPECT_FALSE(sessions.Peek(token)) << "but does not keep it alive";
  EXPECT_FALSE(sessions.Touch(token)) << "idle for more than 15 minutes";
  EXPECT_FALSE(sessions.Touch(token)) << "and gone";
  EXPECT_FALSE(sessions.Touch("not a token"));
  const std::string a = sessions.Create(s), b = sessions.Create(s);
  sessions.EndUser("nok");
  EXPECT_FALSE(sessions.Touch(a));
  EXPECT_FALSE(sessions.Touch(b));
}

TEST_F(WebUnitTest, FailedLoginsSlowDownAnAddressNotTheUserEverywhere) {
  FakeClock clock(1000000);
  LoginThrottle t(clock);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t.WaitSeconds("nok", "10.0.0.9"), 0);
    t.Failed("nok", "10.0.0.9");
  }
  t.Failed("nok", "10.0.0.9");
  EXPECT_GT(t.WaitSeconds("nok", "10.0.0.9"), 0) << "five failures: the address waits";
  EXPECT_GT(t.WaitSeconds("somebody", "10.0.0.9"), 0) << "for every user";
  EXPECT_EQ(t.WaitSeconds("nok", "10.0.0.7"), 0) << "another address is not slowed";
  // Attacks on the user from many addresses: the user is guarded, yet open from a clean desk.
  for (int i = 0; i < 20; ++i) t.Failed("nok", "192.0.2." + std::to_string(i));
  EXPECT_GT(t.WaitSeconds("nok", "192.0.2.3"), 0);
  EXPECT_EQ(t.WaitSeconds("nok", "10.0.0.7"), 0);
  t.Succeeded("nok", "10.0.0.7");
  clock.Advance(2 * 3600 * 1000);
  EXPECT_EQ(t.WaitSeconds("nok", "10.0.0.9"), 0) << "failures are forgotten after an hour";
}

Result<WebConfig> ParseWeb(const std::string& text) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(text, "agent.toml"));
  const toml::table* web = doc.root["web"].as_table();
  if (web == nullptr) return InvalidArgument("no [web]");
  return ParseWebConfig(*web, "agent.toml", [](const std::string& p) { return "/cfg/" + p; });
}

TEST_F(WebUnitTest, WebConfigDefaultsAndRefusals) {
  Result<WebConfig> c = ParseWeb("[web]\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8470);
  EXPECT_EQ(c->idle_logout_s, 900);
  EXPECT_FALSE(c->tls());
  EXPECT_EQ(c->AllowedHosts(), (std::vector<std::string>{"127.0.0.1:{port}", "localhost:{port}"}));

  Result<WebConfig> open = ParseWeb("[web]\nlisten = \"0.0.0.0:8470\"\n");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("agent.toml:2"), std::string::npos)
      << open.status().message();
  EXPECT_NE(open.status().message().find("tls_cert"), std::string::npos);

  Result<WebConfig> tls = ParseWeb(
      "[web]\nlisten = \"192.0.2.1:443\"\ntls_cert = \"w.crt\"\ntls_key = \"w.key\"\n"
      "hosts = [\"inbox.example.org\"]\ntime_zone = \"Asia/Bangkok\"\nlanguage = \"th\"\n");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->tls_cert, "/cfg/w.crt");
  EXPECT_EQ(tls->AllowedHosts().front(), "inbox.example.org");

  for (const char* bad : {"[web]\nlisten = \"127.0.0.1\"\n", "[web]\nlisten = \"localhost:80\"\n",
                          "[web]\nlisten = \"127.0.0.1:70000\"\n", "[web]\ntls_cert = \"w.crt\"\n",
                          "[web]\ntime_zone = \"Mars/Olympus\"\n", "[web]\nlanguage = \"xx\"\n",
                          "[web]\nidle_logout_s = 0\n", "[web]\nmax_body_bytes = 1\n",
                          "[web]\nlisten_on = \"x\"\n"}) {
    EXPECT_FALSE(ParseWeb(bad).ok()) << bad;
  }
}

TEST_F(WebUnitTest, DeliveryStatesOfAStep) {
  MessageRecord m;
  m.direction = "out";
  m.to = {"A", "B"};
  const std::pair<std::string_view, Delivery> sent[] = {
      {kWaitingToSend, Delivery::kWaiting}, {kAtTheBroker, Delivery::kAtBroker},
      {kDelivered, Delivery::kDelivered},   {kNotDelivered, Delivery::kActionNeeded},
      {"pending", Delivery::kWaiting},  // a record of an earlier version
      {"accepted", Delivery::kAtBroker},    {"refused", Delivery::kActionNeeded}};
  for (const auto& [state, d] : sent) {
    m.state = std::string(state);
    EXPECT_EQ(DeliveryOf(m), d) << state;
  }
  // The words are agent/step_state.h's, as every command gives them.
  for (std::string_view state : kSentStates) {
    m.state = std::string(state);
    EXPECT_EQ(DeliveryWords(DeliveryOf(m)), state);
  }
  EXPECT_TRUE(NeedsAction(Delivery::kActionNeeded));
  EXPECT_FALSE(NeedsAction(Delivery::kAtBroker));
  m.direction = "in";
  for (std::string_view state : {kNew, kRead, kHeld, kRefusedHere}) {
    m.state = std::string(state);
    EXPECT_EQ(DeliveryWords(DeliveryOf(m)), state);
  }
  m.state = std::string(kHeld);
  EXPECT_TRUE(NeedsAction(DeliveryOf(m))) << "a step waiting for an earlier one";
  Fixture f = Builtin();
  for (Delivery d :
       {Delivery::kWaiting, Delivery::kAtBroker, Delivery::kDelivered, Delivery::kActionNeeded,
        Delivery::kNew, Delivery::kRead, Delivery::kHeld, Delivery::kRefusedHere}) {
    EXPECT_NE(f.tr.Tr("th", DeliveryWords(d)), DeliveryWords(d)) << "Thai for " << DeliveryWords(d);
  }
}

TEST_F(WebUnitTest, WhatDidNotGetThroughIsListedFirst) {
  CaseInfo c;
  c.ref = "c1";
  c.state = "offered";
  auto message = [](std::string id, std::string direction, std::string kind, int64_t at,
                    std::string_view state) {
    MessageRecord r;
    r.id = std::move(id);
    r.direction = std::move(direction);
    r.kind = std::move(kind);
    r.state = std::string(state);
    MessageInfo m;
    m.id = r.id;
    m.direction = r.direction;
    m.kind = r.kind;
    m.at_ms = at;
    m.state = r.state;
    m.delivery = DeliveryOf(r);
    return m;
  };
  c.messages = {message("offer", "in", "referral_offer", 100, kRead),
                message("sent", "out", "status_update", 200, kNotDelivered),
                message("held", "in", "referral_revoke", 300, kHeld),
                message("ok", "out", "status_update", 50, kDelivered),
                message("r", "in", "receipt", 60, kRead)};
  std::vector<Listed> action, activity;
  CaseIndex::List(c, action, activity);
  std::sort(action.begin(), action.end(), ActionFirst);
  ASSERT_EQ(action.size(), 3u);
  EXPECT_EQ(action[0].m->id, "sent");
  EXPECT_STREQ(action[0].why, "Not delivered: action needed");
  EXPECT_EQ(action[1].m->id, "held");
  EXPECT_STREQ(action[1].why, "Waiting for an earlier step");
  EXPECT_EQ(action[2].m->id, "offer") << "then what the workflow waits for, although older";
  EXPECT_STREQ(action[2].why, "Offer waiting for your decision");
  EXPECT_EQ(activity.size(), 4u) << "every step but the receipt";

  // The case's attention, when no step of it is listed for it.
  CaseInfo quiet;
  quiet.ref = "c2";
  quiet.state = "accepted";
  quiet.attention = "waiting for an earlier step: referral_accept 0a1b from X";
  quiet.messages = {message("ok", "out", "referral_offer", 10, kDelivered)};
  action.clear();
  CaseIndex::List(quiet, action, activity);
  ASSERT_EQ(action.size(), 1u);
  EXPECT_STREQ(action[0].why, "Needs attention");
}

// What the agent says about a step is translated by its words, with its values kept apart: the
// policy's reason for refusing a route, inside the broker's refusal, inside "what to do". The
// command line's English is the same text, and a text whose words do not match is shown as it is.
TEST_F(WebUnitTest, ThePolicysReasonAndARefusedStepAreShownInThai) {
  const Fixture f = Builtin();
  policy::Decision d;
  d.reason = "no rule allows shelter -> police for counselling_notes within TH";
  d.reason_words = "no rule allows %1 -> %2 for %3 within %4";
  using V = policy::ReasonValue;
  d.reason_values = {{V::Kind::kRole, "shelter"},
                     {V::Kind::kRole, "police"},
                     {V::Kind::kKind, "counselling_notes"},
                     {V::Kind::kCountry, "TH"}};
  const Phrase reason = PolicyReason(d);
  ASSERT_EQ(English(reason), d.reason);
  auto th = [&](std::string_view msgid) { return std::string(f.tr.Tr("th", msgid)); };
  const std::string thai = SaidText(f.tr, "th", d.reason, reason);
  EXPECT_EQ(thai, FillPlaceholders(th(d.reason_words),
                                   {th("shelter"), th("police"), th("Counselling notes"), "TH"}));
  EXPECT_EQ(thai.find("no rule"), std::string::npos) << thai;
  EXPECT_EQ(SaidText(f.tr, "en", d.reason, reason), d.reason);
  EXPECT_EQ(SaidText(f.tr, "th", "free text", reason), "free text")
      << "words that are not the text's are not shown for it";

  const Phrase refused =
      Say("refused by the broker: %1: %2", {AsIs("permission_denied"), Nested(reason)});
  const Phrase detail =
      Say("%1. What to do: %2", {Nested(refused), Nested(WhatToDo("permission_denied"))});
  EXPECT_EQ(English(detail), "refused by the broker: permission_denied: " + d.reason +
                                 ". What to do: " + English(WhatToDo("permission_denied")));
  const std::string shown = SaidText(f.tr, "th", English(detail), detail);
  EXPECT_NE(shown.find(thai), std::string::npos) << shown;
  EXPECT_NE(shown.find(th("refused by the broker: %1: %2").substr(0, 12)), std::string::npos);
  EXPECT_EQ(shown.find("What to do"), std::string::npos) << shown;
  EXPECT_EQ(PhraseFromJson(PhraseToJson(detail)).words, detail.words);
  EXPECT_EQ(English(PhraseFromJson(PhraseToJson(detail))), English(detail));
}

// A receiving agency's own refusals: its words translated, a value from deeper down (another
// party's text, a Status message) kept as it is inside them; the command line's English as
// before.
TEST_F(WebUnitTest, RefusalsHereAreShownInThaiWithTheirValuesAsTheyAre) {
  const Fixture f = Builtin();
  auto th = [&](std::string_view msgid) { return std::string(f.tr.Tr("th", msgid)); };
  auto shown = [&](const Phrase& p) { return SaidText(f.tr, "th", English(p), p); };
  const std::string id = "00112233445566778899aabbccddeeff";
  // The need-to-know policy of the receiving agent: its words, the role in Thai.
  const Phrase hold = MayNotHold("investigation", "shelter");
  const Status why = PermissionDenied(English(hold));
  EXPECT_EQ(why.message(),
            "payload holds the investigation section, which a shelter may not hold "
            "(need-to-know policy)");
  MessageRecord m;
  m.detail = why.WithContext("refused delivery " + id).message();
  SetDetail(m, RefusedDelivery(id, why, hold));
  ASSERT_EQ(m.detail, why.WithContext("refused delivery " + id).message());
  const Phrase note = RefusedHere(m);
  EXPECT_EQ(English(note), "REFUSED here: " + m.detail);
  const std::string thai = shown(note);
  EXPECT_EQ(thai,
            FillPlaceholders(
                th("REFUSED here: %1"),
                {FillPlaceholders(
                    th("refused delivery %1: %2"),
                    {id, FillPlaceholders(th(hold.words), {"investigation", th("shelter")})})}));
  EXPECT_EQ(thai.find("REFUSED"), std::string::npos) << thai;
  EXPECT_EQ(thai.find("need-to-know"), std::string::npos) << thai;
  // A Status message from inside verification: a value, shown as it is inside Thai words.
  const Status deep = InvalidArgument("payload: bad flatbuffer");
  const Phrase as_is = RefusedDelivery(id, deep);
  EXPECT_EQ(English(as_is), deep.WithContext("refused delivery " + id).message());
  EXPECT_EQ(shown(as_is), FillPlaceholders(th("refused delivery %1: %2"), {id, deep.message()}));
  EXPECT_EQ(English(RefusedDelivery(id, deep, hold)), English(as_is))
      << "words that are not the Status's are not kept for it";
  // A detail without words (an earlier version's): the note keeps it as a value.
  MessageRecord old;
  old.detail = "refused delivery " + id + ": something";
  EXPECT_EQ(shown(RefusedHere(old)), FillPlaceholders(th("REFUSED here: %1"), {old.detail}));
  // The case state machine's reason, a value inside "not applied here".
  const Phrase not_applied = NotAppliedHere(InvalidArgument("the case is closed; ..."));
  EXPECT_EQ(English(not_applied), "not applied here: the case is closed; ...");
  EXPECT_EQ(shown(not_applied),
            FillPlaceholders(th("not applied here: %1"), {"the case is closed; ..."}));
  EXPECT_NE(th("not applied here: %1"), "not applied here: %1");
  // A step held for the sender's earlier one: the agent's words, the id as it is.
  const Phrase held = HeldForEarlier("0011 2233");
  EXPECT_EQ(English(held), "held: waiting for the earlier step 0011 2233");
  EXPECT_EQ(shown(held),
            FillPlaceholders(th("held: waiting for the earlier step %1"), {"0011 2233"}));
  EXPECT_EQ(shown(held).find("held"), std::string::npos) << shown(held);
  // A partner broker's relay receipt: the country and the receipt as they are.
  const Phrase relayed = RelayedTo("KH", "KH.BROKER leaf 6 of its log of size 7");
  EXPECT_EQ(English(relayed),
            "relayed to KH broker, receipt KH.BROKER leaf 6 of its log of size 7");
  EXPECT_EQ(shown(relayed), FillPlaceholders(th("relayed to %1 broker, receipt %2"),
                                             {"KH", "KH.BROKER leaf 6 of its log of size 7"}));
  EXPECT_EQ(shown(relayed).find("relayed"), std::string::npos) << shown(relayed);
}

// The broker's refusals that are not the policy's are shown by their code, in words saying
// what happened and what happens next, with the broker's English detail beside them; the
// English is the command line's, as before.
TEST_F(WebUnitTest, TheBrokersRefusalsAreShownInThaiByTheirCode) {
  const Fixture f = Builtin();
  auto th = [&](std::string_view msgid) { return std::string(f.tr.Tr("th", msgid)); };
  auto shown = [&](const Phrase& p) { return SaidText(f.tr, "th", English(p), p); };
  const std::string disk = "the broker's disk is nearly full (12 MiB free); resend later";
  const Phrase later = SendAgainLater("resource_exhausted", disk);
  EXPECT_EQ(English(later),
            "the broker asked to send it again later (resource_exhausted: " + disk + ")");
  EXPECT_NE(shown(later).find(disk), std::string::npos) << shown(later);
  EXPECT_EQ(shown(later).find("asked to send"), std::string::npos) << shown(later);
  EXPECT_NE(shown(later), shown(SendAgainLater("unavailable", disk)))
      << "each code in its own words";
  EXPECT_EQ(English(SendAgainLater("unavailable", "x")),
            "the broker asked to send it again later (unavailable: x)");
  for (const char* code :
       {"invalid_argument", "already_exists", "unavailable", "resource_exhausted", "not_found",
        "unauthenticated", "internal", "permission_denied", "some_new_code"}) {
    const Phrase refused = RefusedByTheBroker(code, AsIs("a reason"));
    EXPECT_EQ(English(refused), std::string("refused by the broker: ") + code + ": a reason");
    const Phrase detail = Say("%1. What to do: %2", {Nested(refused), Nested(WhatToDo(code))});
    const std::string thai = shown(detail);
    EXPECT_NE(thai.find("a reason"), std::string::npos) << thai;
    EXPECT_EQ(thai.find("refused by the broker"), std::string::npos) << thai;
    EXPECT_EQ(thai.find("What to do"), std::string::npos) << thai;
  }
  EXPECT_NE(shown(RefusedByTheBroker("invalid_argument", AsIs("r"))),
            shown(RefusedByTheBroker("unauthenticated", AsIs("r"))));
  EXPECT_NE(shown(RefusedByTheBroker("invalid_argument", AsIs("r"))),
            FillPlaceholders(th("refused by the broker: %1: %2"), {"invalid_argument", "r"}))
      << "a code the broker gives has words of its own";
}

}  // namespace
}  // namespace nrm::agent::web
