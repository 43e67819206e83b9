// nrm keygen and nrm directory: keys for agencies and the broker, and the signed directory.
#include <filesystem>
#include <iostream>
#include <string_view>

#include "audit/checkpoint.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

constexpr const char* kKeygenUsage =
    "usage: nrm keygen --id ID --out DIR\n"
    "Creates DIR/ID.key (secret keys, mode 0600: keep it on the agency's machine) and\n"
    "DIR/ID.pub (public keys: give it to the directory authority).\n"
    "  --id ID    the agency's (or the broker's) id, e.g. TH.POLICE.CRI-ATU\n"
    "  --out DIR  where to write the two files (created if missing; an existing .key is kept)\n";

// The subcommands of `nrm directory`: the group's listing and each one's own --help.
struct DirectoryHelp {
  std::string_view name;
  std::string_view synopsis;  // the words after the name
  std::string_view summary;   // one line
  std::string_view options;   // one line per option
};

constexpr std::string_view kAuthorityKeyOption =
    "  --authority-key HEX|FILE  the authority's public key: 64 hex digits, or its .pub file\n";

constexpr DirectoryHelp kDirectoryHelp[] = {
    {"init",
     "--out DRAFT --authority NAME --broker-pub FILE [--log-origin ORIGIN] [--serial N] "
     "[--valid-days N]",
     "Start a directory draft naming the broker and its audit log's verifier key.",
     "  --out DRAFT          the draft to write\n"
     "  --authority NAME     the name of the directory authority\n"
     "  --broker-pub FILE    the broker's .pub file (from nrm keygen)\n"
     "  --log-origin ORIGIN  the origin of the broker's audit log, as in its config's log_origin\n"
     "                       (default: the broker id in lower case + /audit/v1)\n"
     "  --serial N         the directory's serial number (default 1)\n"
     "  --valid-days N     days until the directory expires (default 365)\n"},
    {"add", "DRAFT --pub FILE --role ROLE --country CC --name NAME [--province NAME]",
     "Add an agency from its .pub file.",
     "  DRAFT            the draft to add to (checked as signing would check it)\n"
     "  --pub FILE       the agency's .pub file (from nrm keygen)\n"
     "  --role ROLE      e.g. police, shelter, ngo, immigration\n"
     "  --country CC     the agency's country, e.g. TH\n"
     "  --name NAME      the agency's name, for people\n"
     "  --province NAME  the agency's province (optional)\n"},
    {"revoke", "DRAFT --agency ID", "Mark an agency revoked (and raise the serial).",
     "  DRAFT        the draft (or signed directory) to change; sign it again afterwards\n"
     "  --agency ID  the agency to revoke\n"},
    {"sign", "DRAFT --authority-key KEYFILE --out SIGNED",
     "Check the draft and sign it with the authority's secret key.",
     "  --authority-key KEYFILE  the authority's .key file\n"
     "  --out SIGNED             the signed directory to write\n"},
    {"show", "SIGNED --authority-key HEX|FILE", "Verify and list the agencies.",
     kAuthorityKeyOption},
    {"verify", "SIGNED --authority-key HEX|FILE", "Verify only: exit 0 when valid, 1 when not.",
     kAuthorityKeyOption},
};

// The group's listing, shown on usage errors and by `nrm directory --help`.
std::string DirectoryUsage() {
  std::string out = "usage: nrm directory COMMAND ...\n";
  for (const DirectoryHelp& h : kDirectoryHelp) {
    out += "  " + std::string(h.name) + " " + std::string(h.synopsis) + "\n      " +
           std::string(h.summary) + "\n";
  }
  return out + "Run `nrm directory COMMAND --help` for details.\n";
}

// One subcommand's own usage, or the group's listing for a word that is none.
std::string DirectoryUsage(std::string_view command) {
  for (const DirectoryHelp& h : kDirectoryHelp) {
    if (h.name != command) continue;
    return "usage: nrm directory " + std::string(h.name) + " " + std::string(h.synopsis) + "\n" +
           std::string(h.summary) + "\n" + std::string(h.options);
  }
  return DirectoryUsage();
}

