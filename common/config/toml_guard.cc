#include "common/config/toml_guard.h"

#include <algorithm>

namespace nrm::config {
namespace {

// What toml++ accepts as the first character of a key in a header (ASCII bare keys, TOML 1.0),
// or ']' (a blank header, which it reports properly itself).
bool StartsKey(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '"' || c == '\'' || c == ']';
}

bool IsAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }

class Scanner {
 public:
  Scanner(std::string_view text, const std::string& path) : t_(text), path_(path) {}

  Status Run() {
    // toml++ skips a UTF-8 byte order mark before the first line.
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    bool line_start = true;
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (line_start) {
        line_start = false;
        NRM_RETURN_IF_ERROR(CheckHeader());
        lhs_ = stack_.empty();
        size_t j = i_;
        while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t')) ++j;
        in_header_ = stack_.empty() && j < t_.size() && t_[j] == '[';
        continue;
      }
      if (!IsAscii(c)) {
        // toml++ classifies characters here (is it whitespace? does the value end?).
        return Error(
            "non-ASCII character outside a quoted string (text in any script goes in quotes, "
            "e.g. title = \"...\")");
      }
      if (in_token_) {
        // toml++ scans a bare value (number, date, boolean) up to a value terminator, whatever
        // it holds: a quote or a bracket inside it is not structure.
        if (!EndsValue(c)) {
          ++i_;
          continue;
        }
        in_token_ = false;
        // A date may be followed by " " and a time; toml++ looks ahead for one and trips over a
        // lone digit ("a = 1979-05-27 7]"). Never valid TOML: a time has at least "hh:mm".
        if (c == ' ' && i_ + 1 < t_.size() && t_[i_ + 1] >= '0' && t_[i_ + 1] <= '9' &&
            (i_ + 2 == t_.size() || EndsValue(t_[i_ + 2]))) {
          return Error(
              "a value followed by a space and a lone digit (expected a full time, e.g. "
              "1979-05-27 07:32:00, or a comma between values)");
        }
      }
      if (c == '\n') {
        ++line_;
        ++i_;
        line_start = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
        continue;
      }
      if (c == '#') {
        while (i_ < t_.size() && t_[i_] != '\n') ++i_;
        continue;
      }
      if (c == '}' && (prev_ == '[' || prev_ == ',')) {
        return Error("'}' where a value was expected (an array is closed with ']')");
      }
      if (c == '"' || c == '\'') {
        if (t_.substr(i_, 3) == "\"\"\"") {
          i_ += 3;
          NRM_RETURN_IF_ERROR(MultiLineBasic());
        } else if (t_.substr(i_, 3) == "'''") {
          i_ += 3;
          SkipUntil("'''");
        } else {
          ++i_;
          SingleLine(c, /*escapes=*/c == '"');
        }
      } else {
        ++i_;
        Structure(c);
      }
      prev_ = c;
    }
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument(path_ + ":" + std::to_string(line_) + ": " + what);
  }

  // At the start of a line outside strings: a "[" there opens a table header.
  Status CheckHeader() {
    size_t j = i_;
    while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t')) ++j;
    if (j >= t_.size() || t_[j] != '[') return Status::Ok();
    ++j;
    if (j < t_.size() && t_[j] == '[') ++j;
    while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t')) ++j;
    // At the very end of the text toml++ reports the error itself.
    if (j < t_.size() && !StartsKey(t_[j])) {
      return Error("bad table header (expected a name after '[', e.g. [[rule]])");
    }
    return Status::Ok();
  }

  // A "..." or '...' string; toml++ ends it (with an error) at the end of the line.
  void SingleLine(char quote, bool escapes) {
    while (i_ < t_.size() && t_[i_] != '\n') {
      char c = t_[i_++];
      if (c == quote) return;
      if (escapes && c == '\\' && i_ < t_.size() && t_[i_] != '\n') ++i_;
    }
  }

  // Past the closing ''' of a multi-line literal string.
  void SkipUntil(std::string_view end) {
    while (i_ < t_.size() && t_.substr(i_, end.size()) != end) {
      if (t_[i_] == '\n') ++line_;
      ++i_;
    }
    SkipClosingQuotes(end[0]);
  }

  // At a closing """ or ''': up to two more quotes belong to the string ('''it''''' is "it''").
  void SkipClosingQuotes(char quote) {
    size_t run = 0;
    while (i_ + run < t_.size() && t_[i_ + run] == quote && run < 5) ++run;
    i_ += run;
  }

  Status MultiLineBasic() {
    while (i_ < t_.size()) {
      if (t_.substr(i_, 3) == "\"\"\"") {
        SkipClosingQuotes('"');
        return Status::Ok();
      }
      char c = t_[i_++];
      if (c == '\n') {
        ++line_;
        continue;
      }
      if (c != '\\' || i_ >= t_.size()) continue;
      char next = t_[i_];
      if (!IsAscii(next)) return Error("non-ASCII character right after a backslash in a string");
      if (next != ' ' && next != '\t' && next != '\r' && next != '\n') {
        ++i_;  // an escape such as \" or \n
        continue;
      }
      // A line-ending backslash: toml++ skips the whitespace and newlines that follow.
      while (i_ < t_.size() &&
             (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\r' || t_[i_] == '\n')) {
        if (t_[i_] == '\n') ++line_;
        ++i_;
      }
      if (i_ < t_.size() && !IsAscii(t_[i_])) {
        return Error(
            "a line continued with a backslash starts with a non-ASCII character (start it with "
            "an ASCII character)");
      }
    }
    return Status::Ok();
  }

  // What ends a bare value for toml++ (its is_value_terminator, for ASCII).
  static bool EndsValue(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ']' || c == '}' || c == ',' ||
           c == '#';
  }

  // Tracks whether we are in a key (left of '=') or a value, through arrays and inline tables.
  void Structure(char c) {
    switch (c) {
      case '=':
        lhs_ = false;
        break;
      case '[':
        if (in_header_) break;  // a table header's brackets hold a key
        stack_.push_back('[');
        lhs_ = false;
        break;
      case '{':
        stack_.push_back('{');
        lhs_ = true;
        break;
      case ']':
        if (in_header_) break;
        if (!stack_.empty() && stack_.back() == '[') stack_.pop_back();
        lhs_ = false;  // back in the enclosing value
        break;
      case '}':
        if (!stack_.empty() && stack_.back() == '{') stack_.pop_back();
        lhs_ = false;
        break;
      case ',':
        lhs_ = !stack_.empty() && stack_.back() == '{';
        break;
      default:
        // In a value, anything else starts a bare value (a key is read segment by segment, and
        // toml++ stops at the first character that does not belong).
        if (!lhs_) in_token_ = true;
        break;
    }
  }

  std::string_view t_;
  const std::string& path_;
  size_t i_ = 0;
  size_t line_ = 1;
  char prev_ = '\0';        // the last character outside comments and whitespace ('"' for a string)
  bool in_token_ = false;   // inside a bare value such as 2003-05-31 or 1e5
  bool lhs_ = true;         // in a key rather than a value
  bool in_header_ = false;  // on a [table] or [[array]] header line
  std::string stack_;       // open '[' and '{' of values
};

}  // namespace

Status CheckTomlSafe(std::string_view text, const std::string& path) {
  return Scanner(text, path).Run();
}

}  // namespace nrm::config
