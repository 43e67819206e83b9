#include "federation/anchor.h"

#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "federation/signed_text.h"

namespace nrm::federation {
namespace {

constexpr std::string_view kAnchorContext = "nrm/anchor/v1";
constexpr std::string_view kFingerprintContext = "nrm/anchor-fingerprint/v1";
constexpr std::string_view kSignatureName = "signature";

Result<Anchor> ParseAnchorBody(std::string_view body, const std::string& path, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(body, path));
  const toml::table& root = doc.root;
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(
      root,
      {"country", "authority", "authority_key", "directory_serial", "issued", "expires", "broker"},
      path));
  Anchor a;
  auto where = [&](std::string_view key) { return config::Where(path, *root.get(key)); };
  NRM_ASSIGN_OR_RETURN(a.country, config::GetString(root, "country", path));
  NRM_RETURN_IF_ERROR(CheckCountry(a.country, "country").WithContext(where("country")));
  NRM_ASSIGN_OR_RETURN(a.authority, config::GetString(root, "authority", path));
  NRM_RETURN_IF_ERROR(CheckText(a.authority, 200, "authority").WithContext(where("authority")));
  NRM_ASSIGN_OR_RETURN(a.authority_key,
                       config::GetHex(root, "authority_key", crypto::kSignPublicBytes, path));
  NRM_ASSIGN_OR_RETURN(a.directory_serial, config::GetInt(root, "directory_serial", path));
  if (a.directory_serial < 1) {
    return InvalidArgument(where("directory_serial") + ": directory_serial must be 1 or more");
  }
  NRM_ASSIGN_OR_RETURN(a.issued_ms, config::GetDateTimeMillis(root, "issued", path));
  NRM_ASSIGN_OR_RETURN(a.expires_ms, config::GetDateTimeMillis(root, "expires", path));
  if (a.expires_ms <= a.issued_ms) {
    return InvalidArgument(where("expires") + ": expires must come after issued");
  }
  if (a.expires_ms <= now_ms) {
    return PermissionDenied(path + ": the anchor of " + a.country + " expired at " +
                            FormatTimeUtcSeconds(a.expires_ms) +
                            "; ask its authority for a new one");
  }
  const toml::table* b = root.get_as<toml::table>("broker");
  if (b == nullptr) return InvalidArgument(path + ": missing [broker] table");
  NRM_RETURN_IF_ERROR(
      config::CheckKnownKeys(*b, {"id", "endpoint", "sign_key", "curve_key"}, path));
  auto bwhere = [&](std::string_view key) { return config::Where(path, *b->get(key)); };
  NRM_ASSIGN_OR_RETURN(a.broker.id, config::GetString(*b, "id", path));
  NRM_RETURN_IF_ERROR(CheckBrokerId(a.broker.id).WithContext(bwhere("id")));
  NRM_ASSIGN_OR_RETURN(a.broker.endpoint, config::GetString(*b, "endpoint", path));
  NRM_RETURN_IF_ERROR(CheckEndpoint(a.broker.endpoint).WithContext(bwhere("endpoint")));
  NRM_ASSIGN_OR_RETURN(a.broker.sign_key,
                       config::GetHex(*b, "sign_key", crypto::kSignPublicBytes, path));
  NRM_ASSIGN_OR_RETURN(a.broker.curve_key,
                       config::GetHex(*b, "curve_key", crypto::kBoxPublicBytes, path));
  if (a.broker.sign_key == a.authority_key) {
    return InvalidArgument(bwhere("sign_key") +
                           ": the broker's sign_key is the authority key (the authority "
                           "and the broker must hold separate keys)");
  }
  return a;
}

}  // namespace

Bytes AnchorSignedBytes(std::string_view body) { return ContextBytes(kAnchorContext, body); }

std::string AnchorBody(const Anchor& a) {
  return "# nrm trust anchor of " + a.country +
         ". Before installing it, compare its fingerprint with the issuing\n"
         "# authority by phone or in person: nrm federation anchor show FILE\n"
         "country = " +
         TomlQuote(a.country) + "\nauthority = " + TomlQuote(a.authority) + "\nauthority_key = \"" +
         ToHex(a.authority_key) + "\"\ndirectory_serial = " + std::to_string(a.directory_serial) +
         "\nissued = " + FormatTimeUtcSeconds(a.issued_ms) +
         "\nexpires = " + FormatTimeUtcSeconds(a.expires_ms) +
         "\n\n[broker]\nid = " + TomlQuote(a.broker.id) +
         "\nendpoint = " + TomlQuote(a.broker.endpoint) + "\nsign_key = \"" +
         ToHex(a.broker.sign_key) + "\"\ncurve_key = \"" + ToHex(a.broker.curve_key) + "\"\n";
}

