#include "common/identity/identity.h"

#include <set>
#include <sstream>

#include "audit/note.h"
#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"

namespace nrm::identity {
namespace {

constexpr std::string_view kDirectoryContext{"nrm/directory/v1\0", 17};
constexpr std::string_view kSignaturePrefix = "signature = \"";

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsIdChar(char c) { return IsUpper(c) || (c >= '0' && c <= '9') || c == '-'; }

Result<crypto::SecretBytes> HexSecret(const toml::table& t, std::string_view key, size_t size,
                                      const std::string& path) {
  NRM_ASSIGN_OR_RETURN(Bytes b, config::GetHex(t, key, size, path));
  crypto::SecretBytes s = crypto::SecretBytes::FromBytes(b);
  std::fill(b.begin(), b.end(), uint8_t{0});
  return s;
}

}  // namespace

bool IsRole(std::string_view role) {
  for (std::string_view r : kRoles) {
    if (r == role) return true;
  }
  return false;
}

Status CheckAgencyId(std::string_view id) {
  // CC.WORD.NAME: two upper-case letters, then at least two dot-separated parts.
  auto bad = [&] {
    return InvalidArgument("agency id '" + std::string(id) +
                           "' must look like TH.POLICE.CRI-ATU (country, then upper-case parts "
                           "of A-Z 0-9 - separated by dots)");
  };
  if (id.size() < 6 || id.size() > 64 || !IsUpper(id[0]) || !IsUpper(id[1]) || id[2] != '.') {
    return bad();
  }
  size_t parts = 0, run = 0;
  for (size_t i = 3; i <= id.size(); ++i) {
    if (i == id.size() || id[i] == '.') {
      if (run == 0) return bad();
      ++parts;
      run = 0;
    } else if (IsIdChar(id[i])) {
      ++run;
    } else {
      return bad();
    }
  }
  return parts >= 2 ? Status::Ok() : bad();
}

KeySet GenerateKeySet(std::string id) {
  crypto::SignKeyPair sign = crypto::GenerateSignKeyPair();
  crypto::BoxKeyPair box = crypto::GenerateBoxKeyPair();
  crypto::BoxKeyPair curve = crypto::GenerateBoxKeyPair();
  return KeySet{std::move(id),
                std::move(sign.secret_key),
                std::move(box.secret_key),
                std::move(curve.secret_key),
                std::move(sign.public_key),
                std::move(box.public_key),
                std::move(curve.public_key)};
}

Status WriteSecretKeyFile(const std::string& path, const KeySet& keys) {
  std::string text = "# nrm secret keys of " + keys.id +
                     ". Keep private (mode 0600); never send this file to anyone.\n"
                     "id = \"" +
                     keys.id +
                     "\"\n"
                     "sign_secret = \"" +
                     ToHex(keys.sign_secret.view()) +
                     "\"\n"
                     "box_secret = \"" +
                     ToHex(keys.box_secret.view()) +
                     "\"\n"
                     "curve_secret = \"" +
                     ToHex(keys.curve_secret.view()) + "\"\n";
  Status s = WriteFileAtomic(path, text, 0600);
  std::fill(text.begin(), text.end(), '\0');
  return s;
}

std::string PublicKeyToml(const KeySet& keys) {
  return "# nrm public keys of " + keys.id + ": give this file to the directory authority.\n" +
         "id = \"" + keys.id + "\"\n" + "sign_key = \"" + ToHex(keys.sign_public) + "\"\n" +
         "box_key = \"" + ToHex(keys.box_public) + "\"\n" + "curve_key = \"" +
         ToHex(keys.curve_public) + "\"\n";
}

Result<KeySet> LoadSecretKeyFile(const std::string& path) {
  NRM_RETURN_IF_ERROR(CheckPrivateFile(path));
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  const toml::table& t = doc.root;
  NRM_RETURN_IF_ERROR(
      config::CheckKnownKeys(t, {"id", "sign_secret", "box_secret", "curve_secret"}, path));
  KeySet k;
  NRM_ASSIGN_OR_RETURN(k.id, config::GetString(t, "id", path));
  NRM_ASSIGN_OR_RETURN(k.sign_secret, HexSecret(t, "sign_secret", crypto::kSignSecretBytes, path));
  NRM_ASSIGN_OR_RETURN(k.box_secret, HexSecret(t, "box_secret", crypto::kBoxSecretBytes, path));
  NRM_ASSIGN_OR_RETURN(k.curve_secret, HexSecret(t, "curve_secret", crypto::kBoxSecretBytes, path));
  NRM_ASSIGN_OR_RETURN(k.sign_public, crypto::SignPublicFromSecret(k.sign_secret));
  NRM_ASSIGN_OR_RETURN(k.box_public, crypto::BoxPublicFromSecret(k.box_secret));
  NRM_ASSIGN_OR_RETURN(k.curve_public, crypto::BoxPublicFromSecret(k.curve_secret));
  // An Ed25519 secret key carries its public half; a file where they disagree was damaged.
  Bytes embedded(k.sign_secret.data() + 32, k.sign_secret.data() + 64);
  Bytes probe = crypto::Sign(k.sign_secret, AsBytes("nrm/key-check"));
  if (!crypto::Verify(embedded, AsBytes("nrm/key-check"), probe).ok()) {
    return InvalidArgument(path + ": sign_secret is damaged (its halves do not match)");
  }
  return k;
}

Bytes DirectorySignedBytes(std::string_view body) {
  Bytes out(kDirectoryContext.size() + body.size());
  std::copy(kDirectoryContext.begin(), kDirectoryContext.end(), out.begin());
  std::copy(body.begin(), body.end(),
            out.begin() + static_cast<ptrdiff_t>(kDirectoryContext.size()));
  return out;
}

Result<std::pair<std::string_view, std::string>> SplitSignedDirectory(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Unauthenticated("directory is not signed (it must end with a signature line)");
  }
  size_t start = text.rfind('\n', text.size() - 2);
  start = start == std::string_view::npos ? 0 : start + 1;
  std::string_view last = text.substr(start, text.size() - 1 - start);
  if (!last.starts_with(kSignaturePrefix) || !last.ends_with('"')) {
    return Unauthenticated("directory is not signed (no 'signature = \"...\"' last line)");
  }
  std::string hex(last.substr(kSignaturePrefix.size(), last.size() - kSignaturePrefix.size() - 1));
  return std::pair<std::string_view, std::string>(text.substr(0, start), std::move(hex));
}

