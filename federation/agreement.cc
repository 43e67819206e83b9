#include "federation/agreement.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "federation/signed_text.h"

namespace nrm::federation {
namespace {

constexpr std::string_view kAgreementContext = "nrm/agreement/v1";
constexpr std::string_view kSignaturePrefix = "signature-";

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Status CheckAgreementId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return Status::Ok();
  return InvalidArgument("id must be 1 to 64 characters of a-z 0-9 - (e.g. th-kh-2003)");
}

// A non-empty list of distinct names, each accepted by `check`.
template <typename Check>
Result<std::vector<std::string>> NameList(const toml::table& t, std::string_view key,
                                          const std::string& path, Check check) {
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> list, config::GetStringArray(t, key, path));
  const std::string where = config::Where(path, *t.get(key));
  if (list.empty()) return InvalidArgument(where + ": '" + std::string(key) + "' is empty");
  std::set<std::string> seen;
  for (const std::string& name : list) {
    NRM_RETURN_IF_ERROR(check(name).WithContext(where));
    if (!seen.insert(name).second) {
      return InvalidArgument(where + ": '" + name + "' appears twice in '" + std::string(key) +
                             "'");
    }
  }
  return list;
}

Status CheckRole(const std::string& role) {
  if (identity::IsRole(role)) return Status::Ok();
  std::string shown;
  for (char c : role.substr(0, 40)) shown += (c >= 0x20 && c < 0x7F) ? c : '?';
  return InvalidArgument("unknown role '" + shown +
                         "' (expected police, shelter, ngo, ministry, immigration, io or "
                         "monitor)");
}
Status CheckKind(const std::string& kind) {
  if (kind == "unknown") return InvalidArgument("unknown message kind 'unknown'");
  return wire::KindFromName(kind).status();
}

Result<AgreementTerms> ParseTerms(std::string_view body, const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(body, path));
  const toml::table& root = doc.root;
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(root,
                                             {"id", "version", "title", "mou", "countries",
                                              "valid_from", "valid_until", "max_handling", "route"},
                                             path));
  auto where = [&](std::string_view key) { return config::Where(path, *root.get(key)); };
  AgreementTerms t;
  NRM_ASSIGN_OR_RETURN(t.id, config::GetString(root, "id", path));
  NRM_RETURN_IF_ERROR(CheckAgreementId(t.id).WithContext(where("id")));
  NRM_ASSIGN_OR_RETURN(t.version, config::GetInt(root, "version", path));
  if (t.version < 1) return InvalidArgument(where("version") + ": version must be 1 or more");
  NRM_ASSIGN_OR_RETURN(t.title, config::GetString(root, "title", path));
  NRM_RETURN_IF_ERROR(CheckText(t.title, 300, "title").WithContext(where("title")));
  NRM_ASSIGN_OR_RETURN(t.mou, config::GetString(root, "mou", path));
  NRM_RETURN_IF_ERROR(CheckText(t.mou, 100, "mou").WithContext(where("mou")));
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> countries,
                       NameList(root, "countries", path,
                                [](const std::string& c) { return CheckCountry(c, "country"); }));
  if (countries.size() != 2) {
    return InvalidArgument(where("countries") +
                           ": a bilateral agreement names exactly two countries");
  }
  t.countries = {countries[0], countries[1]};
  NRM_ASSIGN_OR_RETURN(t.valid_from_ms, config::GetDateTimeMillis(root, "valid_from", path));
  NRM_ASSIGN_OR_RETURN(t.valid_until_ms, config::GetDateTimeMillis(root, "valid_until", path));
  if (t.valid_until_ms <= t.valid_from_ms) {
    return InvalidArgument(where("valid_until") + ": valid_until must come after valid_from");
  }
  NRM_ASSIGN_OR_RETURN(std::string handling, config::GetString(root, "max_handling", path));
  Result<wire::Handling> h = wire::HandlingFromName(handling);
  if (!h) return h.status().WithContext(where("max_handling"));
  t.max_handling = *h;

  const toml::array* routes = root.get_as<toml::array>("route");
  if (routes == nullptr || routes->empty()) {
    return InvalidArgument(path + ": no [[route]] (an agreement opens at least one direction)");
  }
  for (const toml::node& n : *routes) {
    const toml::table* r = n.as_table();
    if (r == nullptr)
      return InvalidArgument(config::Where(path, n) + ": [[route]] must be a table");
    NRM_RETURN_IF_ERROR(
        config::CheckKnownKeys(*r, {"from", "to", "from_roles", "to_roles", "kinds"}, path));
    const std::string rwhere = config::Where(path, *r);
    AgreementRoute route;
    NRM_ASSIGN_OR_RETURN(route.from, config::GetString(*r, "from", path));
    NRM_ASSIGN_OR_RETURN(route.to, config::GetString(*r, "to", path));
    const bool pair = (route.from == t.countries[0] && route.to == t.countries[1]) ||
                      (route.from == t.countries[1] && route.to == t.countries[0]);
    if (!pair) {
      return InvalidArgument(rwhere + ": a route goes from one of the agreement's countries (" +
                             t.countries[0] + ", " + t.countries[1] + ") to the other");
    }
    NRM_ASSIGN_OR_RETURN(route.from_roles, NameList(*r, "from_roles", path, CheckRole));
    NRM_ASSIGN_OR_RETURN(route.to_roles, NameList(*r, "to_roles", path, CheckRole));
    NRM_ASSIGN_OR_RETURN(route.kinds, NameList(*r, "kinds", path, CheckKind));
    t.routes.push_back(std::move(route));
  }
  return t;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  return out;
}

}  // namespace