int Usage(std::ostream& err, const std::string& problem, const std::string& usage) {
  err << "nrm: " << problem << "\n" << usage;
  return 2;
}

int Error(std::ostream& err, const Status& s, int code = 2) {
  err << "nrm: " << s.message() << "\n";
  return code;
}

// Loads the public keys of a .pub file (or the public half of a .key file).
Result<identity::Agency> LoadPublicKeys(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  identity::Agency a;
  NRM_ASSIGN_OR_RETURN(a.id, config::GetString(doc.root, "id", path));
  if (doc.root.contains("sign_secret")) {
    NRM_ASSIGN_OR_RETURN(identity::KeySet k, identity::LoadSecretKeyFile(path));
    a.sign_key = k.sign_public;
    a.box_key = k.box_public;
    a.curve_key = k.curve_public;
    return a;
  }
  for (auto [key, field] : {std::pair{"sign_key", &a.sign_key}, std::pair{"box_key", &a.box_key},
                            std::pair{"curve_key", &a.curve_key}}) {
    NRM_ASSIGN_OR_RETURN(std::string hex, config::GetString(doc.root, key, path));
    NRM_ASSIGN_OR_RETURN(*field, FromHexExact(hex, 32, path + ": " + key));
  }
  return a;
}

int Init(const Args& a, std::ostream& out, std::ostream& err) {
  auto path = a.Require("out");
  auto authority = a.Require("authority");
  auto broker_pub = a.Require("broker-pub");
  for (const auto* r : {&path, &authority, &broker_pub}) {
    if (!r->ok()) return Usage(err, "directory init: " + r->status().message(), DirectoryUsage());
  }
  auto broker = LoadPublicKeys(*broker_pub);
  if (!broker) return Error(err, broker.status());
  int64_t serial = 1, days = 365;
  try {
    serial = std::stoll(a.Get("serial").value_or("1"));
    days = std::stoll(a.Get("valid-days").value_or("365"));
  } catch (const std::exception&) {
    return Usage(err, "directory init: --serial and --valid-days take whole numbers",
                 DirectoryUsage());
  }
  const int64_t expires = SystemClock::Get().NowMillis() + days * 86400 * 1000;
  const std::string origin = a.Get("log-origin").value_or(audit::DefaultOrigin(broker->id));
  Result<audit::note::VerifierKey> log_key = audit::LogVerifierKey(origin, broker->sign_key);
  if (!log_key) {
    return Usage(err, "directory init: --log-origin: " + log_key.status().message(),
                 DirectoryUsage());
  }
  std::string text =
      DirectoryDraftHeader(*authority, serial, expires, broker->id, broker->sign_key,
                           broker->curve_key, audit::note::FormatVerifierKey(*log_key));
  if (Status s = WriteFileAtomic(*path, text); !s.ok()) return Error(err, s);
  out << "wrote draft " << *path << " (serial " << serial << ", expires "
      << FormatTimeUtcSeconds(expires) << ")\n";
  return 0;
}

int Add(const Args& a, const std::string& draft, std::ostream& out, std::ostream& err) {
  auto pub = a.Require("pub");
  auto role = a.Require("role");
  auto country = a.Require("country");
  auto name = a.Require("name");
  for (const auto* r : {&pub, &role, &country, &name}) {
    if (!r->ok()) return Usage(err, "directory add: " + r->status().message(), DirectoryUsage());
  }
  auto agency = LoadPublicKeys(*pub);
  if (!agency) return Error(err, agency.status());
  agency->role = *role;
  agency->country = *country;
  agency->name = *name;
  agency->province = a.Get("province").value_or("");
  auto text = ReadFile(draft);
  if (!text) return Error(err, text.status());
  std::string body = *text;
  if (auto split = identity::SplitSignedDirectory(body); split.ok()) {
    body = std::string(split->first);  // adding invalidates the old signature
  }
  body += DirectoryAgencyBlock(*agency);
  // Check the result as signing would, so a mistake is caught now, naming the line.
  identity::KeySet probe = identity::GenerateKeySet("CHECK");
  auto checked = identity::SignDirectory(body, draft, probe, SystemClock::Get().NowMillis());
  if (!checked) return Error(err, checked.status());
  if (Status s = WriteFileAtomic(draft, body); !s.ok()) return Error(err, s);
  out << "added " << agency->id << " (" << *role << ", " << *country << ") to " << draft << "\n";
  return 0;
}

