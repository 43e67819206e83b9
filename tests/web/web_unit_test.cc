// The web inbox's parts, without a server: templates and escaping, catalogs, local time, forms
// and their checks, sessions and the login throttle (on a clock the test sets), the [web]
// config, delivery states. The inbox served by real agents is tested by the scripts beside this
// file (security_test.py, browser_test.py), run by ctest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/web/assets.h"
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

TEST_F(WebUnitTest, CountriesComeFromIsoCodes) {
  Fixture f = Builtin();
  ASSERT_GT(f.tr.countries().size(), 240u);
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

TEST_F(WebUnitTest, ChecksNameThePathTheValueAndWhatIsWrong) {
  Fixture f = Builtin();
  EXPECT_TRUE(IsDate("2024-02-29"));
  EXPECT_FALSE(IsDate("2023-02-29"));
  EXPECT_FALSE(IsDate("2023-13-01"));
  EXPECT_FALSE(IsDate("23-01-01"));
  Json p = {
      {"person", {{"first_name", "Mya"}, {"birth_date", "2003-02-30"}, {"nationality", "XX"}}},
      {"needs", {{"risk_to_person", "Extreme"}}},
      {"consent", {{"share_with_roles", {"shelter"}}}}};
  std::vector<FieldError> errors = CheckPayload("referral_offer", p, f.tr);
  auto has = [&](const std::string& path, const std::string& value) {
    return std::any_of(errors.begin(), errors.end(), [&](const FieldError& e) {
      return e.path == path && e.value == value && !e.message.empty();
    });
  };
  EXPECT_TRUE(has("person.birth_date", "2003-02-30"));
  EXPECT_TRUE(has("person.nationality", "XX"));
  EXPECT_TRUE(has("needs.risk_to_person", "Extreme"));
  EXPECT_TRUE(has("case.reason_for_referral", ""));
  EXPECT_TRUE(has("consent.purpose", ""));
  Json good = {{"case", {{"reason_for_referral", "a raid"}}},
               {"person", {{"first_name", "Mya"}, {"birth_date", "2003"}, {"nationality", "MM"}}},
               {"needs", {{"risk_to_person", "High"}}}};
  EXPECT_TRUE(CheckPayload("referral_offer", good, f.tr).empty());
  good["person"]["second_name"] = std::string(kMaxFieldChars + 1, 'x');
  EXPECT_FALSE(CheckPayload("referral_offer", good, f.tr).empty());
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
  m.state = "pending";
  EXPECT_EQ(DeliveryOf(m), Delivery::kWaiting);
  m.state = "accepted";
  EXPECT_EQ(DeliveryOf(m), Delivery::kAtBroker);
  m.receipts = {"r1"};
  EXPECT_EQ(DeliveryOf(m), Delivery::kAtBroker) << "one of two recipients confirmed";
  m.receipts = {"r1", "r2"};
  EXPECT_EQ(DeliveryOf(m), Delivery::kDelivered);
  m.note = "EXPIRED: never acknowledged by B";
  EXPECT_EQ(DeliveryOf(m), Delivery::kActionNeeded);
  m.note.clear();
  m.state = "refused";
  EXPECT_EQ(DeliveryOf(m), Delivery::kActionNeeded);
  EXPECT_EQ(DeliveryWords(Delivery::kActionNeeded), "not delivered: action needed");
  m.direction = "in";
  EXPECT_EQ(DeliveryOf(m), Delivery::kReceived);
}

}  // namespace
}  // namespace nrm::agent::web
