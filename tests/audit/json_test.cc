#include "audit/json.h"

#include <gtest/gtest.h>

namespace nrm::audit::json {
namespace {

TEST(JsonTest, WriterProducesIndentedJson) {
  Writer w;
  w.BeginObject();
  w.Key("a").Uint(1);
  w.Key("b").BeginArray().String("x").Int(-2).EndArray();
  w.Key("c").BeginObject().EndObject();
  w.Key("d").BeginArray().EndArray();
  w.EndObject();
  EXPECT_EQ(w.Finish(),
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\",\n    -2\n  ],\n  \"c\": {},\n  \"d\": []\n}\n");
}

TEST(JsonTest, QuoteEscapesAndParseRestores) {
  const std::string tricky = "q\"b\\s/\n\r\t\x01\x1f\x7f caf\xc3\xa9";
  Result<Value> v = Parse(Quote(tricky));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->text(), tricky);
  EXPECT_EQ(Quote("\x01"), "\"\\u0001\"");
}

TEST(JsonTest, ParsesObjectsArraysAndNumbers) {
  Result<Value> v = Parse(R"( {"n": 18446744073709551615, "m": -9223372036854775808,
      "s": "\u00e9\ud83d\udd12", "a": [true, false, null], "o": {}} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->Find("n")->AsUint64(), UINT64_MAX);
  EXPECT_EQ(v->Find("m")->AsInt64(), INT64_MIN);
  EXPECT_FALSE(v->Find("m")->AsUint64().has_value());
  EXPECT_EQ(v->Find("s")->text(), "\xc3\xa9\xf0\x9f\x94\x92");
  EXPECT_EQ(v->Find("a")->items().size(), 3u);
  EXPECT_TRUE(v->Find("o")->is_object());
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, EqualsIgnoresMemberOrderOnly) {
  Value a = *Parse(R"({"x": 1, "y": [1, 2]})");
  EXPECT_TRUE(a.Equals(*Parse(R"({"y": [1, 2], "x": 1})")));
  EXPECT_FALSE(a.Equals(*Parse(R"({"x": 1, "y": [2, 1]})")));
  EXPECT_FALSE(a.Equals(*Parse(R"({"x": 1})")));
  EXPECT_FALSE(a.Equals(*Parse(R"({"x": 1, "y": [1, 2], "z": null})")));
  EXPECT_FALSE(a.Equals(*Parse(R"({"x": "1", "y": [1, 2]})")));
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"",
                          "{",
                          "}",
                          "[1,]",
                          "{\"a\":1,}",
                          "{\"a\" 1}",
                          "{a: 1}",
                          "01",
                          "1.5",
                          "1e3",
                          "-",
                          "\"abc",
                          "\"\\x\"",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "tru",
                          "{\"a\":1} x",
                          "{\"a\":1,\"a\":2}",
                          "\"tab\there\"",
                          "[1 2]"}) {
    EXPECT_EQ(Parse(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(JsonTest, RejectsDeepNesting) {
  EXPECT_TRUE(Parse(std::string(30, '[') + std::string(30, ']')).ok());
  EXPECT_FALSE(Parse(std::string(100000, '[') + std::string(100000, ']')).ok());
}

}  // namespace
}  // namespace nrm::audit::json