int Revoke(const Args& a, const std::string& draft, std::ostream& out, std::ostream& err) {
  auto id = a.Require("agency");
  if (!id) return Usage(err, "directory revoke: " + id.status().message(), DirectoryUsage());
  auto text = ReadFile(draft);
  if (!text) return Error(err, text.status());
  std::string_view body = *text;
  if (auto split = identity::SplitSignedDirectory(*text); split.ok()) body = split->first;
  auto doc = config::ParseToml(body, draft);
  if (!doc) return Error(err, doc.status());
  bool found = false;
  if (toml::array* list = doc->root["agency"].as_array()) {
    for (toml::node& n : *list) {
      toml::table* t = n.as_table();
      if (t != nullptr && t->get_as<std::string>("id") &&
          t->get_as<std::string>("id")->get() == *id) {
        t->insert_or_assign("revoked", true);
        found = true;
      }
    }
  }
  if (!found) return Error(err, NotFound(*id + " is not in " + draft));
  if (auto* serial = doc->root.get_as<int64_t>("serial")) *serial = serial->get() + 1;
  std::ostringstream rendered;
  rendered << "# NRM agency directory (edited by nrm directory revoke)\n" << doc->root << "\n";
  if (Status s = WriteFileAtomic(draft, rendered.str()); !s.ok()) return Error(err, s);
  out << "revoked " << *id << " in " << draft << "; sign it and give it to the broker\n";
  return 0;
}

int Sign(const Args& a, const std::string& draft, std::ostream& out, std::ostream& err) {
  auto key_file = a.Require("authority-key");
  auto dest = a.Require("out");
  for (const auto* r : {&key_file, &dest}) {
    if (!r->ok()) return Usage(err, "directory sign: " + r->status().message(), DirectoryUsage());
  }
  auto keys = identity::LoadSecretKeyFile(*key_file);
  if (!keys) return Error(err, keys.status());
  auto text = ReadFile(draft);
  if (!text) return Error(err, text.status());
  auto signed_text = identity::SignDirectory(*text, draft, *keys, SystemClock::Get().NowMillis());
  if (!signed_text) return Error(err, signed_text.status());
  if (Status s = WriteFileAtomic(*dest, *signed_text); !s.ok()) return Error(err, s);
  out << "signed " << draft << " -> " << *dest << " with authority key " << ToHex(keys->sign_public)
      << "\n";
  return 0;
}

int ShowOrVerify(const Args& a, const std::string& path, bool show, std::ostream& out,
                 std::ostream& err) {
  auto key = a.Require("authority-key");
  if (!key) return Usage(err, "directory: " + key.status().message(), DirectoryUsage());
  auto authority = ParseSignPublicKey(*key);
  if (!authority) return Error(err, authority.status());
  auto dir = identity::Directory::Load(path, *authority, SystemClock::Get().NowMillis());
  if (!dir) {
    err << "nrm: INVALID: " << dir.status().message() << "\n";
    return 1;
  }
  out << path << ": valid, signed by " << dir->authority_name() << ", serial " << dir->serial()
      << ", expires " << FormatTimeUtcSeconds(dir->expires_ms()) << ", " << dir->agencies().size()
      << " agencies\n";
  if (!show) return 0;
  out << "  broker " << dir->broker().id << "\n";
  if (!dir->broker().log_vkey.empty()) out << "  audit log key " << dir->broker().log_vkey << "\n";
  for (const identity::Agency& ag : dir->agencies()) {
    out << "  " << ag.id << "  " << ag.role << "  " << ag.country << "  "
        << (ag.province.empty() ? "-" : ag.province) << "  " << ag.name
        << (ag.revoked ? "  REVOKED" : "") << "\n";
  }
  return 0;
}

}  // namespace