Result<Directory> Directory::ParseBody(std::string_view body, const std::string& path,
                                       int64_t now_ms) {
  Directory d;
  BrokerEntry& broker = d.broker_;
  std::vector<Agency>& agencies = d.agencies_;
  int64_t& serial = d.serial_;
  int64_t& expires = d.expires_ms_;
  std::string& authority = d.authority_name_;
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(body, path));
  const toml::table& root = doc.root;
  NRM_RETURN_IF_ERROR(
      config::CheckKnownKeys(root, {"authority", "serial", "expires", "broker", "agency"}, path));
  NRM_ASSIGN_OR_RETURN(authority, config::GetString(root, "authority", path));
  NRM_ASSIGN_OR_RETURN(serial, config::GetInt(root, "serial", path));
  NRM_ASSIGN_OR_RETURN(expires, config::GetDateTimeMillis(root, "expires", path));
  if (expires <= now_ms) {
    return PermissionDenied(path + ": directory expired at " + FormatTimeUtc(expires) +
                            "; refusing a stale directory (ask the authority for a new one)");
  }

  std::set<Bytes> keys_seen;
  auto unique_key = [&](const Bytes& key, const toml::node& where, std::string_view what) {
    if (!keys_seen.insert(key).second) {
      return InvalidArgument(config::Where(path, where) + ": " + std::string(what) + " " +
                             ToHex(key) + " appears twice in the directory");
    }
    return Status::Ok();
  };

  const toml::table* b = root.get_as<toml::table>("broker");
  if (b == nullptr) return InvalidArgument(path + ": missing [broker] table");
  NRM_RETURN_IF_ERROR(
      config::CheckKnownKeys(*b, {"id", "sign_key", "curve_key", "log_vkey"}, path));
  NRM_ASSIGN_OR_RETURN(broker.id, config::GetString(*b, "id", path));
  NRM_ASSIGN_OR_RETURN(broker.sign_key,
                       config::GetHex(*b, "sign_key", crypto::kSignPublicBytes, path));
  NRM_ASSIGN_OR_RETURN(broker.curve_key,
                       config::GetHex(*b, "curve_key", crypto::kBoxPublicBytes, path));
  NRM_ASSIGN_OR_RETURN(auto log_vkey, config::GetOptionalString(*b, "log_vkey", path));
  if (log_vkey) {
    // The audit log's verifier key (C2SP signed-note): the broker's sign_key under its origin.
    const std::string where = config::Where(path, *b->get("log_vkey"));
    Result<audit::note::VerifierKey> k = audit::note::ParseVerifierKey(*log_vkey);
    if (!k) return k.status().WithContext(where + ": log_vkey");
    if (k->type != audit::note::kTypeEd25519 || k->public_key != broker.sign_key) {
      return InvalidArgument(where +
                             ": log_vkey must be an Ed25519 key (type 0x01) holding the "
                             "broker's sign_key");
    }
    broker.log_vkey = std::move(*log_vkey);
  }
  NRM_RETURN_IF_ERROR(unique_key(broker.sign_key, *b, "sign_key"));
  NRM_RETURN_IF_ERROR(unique_key(broker.curve_key, *b, "curve_key"));

  const toml::array* list = root.get_as<toml::array>("agency");
  if (list == nullptr) return InvalidArgument(path + ": no [[agency]] entries");
  std::set<std::string> ids;
  for (const toml::node& n : *list) {
    const toml::table* t = n.as_table();
    if (t == nullptr)
      return InvalidArgument(config::Where(path, n) + ": [[agency]] must be a table");
    NRM_RETURN_IF_ERROR(config::CheckKnownKeys(*t,
                                               {"id", "name", "role", "country", "province",
                                                "sign_key", "box_key", "curve_key", "revoked"},
                                               path));
    Agency a;
    NRM_ASSIGN_OR_RETURN(a.id, config::GetString(*t, "id", path));
    NRM_ASSIGN_OR_RETURN(a.name, config::GetString(*t, "name", path));
    NRM_ASSIGN_OR_RETURN(a.role, config::GetString(*t, "role", path));
    NRM_ASSIGN_OR_RETURN(a.country, config::GetString(*t, "country", path));
    NRM_ASSIGN_OR_RETURN(auto province, config::GetOptionalString(*t, "province", path));
    a.province = province.value_or("");
    NRM_ASSIGN_OR_RETURN(a.sign_key,
                         config::GetHex(*t, "sign_key", crypto::kSignPublicBytes, path));
    NRM_ASSIGN_OR_RETURN(a.box_key, config::GetHex(*t, "box_key", crypto::kBoxPublicBytes, path));
    NRM_ASSIGN_OR_RETURN(a.curve_key,
                         config::GetHex(*t, "curve_key", crypto::kBoxPublicBytes, path));
    NRM_ASSIGN_OR_RETURN(a.revoked, config::GetBool(*t, "revoked", path, false));
    const std::string where = config::Where(path, *t);
    if (Status s = CheckAgencyId(a.id); !s.ok()) return s.WithContext(where);
    if (!IsRole(a.role)) {
      return InvalidArgument(where + ": agency " + a.id + " has unknown role '" + a.role +
                             "' (expected police, shelter, ngo, ministry, immigration, io or "
                             "monitor)");
    }
    if (a.country.size() != 2 || !IsUpper(a.country[0]) || !IsUpper(a.country[1]) ||
        !a.id.starts_with(a.country + ".")) {
      return InvalidArgument(where + ": agency " + a.id + " has country '" + a.country +
                             "' (expected the ISO 3166-1 alpha-2 code its id starts with)");
    }
    if (!ids.insert(a.id).second) {
      return InvalidArgument(where + ": agency " + a.id + " appears twice in the directory");
    }
    NRM_RETURN_IF_ERROR(unique_key(a.sign_key, *t, "sign_key"));
    NRM_RETURN_IF_ERROR(unique_key(a.box_key, *t, "box_key"));
    NRM_RETURN_IF_ERROR(unique_key(a.curve_key, *t, "curve_key"));
    agencies.push_back(std::move(a));
  }
  for (size_t i = 0; i < agencies.size(); ++i) {
    d.by_id_.emplace(agencies[i].id, i);
    d.by_curve_.emplace(agencies[i].curve_key, i);
  }
  return d;
}

