// The words of the case data validation (agent/validate.h): its messages as Phrases (English
// for the command line, words and values for the web inbox to translate), the dates people
// write (a Buddhist-era year or a day/month/year date is refused with the ISO 8601 date to write
// instead), and the JSON syntax errors of a case file (a missing or extra comma is named at the
// line it belongs to).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>

#include "agent/validate.h"
#include "agent/vocabulary.h"

namespace nrm::agent {
namespace {

using json::Json;

bool RealDay(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

std::string Iso(int y, int m, int d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// A year this far on is a Buddhist-era year (CE + 543): Thai documents write 2569 for 2026.
constexpr int kFirstBuddhistEraYear = 2300;
constexpr int kBuddhistEraOffset = 543;

}  // namespace

// json::Parse says "JSON: line L, column C: WHAT" at the token that stopped it: a missing comma
// or a comma too many shows only at the next token, which may be lines later.
FieldError JsonSyntaxError(std::string_view text, const std::string& message) {
  FieldError e;
  std::smatch m;
  static const std::regex kWhere(R"(line (\d+), column (\d+): (.*))");
  if (!std::regex_search(message, m, kWhere)) {
    e.message = message.starts_with("JSON: ") ? message.substr(6) : message;
    return e;
  }
  e.line = std::stoi(m[1].str());
  e.column = std::stoi(m[2].str());
  std::string what = m[3].str();
  size_t at = 0;
  for (int l = 1; l < e.line && at < text.size(); ++l) at = text.find('\n', at) + 1;
  at = std::min(text.size(), at + static_cast<size_t>(e.column - 1));
  // `at` is the last character the parser read: go back to the start of its token (a string
  // or a word), then to the last character before that token.
  if (at < text.size() && text[at] == '"' && at > 0) {
    size_t open = at - 1;
    while (open > 0 && !(text[open] == '"' && text[open - 1] != '\\')) --open;
    at = open;
  } else {
    while (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) ||
                      text[at - 1] == '.' || text[at - 1] == '-' || text[at - 1] == '+')) {
      --at;
    }
  }
  size_t prev = at;
  while (prev > 0 && std::isspace(static_cast<unsigned char>(text[prev - 1]))) --prev;
  const bool moved = text.substr(prev, at - prev).find('\n') != std::string_view::npos;
  if (moved && prev > 0 && what.find("unexpected") != std::string::npos) {
    const bool comma = text[prev - 1] == ',';
    size_t line_start = text.rfind('\n', prev - 1);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    e.line = static_cast<int>(std::count(text.begin(), text.begin() + prev, '\n')) + 1;
    e.column = static_cast<int>(prev - line_start) + (comma ? 0 : 1);
    what = comma ? "this comma is followed by no field: remove it (" + what + ")"
                 : "a comma is missing after this value, before the next field (" + what + ")";
  }
  e.message =
      "line " + std::to_string(e.line) + ", column " + std::to_string(e.column) + ": " + what;
  return e;
}

Phrase CheckDatePhrase(std::string_view text, bool year_alone) {
  const std::string s(text);
  std::smatch m;
  static const std::regex kIso(R"((\d{4})-(\d{2})-(\d{2}))");
  static const std::regex kYear(R"(\d{4})");
  static const std::regex kDayFirst(R"((\d{1,2})[/.-](\d{1,2})[/.-](\d{4}))");
  static const std::regex kYearFirst(R"((\d{4})[/.](\d{1,2})[/.](\d{1,2}))");
  int y = 0, mo = 0, d = 0;
  bool day_first = false, year_first = false;
  if (std::regex_match(s, m, kIso)) {
    y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
  } else if (year_alone && std::regex_match(s, kYear)) {
    y = std::stoi(s);
    if (y < kFirstBuddhistEraYear) return {};
    return Say("%1 looks like a Buddhist-era year: write %2",
               {AsIs(s), AsIs(std::to_string(y - kBuddhistEraOffset))});
  } else if (std::regex_match(s, m, kDayFirst)) {
    y = std::stoi(m[3].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[1].str());
    day_first = true;
  } else if (std::regex_match(s, m, kYearFirst)) {
    y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
    year_first = true;
  } else if (year_alone) {
    return Say(
        "not a date: write the day as YYYY-MM-DD (ISO 8601), e.g. 2026-11-29, or the year alone "
        "(YYYY) when only it is known");
  } else {
    return Say("not a date: write the day as YYYY-MM-DD (ISO 8601), e.g. 2026-11-29");
  }
  if (y >= kFirstBuddhistEraYear) {
    const int ce = y - kBuddhistEraOffset;
    if (!RealDay(ce, mo, d)) return Say("%1 is not a day of the calendar", {AsIs(s)});
    return Say("%1 looks like a Buddhist-era date: write %2", {AsIs(s), AsIs(Iso(ce, mo, d))});
  }
  if (!RealDay(y, mo, d)) return Say("%1 is not a day of the calendar (YYYY-MM-DD)", {AsIs(s)});
  if (day_first) return Say("%1 reads as day/month/year: write %2", {AsIs(s), AsIs(Iso(y, mo, d))});
  if (year_first) {
    return Say("%1 reads as year/month/day: write %2", {AsIs(s), AsIs(Iso(y, mo, d))});
  }
  return {};
}

std::string CheckDate(std::string_view text, bool year_alone) {
  return English(CheckDatePhrase(text, year_alone));
}

std::string OneOf(const std::vector<std::string_view>& values) {
  if (values.size() > 12) return "";
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + std::string(values[i]);
  }
  return out;
}

