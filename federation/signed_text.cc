#include "federation/signed_text.h"

#include "common/crypto/crypto.h"

namespace nrm::federation {

Result<SignedText> SplitSignedText(std::string_view text, std::string_view prefix,
                                   const std::string& path) {
  if (text.empty() || text.back() != '\n') {
    return InvalidArgument(path + ": must end with a newline");
  }
  SignedText out;
  size_t pos = 0, line = 1;
  bool in_body = true;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);  // found: the text ends with '\n'
    const std::string_view l = text.substr(pos, end - pos);
    if (in_body && l.starts_with(prefix)) {
      in_body = false;
      out.body = text.substr(0, pos);
    }
    if (!in_body) {
      const std::string where = path + ":" + std::to_string(line);
      const size_t eq = l.find(" = \"");
      if (!l.starts_with(prefix) || eq == std::string_view::npos || !l.ends_with('"')) {
        return InvalidArgument(where + ": only signature lines (" + std::string(prefix) +
                               "... = \"<128 hex>\") may follow the first one");
      }
      const std::string_view hex = l.substr(eq + 4, l.size() - eq - 5);
      Result<Bytes> sig = FromHexExact(hex, crypto::kSignatureBytes, "signature");
      if (!sig) return sig.status().WithContext(where);
      out.signatures.push_back({std::string(l.substr(0, eq)), std::move(*sig), line});
    }
    pos = end + 1;
    ++line;
  }
  if (in_body) out.body = text;
  return out;
}

Bytes ContextBytes(std::string_view context, std::string_view body) {
  Bytes out;
  out.reserve(context.size() + 1 + body.size());
  out.insert(out.end(), context.begin(), context.end());
  out.push_back(0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string TomlQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string q = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (u < 0x20 || u == 0x7F) {
      q += "\\u00";
      q += kHex[u >> 4];
      q += kHex[u & 0xF];
    } else {
      q += c;
    }
  }
  return q + "\"";
}

std::string TomlList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + TomlQuote(items[i]);
  return out + "]";
}

Status CheckText(std::string_view s, size_t max, std::string_view what) {
  if (s.empty() || s.size() > max) {
    return InvalidArgument(std::string(what) + " must be 1 to " + std::to_string(max) +
                           " bytes long");
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return InvalidArgument(std::string(what) + " must not hold control characters");
    }
  }
  return Status::Ok();
}

Status CheckCountry(std::string_view country, std::string_view what) {
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (country.size() != 2 || !upper(country[0]) || !upper(country[1])) {
    std::string shown;
    for (char c : country.substr(0, 8)) shown += (c > 0x20 && c < 0x7F) ? c : '?';
    return InvalidArgument(std::string(what) + " '" + shown +
                           "' is not a country code (two upper-case letters, e.g. TH)");
  }
  return Status::Ok();
}

}  // namespace nrm::federation
