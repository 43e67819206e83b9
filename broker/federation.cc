#include "broker/federation.h"

#include <filesystem>

#include "audit/checkpoint.h"
#include "common/config/toml_util.h"

namespace nrm::broker {

Result<std::vector<PartnerConfig>> ParsePartners(const toml::table& root, const std::string& path,
                                                 const std::string& base) {
  std::vector<PartnerConfig> out;
  const toml::node* node = root.get("partner");
  if (node == nullptr) return out;
  const toml::array* list = node->as_array();
  if (list == nullptr) return InvalidArgument(config::Where(path, *node) + ": use [[partner]]");
  auto resolve = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute()
               ? p
               : (std::filesystem::path(base) / p).string();
  };
  for (const toml::node& n : *list) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return InvalidArgument(config::Where(path, n) + ": use [[partner]]");
    NRM_RETURN_IF_ERROR(
        config::CheckKnownKeys(*t, {"anchor", "directory", "agreements", "endpoint"}, path));
    PartnerConfig p;
    NRM_ASSIGN_OR_RETURN(p.anchor, config::GetString(*t, "anchor", path));
    NRM_ASSIGN_OR_RETURN(p.directory, config::GetString(*t, "directory", path));
    NRM_ASSIGN_OR_RETURN(p.agreements, config::GetStringArray(*t, "agreements", path));
    NRM_ASSIGN_OR_RETURN(auto endpoint, config::GetOptionalString(*t, "endpoint", path));
    p.anchor = resolve(p.anchor);
    p.directory = resolve(p.directory);
    for (std::string& a : p.agreements) a = resolve(a);
    p.endpoint = endpoint.value_or("");
    if (!p.endpoint.empty()) {
      NRM_RETURN_IF_ERROR(
          federation::CheckEndpoint(p.endpoint).WithContext(config::Where(path, *t)));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string PartnerName(const std::string& country) { return "@" + country; }

std::string PartnerDirectoryCopy(const std::string& data_dir, const std::string& country) {
  return data_dir + "/partners/" + country + ".directory.toml";
}

Result<audit::note::VerifierKey> PartnerLogKey(const federation::Anchor& anchor,
                                               const identity::Directory& directory,
                                               const std::string& path) {
  const identity::BrokerEntry& b = directory.broker();
  if (b.id != anchor.broker.id || b.sign_key != anchor.broker.sign_key) {
    return PermissionDenied(path + ": its broker (" + b.id +
                            ") is not the broker of the anchor of " + anchor.country + " (" +
                            anchor.broker.id + ") with the same sign_key");
  }
  Result<audit::note::VerifierKey> key = audit::PublishedLogKey(b.log_vkey, b.id, b.sign_key);
  if (!key.ok()) return key.status().WithContext(path + ": log_vkey");
  return key;
}

Result<std::shared_ptr<const Federation>> Federation::Load(
    const std::string& country, ByteView authority_key, const std::vector<PartnerConfig>& partners,
    const std::string& data_dir, int64_t now_ms) {
  auto f = std::make_shared<Federation>();
  f->country_ = country;
  std::map<std::string, Bytes, std::less<>> keys{
      {country, Bytes(authority_key.begin(), authority_key.end())}};
  std::vector<federation::Agreement> agreements;
  for (const PartnerConfig& pc : partners) {
    NRM_ASSIGN_OR_RETURN(federation::Anchor anchor, federation::LoadAnchor(pc.anchor, now_ms));
    if (anchor.country == country) {
      return InvalidArgument(pc.anchor + ": the anchor of " + country +
                             ", this broker's own country, is not a partner");
    }
    if (f->partners_.count(anchor.country)) {
      return InvalidArgument(pc.anchor + ": a second [[partner]] for " + anchor.country);
    }
    NRM_ASSIGN_OR_RETURN(identity::Directory dir,
                         identity::Directory::Load(pc.directory, anchor.authority_key, now_ms));
    std::string dir_path = pc.directory;
    const std::string copy = PartnerDirectoryCopy(data_dir, anchor.country);
    if (Result<identity::Directory> received =
            identity::Directory::Load(copy, anchor.authority_key, now_ms);
        received.ok() && received->serial() > dir.serial()) {
      dir = std::move(*received);
      dir_path = copy;
    }
    if (dir.serial() < anchor.directory_serial) {
      return PermissionDenied(pc.directory + ": serial " + std::to_string(dir.serial()) +
                              " is older than the serial " +
                              std::to_string(anchor.directory_serial) + " its anchor names");
    }
    for (const identity::Agency& a : dir.agencies()) {
      if (a.country != anchor.country) {
        return InvalidArgument(dir_path + ": agency " + a.id + " is not of " + anchor.country +
                               " (a partner's directory holds its own agencies)");
      }
    }
    for (const std::string& path : pc.agreements) {
      NRM_ASSIGN_OR_RETURN(federation::Agreement a, federation::Agreement::Load(path));
      const auto& c = a.terms().countries;
      const bool pair = (c[0] == country && c[1] == anchor.country) ||
                        (c[1] == country && c[0] == anchor.country);
      if (!pair) {
        return InvalidArgument(path + ": " + a.Name() + " is between " + c[0] + " and " + c[1] +
                               ", not " + country + " and " + anchor.country);
      }
      agreements.push_back(std::move(a));
    }
    keys[anchor.country] = anchor.authority_key;
    Partner p;
    NRM_ASSIGN_OR_RETURN(p.log_key, PartnerLogKey(anchor, dir, dir_path));
    p.endpoint = pc.endpoint.empty() ? anchor.broker.endpoint : pc.endpoint;
    p.directory = std::make_shared<const identity::Directory>(std::move(dir));
    p.directory_path = dir_path;
    p.anchor = std::move(anchor);
    f->partners_.emplace(p.anchor.country, std::move(p));
  }
  f->book_ = federation::AgreementBook(std::move(keys), std::move(agreements));
  return std::shared_ptr<const Federation>(std::move(f));
}

const Partner* Federation::FindPartner(std::string_view country) const {
  auto it = partners_.find(std::string(country));
  return it == partners_.end() ? nullptr : &it->second;
}

const identity::Agency* Federation::FindForeign(std::string_view id) const {
  if (id.size() < 3 || id[2] != '.') return nullptr;
  const Partner* p = FindPartner(id.substr(0, 2));
  return p == nullptr ? nullptr : p->directory->Find(id);
}

Result<std::string> Federation::CheckRoute(const identity::Agency& from, const identity::Agency& to,
                                           wire::Kind kind, wire::Handling handling,
                                           int64_t now_ms) const {
  federation::CrossBorderQuery q{
      from.country, from.role, to.country, to.role, std::string(wire::KindName(kind)),
      handling,     now_ms};
  NRM_ASSIGN_OR_RETURN(const federation::Agreement* a, book_.Decide(q));
  return a->Name();
}

std::optional<std::string> Federation::AuthorizePartner(ByteView curve_key, int64_t now_ms) const {
  for (const auto& [country, p] : partners_) {
    if (ByteView(p.anchor.broker.curve_key).size() == curve_key.size() &&
        std::equal(curve_key.begin(), curve_key.end(), p.anchor.broker.curve_key.begin()) &&
        book_.AnyInForce(country_, country, now_ms)) {
      return PartnerName(country);
    }
  }
  return std::nullopt;
}

std::shared_ptr<const Federation> Federation::WithDirectory(const std::string& country,
                                                            identity::Directory directory,
                                                            audit::note::VerifierKey log_key,
                                                            const std::string& path) const {
  auto f = std::make_shared<Federation>(*this);
  auto it = f->partners_.find(country);
  if (it != f->partners_.end()) {
    it->second.directory = std::make_shared<const identity::Directory>(std::move(directory));
    it->second.log_key = std::move(log_key);
    it->second.directory_path = path;
  }
  return f;
}

}  // namespace nrm::broker