std::string DirectoryDraftHeader(const std::string& authority, int64_t serial, int64_t expires_ms,
                                 const std::string& broker_id, ByteView broker_sign_key,
                                 ByteView broker_curve_key, std::string_view log_vkey) {
  return "# NRM agency directory. Edit with `nrm directory add|revoke`, then `nrm directory "
         "sign`.\n"
         "authority = \"" +
         authority + "\"\n" + "serial = " + std::to_string(serial) + "\n" +
         "expires = " + FormatTimeUtcSeconds(expires_ms) + "\n\n[broker]\nid = \"" + broker_id +
         "\"\nsign_key = \"" + ToHex(broker_sign_key) + "\"\ncurve_key = \"" +
         ToHex(broker_curve_key) + "\"\n" +
         (log_vkey.empty() ? "" : "log_vkey = \"" + std::string(log_vkey) + "\"\n");
}

std::string DirectoryAgencyBlock(const identity::Agency& a) {
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    return q + "\"";
  };
  std::string block = "\n[[agency]]\nid = " + quote(a.id) + "\nname = " + quote(a.name) +
                      "\nrole = " + quote(a.role) + "\ncountry = " + quote(a.country) + "\n";
  if (!a.province.empty()) block += "province = " + quote(a.province) + "\n";
  block += "sign_key = \"" + ToHex(a.sign_key) + "\"\nbox_key = \"" + ToHex(a.box_key) +
           "\"\ncurve_key = \"" + ToHex(a.curve_key) + "\"\n";
  if (a.revoked) block += "revoked = true\n";
  return block;
}

Result<Bytes> ParseSignPublicKey(const std::string& value) {
  if (value.size() == 64 && FromHex(value).ok()) return *FromHex(value);
  NRM_ASSIGN_OR_RETURN(identity::Agency keys, LoadPublicKeys(value));
  return keys.sign_key;
}

int KeygenCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kKeygenUsage;
    return 0;
  }
  auto a = Args::Parse(words, {"id", "out"}, {});
  if (!a) return Usage(err, "keygen: " + a.status().message(), kKeygenUsage);
  auto id = a->Require("id");
  auto dir = a->Require("out");
  if (!id || !dir) return Usage(err, "keygen: needs --id and --out", kKeygenUsage);
  if (Status s = MakeDirs(*dir); !s.ok()) return Error(err, s);
  const std::string key_path = *dir + "/" + *id + ".key";
  if (std::filesystem::exists(key_path)) {
    return Error(err, AlreadyExists(key_path + " exists; refusing to overwrite a secret key"));
  }
  identity::KeySet keys = identity::GenerateKeySet(*id);
  if (Status s = identity::WriteSecretKeyFile(key_path, keys); !s.ok()) return Error(err, s);
  if (Status s = WriteFileAtomic(*dir + "/" + *id + ".pub", identity::PublicKeyToml(keys));
      !s.ok()) {
    return Error(err, s);
  }
  out << "wrote " << key_path << " (secret, mode 0600) and " << *dir << "/" << *id
      << ".pub\nsign key " << ToHex(keys.sign_public) << "\n";
  return 0;
}

int DirectoryCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << DirectoryUsage(words[0]);  // not empty: it holds --help
    return 0;
  }
  if (words.empty()) {
    err << DirectoryUsage();
    return 2;
  }
  const std::string& cmd = words[0];
  auto a = Args::Parse(Words(words.begin() + 1, words.end()),
                       {"out", "authority", "broker-pub", "log-origin", "serial", "valid-days",
                        "pub", "role", "country", "name", "province", "agency", "authority-key"},
                       {});
  if (!a) return Usage(err, "directory " + cmd + ": " + a.status().message(), DirectoryUsage());
  if (cmd == "init") return Init(*a, out, err);
  if (a->positional().size() != 1) {
    return Usage(err, "directory " + cmd + ": needs one FILE", DirectoryUsage());
  }
  const std::string& file = a->positional()[0];
  if (cmd == "add") return Add(*a, file, out, err);
  if (cmd == "revoke") return Revoke(*a, file, out, err);
  if (cmd == "sign") return Sign(*a, file, out, err);
  if (cmd == "show") return ShowOrVerify(*a, file, true, out, err);
  if (cmd == "verify") return ShowOrVerify(*a, file, false, out, err);
  return Usage(err, "unknown directory command '" + cmd + "'", DirectoryUsage());
}

}  // namespace nrm::tools
