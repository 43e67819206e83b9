// A small JSON writer and reader for the audit proofs (docs/AUDIT.md), so the tools need no
// JSON dependency. The reader accepts RFC 8259 JSON except that numbers must be integers (the
// proof formats hold nothing else); it never aborts, whatever the input, and limits nesting.
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace nrm::audit::json {

// `s` as a JSON string literal, quotes included. Control characters, '"' and '\' are escaped;
// other bytes are copied, so `s` should be UTF-8.
std::string Quote(std::string_view s);

// Builds indented JSON. Misuse (a value where a key is due, unbalanced End*) is a bug of ours
// and aborts through NRM_CHECK.
class Writer {
 public:
  Writer& BeginObject();
  Writer& EndObject();
  Writer& BeginArray();
  Writer& EndArray();
  Writer& Key(std::string_view key);
  Writer& String(std::string_view value);
  Writer& Uint(uint64_t value);
  Writer& Int(int64_t value);
  // The text, with a final newline. REQUIRES: every Begin* has been ended.
  std::string Finish();

 private:
  void BeforeValue();
  void Raw(std::string_view text) { out_.append(text); }
  void Newline();

  std::string out_;
  struct Level {
    bool object;
    size_t items;
  };
  std::vector<Level> stack_;
  bool key_pending_ = false;
};

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }

  // Member `key` of an object, or nullptr (also when this is not an object).
  const Value* Find(std::string_view key) const;
  const std::vector<Value>& items() const { return items_; }  // an array's elements
  const std::string& text() const { return text_; }           // a string's value, a number's digits

  std::optional<uint64_t> AsUint64() const;
  std::optional<int64_t> AsInt64() const;

  // Structural equality; object members compare as a set, whatever their order.
  bool Equals(const Value& other) const;

 private:
  friend class Parser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> items_;                            // array elements
  std::vector<std::pair<std::string, Value>> members_;  // object members, in text order
};

// The document in `text`; kInvalidArgument with the byte offset of the first error, for
// malformed JSON, duplicate object keys, non-integer numbers or nesting deeper than 32.
Result<Value> Parse(std::string_view text);

}  // namespace nrm::audit::json
