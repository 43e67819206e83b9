#include "audit/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace nrm::audit {
namespace {

// The next line of `text` (without its newline), advancing `text`; nullopt at the end or when
// the last line has no newline.
std::optional<std::string_view> NextLine(std::string_view* text) {
  const size_t nl = text->find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = text->substr(0, nl);
  text->remove_prefix(nl + 1);
  return line;
}

}  // namespace

std::optional<uint64_t> ParseTreeSize(std::string_view text) {
  uint64_t size = 0;
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), size);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return size;
}

std::string FormatCheckpoint(const Checkpoint& c) {
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" + ToBase64(c.root) + "\n";
  for (const std::string& line : c.extensions) out += line + "\n";
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return InvalidArgument("checkpoint: the text does not end with a newline");
  }
  Checkpoint c;
  std::optional<std::string_view> origin = NextLine(&text);
  std::optional<std::string_view> size = NextLine(&text);
  std::optional<std::string_view> root = NextLine(&text);
  if (!origin || !size || !root) return InvalidArgument("checkpoint: fewer than three lines");
  if (origin->empty()) return InvalidArgument("checkpoint: the origin line is empty");
  c.origin = std::string(*origin);
  const bool digits = !size->empty() && std::all_of(size->begin(), size->end(),
                                                    [](char ch) { return ch >= '0' && ch <= '9'; });
  auto [end, ec] = std::from_chars(size->data(), size->data() + size->size(), c.size);
  if (!digits || (size->size() > 1 && size->front() == '0') || ec != std::errc() ||
      end != size->data() + size->size()) {
    return InvalidArgument("checkpoint: the size line is not a decimal tree size");
  }
  Result<Bytes> hash = FromBase64(*root);
  if (!hash || hash->size() != c.root.size()) {
    return InvalidArgument("checkpoint: the root line is not the base64 of 32 bytes");
  }
  std::copy(hash->begin(), hash->end(), c.root.begin());
  while (std::optional<std::string_view> line = NextLine(&text)) {
    if (line->empty()) return InvalidArgument("checkpoint: an empty extension line");
    c.extensions.emplace_back(*line);
  }
  return c;
}

Status CheckOrigin(std::string_view origin) {
  if (Status s = note::CheckKeyName(origin); !s.ok()) return s.WithContext("log origin");
  if (origin.size() > 255 ||
      !std::all_of(origin.begin(), origin.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
    return InvalidArgument(
        "log origin: at most 255 printable ASCII characters, e.g. "
        "nrm.th/audit/v1");
  }
  if (origin == "cosignature/v1")
    return InvalidArgument("log origin: \"cosignature/v1\" is reserved");
  return Status::Ok();
}

std::string DefaultOrigin(std::string_view broker_id) {
  std::string origin(broker_id);
  for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return origin + "/audit/v1";
}

Result<note::VerifierKey> LogVerifierKey(std::string_view origin, ByteView public_key) {
  NRM_RETURN_IF_ERROR(CheckOrigin(origin));
  return note::MakeVerifierKey(origin, note::kTypeEd25519, public_key);
}

note::VerifierKey LogTimestampKey(const note::VerifierKey& log_key) {
  Result<note::VerifierKey> k =
      note::MakeVerifierKey(log_key.name, note::kTypeCosignatureV1, log_key.public_key);
  NRM_CHECK(k.ok());  // the same name and key made log_key
  return *k;
}

Result<note::VerifierKey> PublishedLogKey(std::string_view log_vkey, std::string_view broker_id,
                                          ByteView sign_key) {
  if (log_vkey.empty()) return LogVerifierKey(DefaultOrigin(broker_id), sign_key);
  NRM_ASSIGN_OR_RETURN(note::VerifierKey k, note::ParseVerifierKey(log_vkey));
  if (k.type != note::kTypeEd25519 ||
      !std::equal(k.public_key.begin(), k.public_key.end(), sign_key.begin(), sign_key.end())) {
    return InvalidArgument("the log's vkey does not hold the broker's Ed25519 sign_key");
  }
  return k;
}

std::string SignCheckpoint(const Checkpoint& checkpoint, const crypto::SecretBytes& secret,
                           int64_t time_ms) {
  NRM_CHECK(time_ms >= 0);
  note::Note n;
  n.text = FormatCheckpoint(checkpoint);
  n.signatures.push_back(note::SignEd25519(n.text, checkpoint.origin, secret));
  n.signatures.push_back(
      note::Cosign(n.text, checkpoint.origin, secret, static_cast<uint64_t>(time_ms / 1000)));
  return note::FormatNote(n);
}

Result<VerifiedCheckpoint> VerifyCheckpointNote(std::string_view note_text,
                                                const note::VerifierKey& log_key,
                                                std::span<const note::VerifierKey> witnesses) {
  NRM_CHECK(log_key.type == note::kTypeEd25519);
  VerifiedCheckpoint out;
  NRM_ASSIGN_OR_RETURN(out.note, note::ParseNote(note_text));
  NRM_ASSIGN_OR_RETURN(out.checkpoint, ParseCheckpoint(out.note.text));
  if (out.checkpoint.origin != log_key.name) {
    return Unauthenticated("checkpoint of origin \"" + out.checkpoint.origin + "\", not \"" +
                           log_key.name + "\"");
  }
  // keys[0] the log, keys[1] its timestamp, then the witnesses.
  std::vector<note::VerifierKey> keys = {log_key, LogTimestampKey(log_key)};
  keys.insert(keys.end(), witnesses.begin(), witnesses.end());
  NRM_ASSIGN_OR_RETURN(std::vector<note::VerifiedSignature> verified,
                       note::OpenNote(out.note, keys));
  bool log_signed = false;
  for (const note::VerifiedSignature& v : verified) {
    if (v.key_index == 0) {
      log_signed = true;
    } else if (v.key_index == 1) {
      out.log_time = v.timestamp;
    } else if (keys[v.key_index].type == note::kTypeCosignatureV1 && v.timestamp) {
      out.cosigned_by.emplace_back(v.key_index - 2, *v.timestamp);
    }
  }
  if (!log_signed) {
    return Unauthenticated("checkpoint: no signature of the log's key " +
                           note::FormatVerifierKey(log_key));
  }
  return out;
}

Result<std::string> AddSignatures(std::string_view note_text,
                                  std::span<const note::Signature> extra) {
  NRM_ASSIGN_OR_RETURN(note::Note n, note::ParseNote(note_text));
  for (const note::Signature& sig : extra) {
    if (std::find(n.signatures.begin(), n.signatures.end(), sig) != n.signatures.end()) continue;
    if (n.signatures.size() == note::kMaxSignatures) {
      return InvalidArgument("a note holds at most " + std::to_string(note::kMaxSignatures) +
                             " signatures");
    }
    n.signatures.push_back(sig);
  }
  return note::FormatNote(n);
}

}  // namespace nrm::audit