Bytes AgreementSignedBytes(std::string_view body) { return ContextBytes(kAgreementContext, body); }

Result<std::string> AgreementBody(const AgreementTerms& t) {
  std::string body =
      "# nrm bilateral agreement (docs/PROTOCOL.md section 12.2). Each authority signs this\n"
      "# body: nrm federation agreement sign FILE --authority-key KEY --country CC\n"
      "id = " +
      TomlQuote(t.id) + "\nversion = " + std::to_string(t.version) +
      "\ntitle = " + TomlQuote(t.title) + "\nmou = " + TomlQuote(t.mou) +
      "\ncountries = " + TomlList({t.countries[0], t.countries[1]}) +
      "\nvalid_from = " + FormatTimeUtcSeconds(t.valid_from_ms) +
      "\nvalid_until = " + FormatTimeUtcSeconds(t.valid_until_ms) + "\nmax_handling = \"" +
      std::string(wire::HandlingName(t.max_handling)) + "\"\n";
  for (const AgreementRoute& r : t.routes) {
    body += "\n[[route]]\nfrom = " + TomlQuote(r.from) + "\nto = " + TomlQuote(r.to) +
            "\nfrom_roles = " + TomlList(r.from_roles) + "\nto_roles = " + TomlList(r.to_roles) +
            "\nkinds = " + TomlList(r.kinds) + "\n";
  }
  NRM_RETURN_IF_ERROR(ParseTerms(body, "agreement").status());
  return body;
}

Result<Agreement> Agreement::Parse(std::string_view text, const std::string& path) {
  NRM_ASSIGN_OR_RETURN(SignedText split, SplitSignedText(text, kSignaturePrefix, path));
  Agreement a;
  NRM_ASSIGN_OR_RETURN(a.terms_, ParseTerms(split.body, path));
  a.body_ = std::string(split.body);
  a.path_ = path;
  for (SignatureLine& line : split.signatures) {
    const std::string where = path + ":" + std::to_string(line.line);
    const std::string country = line.name.substr(kSignaturePrefix.size());
    if (country != a.terms_.countries[0] && country != a.terms_.countries[1]) {
      return InvalidArgument(where + ": signature of '" + Printable(country) +
                             "', which is not one of the agreement's countries");
    }
    if (!a.signatures_.emplace(country, std::move(line.signature)).second) {
      return InvalidArgument(where + ": a second signature of " + country);
    }
  }
  return a;
}

