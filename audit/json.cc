#include "audit/json.h"

#include <algorithm>
#include <charconv>

namespace nrm::audit::json {

std::string Quote(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out.push_back(kDigits[u >> 4]);
          out.push_back(kDigits[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------------- Writer

void Writer::Newline() {
  out_.push_back('\n');
  out_.append(2 * stack_.size(), ' ');
}

void Writer::BeforeValue() {
  if (stack_.empty()) {
    NRM_CHECK(out_.empty());
    return;
  }
  if (stack_.back().object) {
    NRM_CHECK(key_pending_);
    key_pending_ = false;
    return;
  }
  if (stack_.back().items++ > 0) out_.push_back(',');
  Newline();
}

Writer& Writer::BeginObject() {
  BeforeValue();
  Raw("{");
  stack_.push_back({true, 0});
  return *this;
}

Writer& Writer::EndObject() {
  NRM_CHECK(!stack_.empty() && stack_.back().object && !key_pending_);
  const bool had_items = stack_.back().items > 0;
  stack_.pop_back();
  if (had_items) Newline();
  Raw("}");
  return *this;
}

Writer& Writer::BeginArray() {
  BeforeValue();
  Raw("[");
  stack_.push_back({false, 0});
  return *this;
}

Writer& Writer::EndArray() {
  NRM_CHECK(!stack_.empty() && !stack_.back().object);
  const bool had_items = stack_.back().items > 0;
  stack_.pop_back();
  if (had_items) Newline();
  Raw("]");
  return *this;
}

Writer& Writer::Key(std::string_view key) {
  NRM_CHECK(!stack_.empty() && stack_.back().object && !key_pending_);
  if (stack_.back().items++ > 0) out_.push_back(',');
  Newline();
  Raw(Quote(key));
  Raw(": ");
  key_pending_ = true;
  return *this;
}

Writer& Writer::String(std::string_view value) {
  BeforeValue();
  Raw(Quote(value));
  return *this;
}

Writer& Writer::Uint(uint64_t value) {
  BeforeValue();
  Raw(std::to_string(value));
  return *this;
}

Writer& Writer::Int(int64_t value) {
  BeforeValue();
  Raw(std::to_string(value));
  return *this;
}

std::string Writer::Finish() {
  NRM_CHECK(stack_.empty() && !key_pending_);
  out_.push_back('\n');
  return std::move(out_);
}

// ----------------------------------------------------------------------------------- Value

const Value* Value::Find(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<uint64_t> Value::AsUint64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> Value::AsInt64() const {
  if (type_ != Type::kNumber) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return v;
}

bool Value::Equals(const Value& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == other.bool_;
    case Type::kNumber:
    case Type::kString:
      return text_ == other.text_;
    case Type::kArray:
      return std::equal(items_.begin(), items_.end(), other.items_.begin(), other.items_.end(),
                        [](const Value& a, const Value& b) { return a.Equals(b); });
    case Type::kObject:
      if (members_.size() != other.members_.size()) return false;
      for (const auto& [k, v] : members_) {
        const Value* o = other.Find(k);  // keys are unique, so counts plus lookups suffice
        if (o == nullptr || !v.Equals(*o)) return false;
      }
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------- Parser

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Value> ParseDocument() {
    Value v;
    NRM_RETURN_IF_ERROR(ParseValue(&v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("trailing characters");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 32;

  Status Error(std::string_view what) const {
    return InvalidArgument("JSON: " + std::string(what) + " at byte " + std::to_string(pos_));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status ParseValue(Value* v, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipSpace();
    if (pos_ >= s_.size()) return Error("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return ParseObject(v, depth);
    if (c == '[') return ParseArray(v, depth);
    if (c == '"') {
      v->type_ = Value::Type::kString;
      return ParseString(&v->text_);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(v);
    if (ConsumeWord("true") || ConsumeWord("false")) {
      v->type_ = Value::Type::kBool;
      v->bool_ = c == 't';
      return Status::Ok();
    }
    if (ConsumeWord("null")) return Status::Ok();
    return Error("unexpected character");
  }

  Status ParseObject(Value* v, int depth) {
    v->type_ = Value::Type::kObject;
    ++pos_;  // '{'
    if (Consume('}')) return Status::Ok();
    do {
      SkipSpace();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a key");
      NRM_RETURN_IF_ERROR(ParseString(&key));
      if (v->Find(key) != nullptr) return Error("duplicate key \"" + key + "\"");
      if (!Consume(':')) return Error("expected ':'");
      Value member;
      NRM_RETURN_IF_ERROR(ParseValue(&member, depth + 1));
      v->members_.emplace_back(std::move(key), std::move(member));
    } while (Consume(','));
    if (!Consume('}')) return Error("expected ',' or '}'");
    return Status::Ok();
  }

  Status ParseArray(Value* v, int depth) {
    v->type_ = Value::Type::kArray;
    ++pos_;  // '['
    if (Consume(']')) return Status::Ok();
    do {
      Value item;
      NRM_RETURN_IF_ERROR(ParseValue(&item, depth + 1));
      v->items_.push_back(std::move(item));
    } while (Consume(','));
    if (!Consume(']')) return Error("expected ',' or ']'");
    return Status::Ok();
  }

  Status ParseNumber(Value* v) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return Error("bad number");
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
      return Error("number with a leading zero");
    }
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      return Error("only integers are expected");
    }
    v->type_ = Value::Type::kNumber;
    v->text_ = std::string(s_.substr(start, pos_ - start));
    return Status::Ok();
  }

  bool Hex4(uint32_t* out) {
    if (s_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      v = v << 4 | d;
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | cp >> 6));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | cp >> 12));
      out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | cp >> 18));
      out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  Status ParseString(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return Status::Ok();
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return Error("bad \\u escape");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low;
            if (!ConsumeWord("\\u") || !Hex4(&low) || low < 0xdc00 || low > 0xdfff) {
              return Error("unpaired surrogate");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return Error("unpaired surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Error("bad escape");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Result<Value> Parse(std::string_view text) { return Parser(text).ParseDocument(); }

}  // namespace nrm::audit::json