Result<Directory> Directory::Parse(std::string_view text, const std::string& path,
                                   ByteView authority_key, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(auto split, SplitSignedDirectory(text));
  Result<Bytes> sig = FromHexExact(split.second, crypto::kSignatureBytes, "signature");
  if (!sig) return Unauthenticated(path + ": " + sig.status().message());
  if (Status s = crypto::Verify(authority_key, DirectorySignedBytes(split.first), *sig); !s.ok()) {
    return Unauthenticated(path + ": directory signature does not verify with the authority key " +
                           ToHex(authority_key) + " (altered, or signed by another authority)");
  }
  return ParseBody(split.first, path, now_ms);
}

Result<Directory> Directory::Load(const std::string& path, ByteView authority_key, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path, authority_key, now_ms);
}

Directory Directory::WithPartners(const Directory& own,
                                  const std::vector<const Directory*>& partners) {
  Directory d = own;
  for (const Directory* p : partners) {
    for (const Agency& a : p->agencies_) {
      if (d.by_id_.count(a.id)) continue;
      d.by_id_.emplace(a.id, d.agencies_.size());
      d.agencies_.push_back(a);
    }
  }
  return d;
}

const Agency* Directory::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &agencies_[it->second];
}

const Agency* Directory::FindByCurveKey(ByteView curve_key) const {
  auto it = by_curve_.find(Bytes(curve_key.begin(), curve_key.end()));
  return it == by_curve_.end() ? nullptr : &agencies_[it->second];
}

Result<std::string> SignDirectory(std::string_view draft, const std::string& path,
                                  const KeySet& authority, int64_t now_ms) {
  std::string_view body = draft;
  if (auto split = SplitSignedDirectory(draft); split.ok()) body = split->first;
  if (!body.empty() && body.back() != '\n')
    return InvalidArgument(path + ": must end with a newline");
  NRM_RETURN_IF_ERROR(Directory::ParseBody(body, path, now_ms).status());
  Bytes sig = crypto::Sign(authority.sign_secret, DirectorySignedBytes(body));
  return std::string(body) + "signature = \"" + ToHex(sig) + "\"\n";
}
}  // namespace nrm::identity