Result<Agreement> Agreement::Load(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

std::string Agreement::Name() const {
  return "agreement " + terms_.id + " v" + std::to_string(terms_.version) + " (" + terms_.mou + ")";
}

std::vector<std::string> Agreement::SignedBy() const {
  std::vector<std::string> out;
  for (const std::string& c : terms_.countries) {
    if (signatures_.count(c)) out.push_back(c);
  }
  return out;
}

Status Agreement::CheckSignature(std::string_view country, ByteView authority_key) const {
  auto it = signatures_.find(country);
  if (it == signatures_.end()) {
    return Unauthenticated(Name() + " is not signed by " + std::string(country));
  }
  if (!crypto::Verify(authority_key, AgreementSignedBytes(body_), it->second).ok()) {
    return Unauthenticated(Name() + ": the signature of " + std::string(country) +
                           " does not verify with " + std::string(country) +
                           "'s authority key (signed by another key, or the text was changed "
                           "after signing)");
  }
  return Status::Ok();
}

Status Agreement::CheckSignatures(
    const std::map<std::string, Bytes, std::less<>>& authority_keys) const {
  std::vector<std::string> missing;
  for (const std::string& c : terms_.countries) {
    if (!signatures_.count(c)) missing.push_back(c);
  }
  if (missing.size() == 2) return Unauthenticated(Name() + " is signed by neither authority");
  if (missing.size() == 1) {
    const std::string& other =
        missing[0] == terms_.countries[0] ? terms_.countries[1] : terms_.countries[0];
    return Unauthenticated(Name() + " is signed by " + other +
                           " only; a route needs the "
                           "signatures of both authorities (" +
                           missing[0] + " has not signed)");
  }
  for (const std::string& c : terms_.countries) {
    auto key = authority_keys.find(c);
    if (key == authority_keys.end()) {
      return Unauthenticated(Name() + ": no anchor of " + c +
                             " is installed, so its signature cannot be checked");
    }
    NRM_RETURN_IF_ERROR(CheckSignature(c, key->second));
  }
  return Status::Ok();
}

Status Agreement::CheckInForce(int64_t at_ms) const {
  if (at_ms < terms_.valid_from_ms) {
    return PermissionDenied(Name() + " is in force only from " +
                            FormatTimeUtcSeconds(terms_.valid_from_ms));
  }
  if (at_ms >= terms_.valid_until_ms) {
    return PermissionDenied(Name() + " expired at " + FormatTimeUtcSeconds(terms_.valid_until_ms));
  }
  return Status::Ok();
}

Status Agreement::CheckCovers(const CrossBorderQuery& q) const {
  const std::string what = q.from_country + " " + Printable(q.from_role) + " -> " + q.to_country +
                           " " + Printable(q.to_role) + " for " + Printable(q.kind);
  bool direction = false, roles = false;
  for (const AgreementRoute& r : terms_.routes) {
    if (r.from != q.from_country || r.to != q.to_country) continue;
    direction = true;
    if (!Contains(r.from_roles, q.from_role) || !Contains(r.to_roles, q.to_role)) continue;
    roles = true;
    if (!Contains(r.kinds, q.kind)) continue;
    if (q.handling > terms_.max_handling) {
      return PermissionDenied(Name() + " allows handling codes up to " +
                              std::string(wire::HandlingName(terms_.max_handling)) +
                              "; the message is " + std::string(wire::HandlingName(q.handling)));
    }
    return Status::Ok();
  }
  if (!direction) {
    return PermissionDenied(Name() + " opens no route from " + q.from_country + " to " +
                            q.to_country);
  }
  if (!roles) return PermissionDenied(Name() + " does not cover these roles: " + what);
  return PermissionDenied(Name() + " does not cover this kind: " + what);
}

Result<std::string> SignAgreement(std::string_view text, const std::string& path,
                                  std::string_view country, const identity::KeySet& authority) {
  NRM_ASSIGN_OR_RETURN(Agreement a, Agreement::Parse(text, path));
  const auto& countries = a.terms().countries;
  if (country != countries[0] && country != countries[1]) {
    return InvalidArgument(path + ": " + a.Name() + " is between " + countries[0] + " and " +
                           countries[1] + ", not " + Printable(country));
  }
  const Bytes mine = crypto::Sign(authority.sign_secret, AgreementSignedBytes(a.body()));
  std::string out = a.body();
  for (const std::string& c : countries) {  // in the order of `countries`
    const Bytes* sig = nullptr;
    if (c == country) {
      sig = &mine;
    } else if (auto it = a.signatures().find(c); it != a.signatures().end()) {
      sig = &it->second;
    }
    if (sig != nullptr) out += std::string(kSignaturePrefix) + c + " = \"" + ToHex(*sig) + "\"\n";
  }
  return out;
}

}  // namespace nrm::federation
