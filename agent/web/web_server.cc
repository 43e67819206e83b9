#include "agent/web/web_server.h"

#include <cstdio>
#include <regex>
#include <set>

#include "agent/web/pages.h"
#include "agent/web/site.h"
#include "agent/web/users.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"

namespace nrm::agent::web {
namespace {

using json::Json;

constexpr size_t kMinPassword = 10;

// A path of this inbox to go back to after logging in; anything else goes to the inbox.
std::string SafeNext(const std::string& next) {
  if (next.size() < 2 || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
      next.find_first_of("\r\n\\") != std::string::npos || next.starts_with("/login")) {
    return "/inbox";
  }
  return next;
}

std::string ContentType(const std::string& name) {
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  if (name.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

// The language for a page: the session's, else ?lang=, else the browser's if we speak it, else
// the inbox's default.
std::string PickLanguage(const Request& req, const std::string& fallback) {
  const std::string asked = req.Query("lang").empty() ? req.Form("lang") : req.Query("lang");
  if (IsLanguage(asked)) return asked;
  if (req.accept_language.starts_with("th")) return "th";
  return fallback;
}

class Router {
 public:
  explicit Router(Site& site) : site_(site) {
    Result<std::string> dummy = crypto::HashPassword(ToHex(crypto::RandomBytes(16)));
    dummy_hash_ = dummy.ok() ? *dummy : "";
  }

  Response Handle(const Request& req) {
    if (req.path.starts_with("/static/")) return Static(req);
    if (req.path == "/login") {
      const std::string lang = PickLanguage(req, site_.config().language);
      if (req.method == "POST") return Login(req, lang);
      return LoginPage(req, lang, "", 200);
    }
    // A path that is none of the inbox's pages is 404 before anything else (no login page
    // for /../../etc/passwd).
    static const std::regex kNew("^/new/(referral_offer|repatriation_request)$");
    static const std::regex kCase("^/case/([0-9a-f]{32})$");
    static const std::regex kStep("^/case/([0-9a-f]{32})/step/([a-z_]{1,40})$");
    static const std::regex kAdmin("^/case/([0-9a-f]{32})/(erase|relabel)$");
    static const std::set<std::string> kPages = {"/",         "/inbox",    "/updates", "/logout",
                                                 "/password", "/language", "/erased"};
    std::smatch m;
    const bool is_new = std::regex_match(req.path, m, kNew);
    const bool is_case = !is_new && std::regex_match(req.path, m, kCase);
    const bool is_step = !is_new && !is_case && std::regex_match(req.path, m, kStep);
    const bool is_admin = !is_new && !is_case && !is_step && std::regex_match(req.path, m, kAdmin);
    if (!is_new && !is_case && !is_step && !is_admin && kPages.count(req.path) == 0) {
      return Response::Text(404, "not found");
    }
    std::optional<Visit> visit = Authenticate(req, /*touch=*/req.path != "/updates");
    if (!visit) {
      const std::string lang = PickLanguage(req, site_.config().language);
      const bool had = !req.Cookie(site_.cookie_name()).empty();
      Response r =
          LoginPage(req, lang,
                    had ? site_.Tr(lang, "Your session has ended. Please log in again.") : "", 401);
      if (had) r.headers.emplace_back("Set-Cookie", Cookie(""));
      return r;
    }
    if (req.method == "POST" &&
        !SessionTable::CheckCsrf(visit->session, req.path, req.Form("csrf"))) {
      return site_.Problem(&*visit, visit->lang(), 403,
                           site_.Tr(visit->lang(),
                                    "This form is out of date or did not come from this inbox. "
                                    "Open the page again and repeat what you did."));
    }
    if (req.path == "/logout" && req.method == "POST") {
      site_.sessions().End(visit->token);
      Response r = Response::Redirect("/login");
      r.headers.emplace_back("Set-Cookie", Cookie(""));
      return r;
    }
    if (req.path == "/password") return Password(*visit, req);
    if (visit->session.must_change) return Response::Redirect("/password");
    if (req.path == "/language" && req.method == "POST") return ChangeLanguage(*visit, req);
    if (req.path == "/") return Response::Redirect("/inbox");
    if (req.path == "/inbox") return InboxPage(site_, *visit, req);
    if (req.path == "/updates") return UpdatesJson(site_, *visit);
    if (req.path == "/erased" && req.method != "POST") return ErasedCasesPage(site_, *visit, req);
    if (is_new) return NewCaseForm(site_, *visit, req, m[1]);
    if (is_case && req.method != "POST") return CasePage(site_, *visit, req, m[1]);
    if (is_step) return StepForm(site_, *visit, req, m[1], m[2]);
    if (is_admin && m[2] == "erase") return EraseForm(site_, *visit, req, m[1]);
    if (is_admin) return Relabel(site_, *visit, req, m[1]);
    return site_.Problem(&*visit, visit->lang(), 404,
                         site_.Tr(visit->lang(), "There is no such page."));
  }

 private:
  std::string Cookie(const std::string& token) const {
    std::string c = site_.cookie_name() + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
    if (site_.config().tls()) c += "; Secure";
    if (token.empty()) c += "; Max-Age=0";
    return c;
  }

  Response Static(const Request& req) {
    static const std::regex kName("^/static/([a-z0-9_-]{1,64}\\.(css|js|svg|png))$");
    std::smatch m;
    const std::string* data = nullptr;
    if (req.method != "POST" && std::regex_match(req.path, m, kName)) {
      data = site_.assets().Find("static/" + m[1].str());
    }
    if (data == nullptr) return Response::Text(404, "not found");
    Response r;
    r.content_type = ContentType(m[1].str());
    r.body = *data;
    return r;
  }

  // The visit of the session named by the request's cookie; `touch` restarts its idle time.
  std::optional<Visit> Authenticate(const Request& req, bool touch) {
    const std::string token = req.Cookie(site_.cookie_name());
    std::optional<Session> s = touch ? site_.sessions().Touch(token) : site_.sessions().Peek(token);
    if (!s) return std::nullopt;
    // A user disabled since logging in is out at once.
    Result<std::optional<User>> u = LoadUser(site_.store(), s->user);
    if (!u.ok() || !*u || (**u).disabled) {
      site_.sessions().End(token);
      return std::nullopt;
    }
    return Visit{token, std::move(*s), req.method == "GET" ? req.path : "/inbox"};
  }

  Response LoginPage(const Request& req, const std::string& lang, const std::string& error,
                     int status) {
    std::string next = req.method == "POST" ? req.Form("next") : req.Query("next");
    if (next.empty() && req.path != "/login") next = req.path;
    Json langs = Json::array();
    for (const Language& l : Languages()) {
      langs.push_back({{"code", std::string(l.code)},
                       {"name", std::string(l.name)},
                       {"href", "/login?lang=" + std::string(l.code) + "&next=" + SafeNext(next)}});
    }
    return site_.Page(nullptr, lang, "login",
                      {{"title", site_.Tr(lang, "Log in")},
                       {"error", error},
                       {"next", SafeNext(next)},
                       {"name", req.Form("user")},
                       {"login_languages", langs}},
                      status);
  }

  Response Login(const Request& req, const std::string& lang) {
    const std::string name = req.Form("user");
    const std::string password = req.Form("password");
    const std::string address = req.client;
    if (const int64_t wait = site_.throttle().WaitSeconds(name, address); wait > 0) {
      Response r = LoginPage(
          req, lang, site_.Tr(lang, "Too many failed logins. Wait a while before you try again."),
          429);
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
    Result<std::optional<User>> found = LoadUser(site_.store(), name);
    const bool known = found.ok() && *found && !(**found).disabled;
    // An unknown name costs the same Argon2id run as a known one.
    const bool ok =
        crypto::VerifyPassword(known ? (**found).password_hash : dummy_hash_, password) && known;
    if (!ok) {
      const int64_t n = site_.throttle().Failed(name, address);
      if (n <= 10 || n % 100 == 0) {
        std::fprintf(stderr, "nrm-agent web: failed login for %s from %s (%lld from there)\n",
                     known ? ("user '" + name + "'").c_str() : "an unknown user", address.c_str(),
                     static_cast<long long>(n));
      }
      return LoginPage(req, lang, site_.Tr(lang, "Wrong name or password."), 401);
    }
    site_.throttle().Succeeded(name, address);
    const User& u = **found;
    Session s;
    s.user = u.name;
    s.role = u.role;
    s.language = IsLanguage(u.language) ? u.language : lang;
    s.must_change = u.must_change;
    const std::string token = site_.sessions().Create(std::move(s));
    Response r = Response::Redirect(u.must_change ? "/password" : SafeNext(req.Form("next")));
    r.headers.emplace_back("Set-Cookie", Cookie(token));
    return r;
  }

  Response PasswordPage(const Visit& v, const std::string& error, int status) {
    return site_.Page(&v, v.lang(), "password",
                      {{"title", site_.Tr(v.lang(), "Choose a password")},
                       {"error", error},
                       {"must_change", v.session.must_change},
                       {"csrf", SessionTable::CsrfToken(v.session, "/password")}},
                      status);
  }

  Response Password(const Visit& v, const Request& req) {
    if (req.method != "POST") return PasswordPage(v, "", 200);
    const std::string& lang = v.lang();
    Result<std::optional<User>> found = LoadUser(site_.store(), v.session.user);
    if (!found.ok() || !*found) return site_.Problem(&v, lang, 500, "the user record is gone");
    User u = **found;
    const std::string fresh = req.Form("new_password");
    if (!crypto::VerifyPassword(u.password_hash, req.Form("current_password"))) {
      return PasswordPage(v, site_.Tr(lang, "The current password is not right."), 400);
    }
    if (fresh.size() < kMinPassword) {
      return PasswordPage(v, site_.Tr(lang, "A password has at least 10 characters."), 400);
    }
    if (fresh != req.Form("new_password_again")) {
      return PasswordPage(v, site_.Tr(lang, "The two new passwords differ."), 400);
    }
    if (fresh == req.Form("current_password")) {
      return PasswordPage(v, site_.Tr(lang, "Choose a password other than the one you had."), 400);
    }
    Result<std::string> hash = crypto::HashPassword(fresh);
    if (!hash.ok()) return site_.Problem(&v, lang, 503, hash.status().message());
    u.password_hash = *hash;
    u.must_change = false;
    Status saved = Internal("not run");
    // User records are written by the daemon's thread only.
    const bool ran =
        site_.daemon().Run([&](Outbox&) { saved = SaveUser(site_.store(), u); }, 30000);
    if (!ran || !saved.ok()) {
      return site_.Problem(&v, lang, 503,
                           site_.Tr(lang, "The password was not changed. Try again."));
    }
    Session s = v.session;
    s.must_change = false;
    site_.sessions().Update(v.token, s);
    return Response::Redirect("/inbox");
  }

  Response ChangeLanguage(const Visit& v, const Request& req) {
    const std::string lang = req.Form("lang");
    if (!IsLanguage(lang)) return site_.Problem(&v, v.lang(), 400, "unknown language");
    Session s = v.session;
    s.language = lang;
    site_.sessions().Update(v.token, s);
    const std::string name = v.session.user;
    AgentStore& store = site_.store();
    site_.daemon().Post([&store, name, lang](Outbox&) {
      Result<std::optional<User>> u = LoadUser(store, name);
      if (u.ok() && *u) {
        User changed = **u;
        changed.language = lang;
        (void)SaveUser(store, changed);
      }
    });
    return Response::Redirect(SafeNext(req.Form("next")));
  }

  Site& site_;
  std::string dummy_hash_;
};

}  // namespace

WebServer::~WebServer() { Stop(); }

Result<std::unique_ptr<WebServer>> WebServer::Start(const WebConfig& config,
                                                    const std::string& data_dir, Agent& agent,
                                                    AgentStore& store) {
  NRM_ASSIGN_OR_RETURN(Assets assets, Assets::Load(config.templates));
  NRM_ASSIGN_OR_RETURN(Templates templates, Templates::Compile(assets));
  NRM_ASSIGN_OR_RETURN(Translator translator, Translator::Load(assets));
  NRM_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(config.time_zone));
  HttpOptions options;
  options.host = config.listen_host;
  options.port = config.listen_port;
  if (config.tls()) {
    NRM_ASSIGN_OR_RETURN(options.tls_cert_pem, ReadFile(config.tls_cert));
    NRM_RETURN_IF_ERROR(CheckPrivateFile(config.tls_key));
    NRM_ASSIGN_OR_RETURN(options.tls_key_pem, ReadFile(config.tls_key));
  }
  options.allowed_hosts = config.AllowedHosts();
  options.max_connections = static_cast<unsigned>(config.max_connections);
  options.max_body_bytes = static_cast<size_t>(config.max_body_bytes);

  auto server = std::unique_ptr<WebServer>(new WebServer());
  server->site_ =
      std::make_unique<Site>(config, agent, store, std::move(assets), std::move(templates),
                             std::move(translator), std::move(zone));
  Site* site = server->site_.get();
  NRM_RETURN_IF_ERROR(site->index().Build(store));
  store.SetWriteObserver([site](const std::vector<MessageRecord>& m,
                                const std::vector<CaseRecord>& c) { site->index().Apply(m, c); });
  store.SetEraseObserver([site](const std::string& ref) { site->index().Erased(ref); });
  auto router = std::make_shared<Router>(*site);
  NRM_ASSIGN_OR_RETURN(server->http_, HttpServer::Start(options, [router](const Request& req) {
                         return router->Handle(req);
                       }));
  server->url_ = server->http_->Url();
  NRM_RETURN_IF_ERROR(WriteFileAtomic(data_dir + "/web.url", server->url_ + "\n", 0600));
  return server;
}

void WebServer::RunPending(Outbox& outbox, const BrokerLink& link) {
  if (!site_) return;
  site_->Refresh(link);
  site_->daemon().RunPending(outbox);
}

void WebServer::Stop() {
  if (!site_) return;
  site_->daemon().Stop();  // a request waiting for a step hears "not done"
  http_.reset();           // waits for the requests in progress
  site_->store().SetWriteObserver(nullptr);
  site_->store().SetEraseObserver(nullptr);
  site_.reset();
}

std::string WebServer::Url() const { return url_; }

}  // namespace nrm::agent::web
