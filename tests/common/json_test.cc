// nrm_json: the indented form the proofs and tools print, escaping, and the parser's refusals
// (malformed text, duplicate keys, deep nesting) with the line and column of the error, on any
// input without an exception or an abort.
#include "common/json/json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace nrm::json {
namespace {

TEST(JsonTest, DumpProducesIndentedJson) {
  Json v = Json::object();
  v["a"] = 1u;
  v["b"] = Json::array({"x", -2});
  v["c"] = Json::object();
  v["d"] = Json::array();
  EXPECT_EQ(Dump(v),
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\",\n    -2\n  ],\n  \"c\": {},\n  \"d\": []\n}\n");
  EXPECT_EQ(Dump(Json{{"max", UINT64_MAX}, {"min", INT64_MIN}}),
            "{\n  \"max\": 18446744073709551615,\n  \"min\": -9223372036854775808\n}\n");
}

TEST(JsonTest, KeepsInsertionOrder) {
  Json v = Json::object();
  v["z"] = 1;
  v["a"] = 2;
  EXPECT_EQ(Dump(v), "{\n  \"z\": 1,\n  \"a\": 2\n}\n");
}

TEST(JsonTest, QuoteEscapesAndParseRestores) {
  const std::string tricky = "q\"b\\s/\n\r\t\x01\x1f\x7f caf\xc3\xa9";
  Result<Json> v = Parse(Quote(tricky));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->is_string());
  EXPECT_EQ(v->get<std::string>(), tricky);
  EXPECT_EQ(Quote("\x01"), "\"\\u0001\"");
  EXPECT_EQ(Quote("a\"b"), "\"a\\\"b\"");
}

TEST(JsonTest, InvalidUtf8IsReplacedNotFatal) {
  EXPECT_EQ(Quote("a\xff"), "\"a\xef\xbf\xbd\"");
  EXPECT_EQ(Dump(Json("\xc3")), "\"\xef\xbf\xbd\"\n");
  EXPECT_FALSE(Parse("\"a\xff\"").ok());
}

TEST(JsonTest, ParsesObjectsArraysAndNumbers) {
  Result<Json> v = Parse(R"( {"n": 18446744073709551615, "m": -9223372036854775808,
      "s": "\u00e9\ud83d\udd12", "a": [true, false, null], "o": {}} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE((*v)["n"].is_number_unsigned());
  EXPECT_EQ((*v)["n"].get<uint64_t>(), UINT64_MAX);
  ASSERT_TRUE((*v)["m"].is_number_integer());
  EXPECT_FALSE((*v)["m"].is_number_unsigned());
  EXPECT_EQ((*v)["m"].get<int64_t>(), INT64_MIN);
  EXPECT_EQ((*v)["s"].get<std::string>(), "\xc3\xa9\xf0\x9f\x94\x92");
  EXPECT_EQ((*v)["a"].size(), 3u);
  EXPECT_TRUE((*v)["o"].is_object());
  EXPECT_EQ(v->find("missing"), v->end());
  // Past uint64 a number is no longer an integer: a reader that wants one sees the difference.
  EXPECT_TRUE((*Parse("18446744073709551616")).is_number_float());
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad :
       {"", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a: 1}", "01", "-", "1.", "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "tru", "{\"a\":1} x", "\"tab\there\"", "[1 2]"}) {
    EXPECT_EQ(Parse(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(JsonTest, RejectsDuplicateKeysAtAnyDepth) {
  EXPECT_EQ(Parse(R"({"a":1,"a":2})").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Parse(R"({"x":[{"b":1,"b":1}]})").status().code(), Code::kInvalidArgument);
  Result<Json> bad = Parse(R"({"o": {"k": 1, "k": 2}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("duplicate key \"k\""), std::string::npos)
      << bad.status().message();
  // The same key in different objects is fine.
  EXPECT_TRUE(Parse(R"({"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]})").ok());
}

TEST(JsonTest, RejectsDeepNesting) {
  EXPECT_TRUE(Parse(std::string(30, '[') + std::string(30, ']')).ok());
  EXPECT_TRUE(Parse(std::string(32, '[') + std::string(32, ']')).ok());
  EXPECT_FALSE(Parse(std::string(33, '[') + std::string(33, ']')).ok());
  std::string objects;
  for (int i = 0; i < 40; ++i) objects += "{\"a\":";
  objects += "1" + std::string(40, '}');
  EXPECT_FALSE(Parse(objects).ok());
  Result<Json> deep = Parse(std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nesting deeper than 32"), std::string::npos);
  EXPECT_TRUE(Parse("[[1]]", ParseOptions{.max_depth = 2}).ok());
  EXPECT_FALSE(Parse("[[[1]]]", ParseOptions{.max_depth = 2}).ok());
}

TEST(JsonTest, ErrorsNameLineAndColumnButNotTheInput) {
  Result<Json> v = Parse("{\n  \"a\": 1,\n  \"b\": Somchai\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
  const std::string message = v.status().message();
  EXPECT_EQ(message.rfind("JSON: line 3, column ", 0), 0u) << message;
  EXPECT_EQ(message.find("Somchai"), std::string::npos) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
  Result<Json> w = Parse("[1,\n\n   x]");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message().rfind("JSON: line 3, column 4", 0), 0u) << w.status().message();
}

// Whatever the bytes, Parse returns: every prefix of a document, and the document with each byte
// replaced by each of a few troublesome values.
TEST(JsonTest, HostileInputNeverThrowsOrAborts) {
  const std::string doc =
      R"({"type": "x", "n": [1, -2, 3.5e2, true, null], "s": "\u00e9\"\\", "o": {"k": {}}})";
  ASSERT_TRUE(Parse(doc).ok());
  for (size_t n = 0; n < doc.size(); ++n) EXPECT_FALSE(Parse(doc.substr(0, n)).ok()) << n;
  for (size_t i = 0; i < doc.size(); ++i) {
    for (char c : {'\0', '"', '\\', '{', '[', ']', '}', ',', ':', '\xff', '\x80', '9', 'e'}) {
      std::string mutated = doc;
      mutated[i] = c;
      Result<Json> v = Parse(mutated);
      if (v.ok()) (void)Dump(*v);
    }
  }
}

}  // namespace
}  // namespace nrm::json