Result<std::string> SignAnchor(Anchor anchor, const identity::KeySet& authority, int64_t now_ms) {
  anchor.authority_key = authority.sign_public;
  const std::string body = AnchorBody(anchor);
  NRM_RETURN_IF_ERROR(ParseAnchorBody(body, "anchor", now_ms).status());
  const Bytes sig = crypto::Sign(authority.sign_secret, AnchorSignedBytes(body));
  return body + std::string(kSignatureName) + " = \"" + ToHex(sig) + "\"\n";
}

Result<Anchor> ParseAnchor(std::string_view text, const std::string& path, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(SignedText split, SplitSignedText(text, kSignatureName, path));
  if (split.signatures.empty()) {
    return Unauthenticated(path + ": the anchor is not signed (no 'signature = \"...\"' line)");
  }
  if (split.signatures.size() != 1 || split.signatures[0].name != kSignatureName) {
    return InvalidArgument(path + ": an anchor has exactly one line 'signature = \"...\"'");
  }
  // The key that must have signed is inside the body: read it before trusting anything else.
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(split.body, path));
  NRM_ASSIGN_OR_RETURN(Bytes key,
                       config::GetHex(doc.root, "authority_key", crypto::kSignPublicBytes, path));
  if (!crypto::Verify(key, AnchorSignedBytes(split.body), split.signatures[0].signature).ok()) {
    return Unauthenticated(path +
                           ": the anchor's signature does not verify with the authority key it "
                           "names (the file was altered after signing)");
  }
  return ParseAnchorBody(split.body, path, now_ms);
}

Result<Anchor> LoadAnchor(const std::string& path, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseAnchor(text, path, now_ms);
}

std::string AnchorFingerprint(std::string_view country, ByteView authority_key) {
  const std::string hex =
      ToHex(crypto::Sha256Parts({AsBytes(kFingerprintContext), AsBytes(std::string_view("\0", 1)),
                                 AsBytes(country), authority_key}));
  std::string out;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += static_cast<char>(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
  }
  return out;
}

std::string AnchorFingerprint(const Anchor& anchor) {
  return AnchorFingerprint(anchor.country, anchor.authority_key);
}

bool FingerprintMatches(const Anchor& anchor, std::string_view typed) {
  auto normal = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == ' ' || c == ':' || c == '-') continue;
      out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return out;
  };
  return normal(typed) == normal(AnchorFingerprint(anchor));
}

Status CheckAnchorReplacement(const Anchor& installed, const Anchor& newer) {
  if (newer.country != installed.country) {
    return PermissionDenied("the new anchor is of " + newer.country + ", the installed one of " +
                            installed.country);
  }
  if (newer.authority_key != installed.authority_key) {
    return PermissionDenied(
        "the new anchor of " + newer.country + " names another authority key (fingerprint " +
        AnchorFingerprint(newer) +
        "): compare it with the authority by phone or in person and install it by hand");
  }
  if (newer.issued_ms <= installed.issued_ms) {
    return PermissionDenied("the anchor of " + newer.country + " issued " +
                            FormatTimeUtcSeconds(newer.issued_ms) +
                            " is not newer than the installed one (issued " +
                            FormatTimeUtcSeconds(installed.issued_ms) + ")");
  }
  return Status::Ok();
}

Status CheckBrokerId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  }
  if (ok) return Status::Ok();
  return InvalidArgument("broker id must be 1 to 64 characters of A-Z 0-9 . - (e.g. TH.BROKER)");
}

Status CheckEndpoint(std::string_view endpoint) {
  const bool scheme = endpoint.starts_with("tcp://") || endpoint.starts_with("ipc://");
  bool ok = scheme && endpoint.size() > 6 && endpoint.size() <= 256;
  for (char c : endpoint) ok = ok && c > 0x20 && c < 0x7F && c != '"' && c != '\\';
  if (ok && endpoint.starts_with("tcp://")) {
    const size_t colon = endpoint.rfind(':');
    const std::string_view port = endpoint.substr(colon + 1);
    ok = colon > 6 && !port.empty() && port.size() <= 5 &&
         port.find_first_not_of("0123456789") == std::string_view::npos &&
         std::stoi(std::string(port)) >= 1 && std::stoi(std::string(port)) <= 65535;
  }
  if (ok) return Status::Ok();
  return InvalidArgument(
      "endpoint must be tcp://HOST:PORT (PORT 1 to 65535) or ipc://PATH, at most 256 bytes");
}

}  // namespace nrm::federation