Phrase Say(const char* words, std::vector<MessageArg> args) { return {words, std::move(args)}; }

MessageArg AsIs(std::string text) { return {MessageArg::Kind::kAsIs, std::move(text)}; }

MessageArg Nested(const Phrase& p) { return {MessageArg::Kind::kPhrase, PhraseToJson(p).dump()}; }

Phrase TooLongPhrase() {
  return Say("longer than %1 bytes", {AsIs(std::to_string(kMaxTextBytes))});
}

std::string FillPlaceholders(std::string_view words, const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    const char c = words[i];
    if (c == '%' && i + 1 < words.size() && words[i + 1] >= '1' && words[i + 1] <= '9') {
      const size_t n = static_cast<size_t>(words[i + 1] - '1');
      if (n < values.size()) {
        out += values[n];
        ++i;
        continue;
      }
    }
    out += c;
  }
  return out;
}

std::vector<std::string> SplitValues(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= text.size();) {
    const size_t bar = std::min(text.find('|', at), text.size());
    out.push_back(text.substr(at, bar - at));
    at = bar + 1;
  }
  return out;
}

namespace {
constexpr std::pair<MessageArg::Kind, std::string_view> kArgKinds[] = {
    {MessageArg::Kind::kAsIs, "as_is"},      {MessageArg::Kind::kWords, "words"},
    {MessageArg::Kind::kCountry, "country"}, {MessageArg::Kind::kValue, "value"},
    {MessageArg::Kind::kValues, "values"},   {MessageArg::Kind::kPhrase, "phrase"}};
}  // namespace

Json PhraseToJson(const Phrase& p) {
  Json args = Json::array();
  for (const MessageArg& a : p.args) {
    for (const auto& [kind, name] : kArgKinds) {
      if (kind == a.kind) args.push_back({{"kind", name}, {"text", a.text}});
    }
  }
  return {{"words", p.words}, {"args", args}};
}

Phrase PhraseFromJson(const Json& j) {
  Phrase p;
  if (!j.is_object() || !j.contains("words") || !j["words"].is_string()) return p;
  p.words = j["words"].get<std::string>();
  if (!j.contains("args") || !j["args"].is_array()) return p;
  for (const Json& a : j["args"]) {
    if (!a.is_object()) continue;
    MessageArg arg{MessageArg::Kind::kAsIs, a.value("text", std::string())};
    const std::string name = a.value("kind", std::string());
    for (const auto& [kind, n] : kArgKinds) {
      if (n == name) arg.kind = kind;
    }
    p.args.push_back(std::move(arg));
  }
  return p;
}

std::string English(const Phrase& p) {
  std::vector<std::string> values;
  for (const MessageArg& a : p.args) {
    if (a.kind == MessageArg::Kind::kCountry) {
      values.emplace_back(CountryName(a.text));
    } else if (a.kind == MessageArg::Kind::kValues) {
      const std::vector<std::string> split = SplitValues(a.text);
      values.push_back(OneOf(std::vector<std::string_view>(split.begin(), split.end())));
    } else if (a.kind == MessageArg::Kind::kPhrase) {
      const Result<Json> nested = json::Parse(a.text);
      values.push_back(nested.ok() ? English(PhraseFromJson(*nested)) : a.text);
    } else {
      values.push_back(a.text);
    }
  }
  return FillPlaceholders(p.words, values);
}

}  // namespace nrm::agent
