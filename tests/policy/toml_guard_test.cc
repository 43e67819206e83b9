// Inputs that crash toml++ 3.3.0 (a failed assert, or undefined behaviour) are refused with a
// message instead; see common/config/toml_guard.h. Without the guard, a header-only debug toml++
// aborts on the first tests' inputs.
#include "common/config/toml_guard.h"

#include <gtest/gtest.h>

#include <string>

#include "common/config/toml_util.h"
#include "policy/cases.h"
#include "policy/policy.h"
#include "tests/policy/policy_test_util.h"

namespace nrm::policy {
namespace {

using config::CheckTomlSafe;

TEST(TomlGuardTest, RefusesTableHeaderThatIsNotAKey) {
  for (const char* text : {"[&", "[[ !rule]]", "a = 1\n  [\n", "[#x]\n", "[\r\n", "[[[1]]]"}) {
    Status s = CheckTomlSafe(text, "p.toml");
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(": bad table header (expected a name after '[', e.g. [[rule]])"),
              std::string::npos)
        << s.message();
    EXPECT_EQ(Lint(text, "p.toml"), std::vector<std::string>{s.message()});
  }
  EXPECT_EQ(CheckTomlSafe("a = 1\n  [\n", "p.toml").message(),
            "p.toml:2: bad table header (expected a name after '[', e.g. [[rule]])");
}

TEST(TomlGuardTest, RefusesClosingBraceWhereAValueIsExpected) {
  for (const char* text : {"a = [}", "a = [1, }", "a = [\n  # c\n}", "a = [[}]]", "a = [{}, }"}) {
    EXPECT_EQ(Lint(text, "p.toml").front().find("'}' where a value was expected"), 10u) << text;
  }
  EXPECT_TRUE(CheckTomlSafe("a = [{ b = \"}\" }, {}]\n", "p.toml").ok());
}

TEST(TomlGuardTest, RefusesNonAsciiOutsideStrings) {
  EXPECT_EQ(CheckTomlSafe("roles = [\"police\"] \xC3\xA9\n", "p.toml").message(),
            "p.toml:1: non-ASCII character outside a quoted string (text in any script goes in "
            "quotes, e.g. title = \"...\")");
  EXPECT_EQ(CheckTomlSafe("a = 1\n[handling.H\xCB\xA2]\n", "p.toml").code(),
            Code::kInvalidArgument);
  // The same through the cases reader.
  Result<Policy> p = Policy::Parse(kMinimalPolicy, "p.toml", "h");
  ASSERT_TRUE(p.ok());
  Result<std::vector<CaseResult>> r = RunCases(*p, "[[case]]\nname = \"x\" \xD0\x96\n", "c.toml");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("c.toml:2: non-ASCII character", 0), 0u)
      << r.status().message();
}

TEST(TomlGuardTest, RefusesDateFollowedByALoneDigit) {
  for (const char* text : {"a = 1979-05-27 7]", "a = 1979-05-27 7\n", "x = [1979-05-27 0]",
                           "x = {a = 1979-05-27 0}", "a = 1798-31-ro 2]"}) {
    Status s = CheckTomlSafe(text, "p.toml");
    EXPECT_EQ(s.message().rfind("p.toml:1: a value followed by a space and a lone digit", 0), 0u)
        << text << ": " << s.message();
  }
  EXPECT_TRUE(CheckTomlSafe("x = [1979-05-27 07:32:00, 1979-05-27 ]\n", "p.toml").ok());
  EXPECT_TRUE(config::ParseToml("x = [1979-05-27 07:32:00, 1979-05-27 ]\n", "p.toml").ok());
}

// A quote inside a bare token (1"x) does not start a string for toml++, which then scans the
// rest of the token character by character.
TEST(TomlGuardTest, QuoteInsideABareValueIsNotAString) {
  EXPECT_EQ(CheckTomlSafe("roles = [\"police\",1\"\xC7\x91\"]\n", "p.toml").message(),
            "p.toml:1: non-ASCII character outside a quoted string (text in any script goes in "
            "quotes, e.g. title = \"...\")");
  EXPECT_EQ(CheckTomlSafe("a = 1.\"\xC3\xA9\"\n", "p.toml").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTomlSafe("x = [[1[[\"\"\"[[\xC2\xB7H\"\"\"]]\n", "p.toml").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CheckTomlSafe("x = [{a = 1} 1\"\xC2\xB7\"]\n", "p.toml").code(),
            Code::kInvalidArgument);
  // Quoted keys and values where TOML puts them stay free text.
  for (const char* ok :
       {"a.\"\xC3\xA9\" = 1\n", "[t.\"\xC3\xA9\"]\n", "[[\"\xC3\xA9\"]]\n",
        "a = { \"\xC3\xA9\" = 1, b.\"\xC3\xA9\" = '\xC3\xA9' }\n",
        "a = [\n  \"\xC3\xA9\",\n  '\xC3\xA9', ]\n", "\"\xC3\xA9\" = \"\"\"\xC3\xA9\"\"\"\n"}) {
    EXPECT_TRUE(CheckTomlSafe(ok, "p.toml").ok()) << ok;
    EXPECT_TRUE(config::ParseToml(ok, "p.toml").ok()) << ok;  // and it is valid TOML
  }
}

TEST(TomlGuardTest, RefusesNonAsciiAfterBackslashInMultiLineString) {
  EXPECT_EQ(CheckTomlSafe("s = \"\"\"\\\n\xC2\xA7\"\"\"\n", "p.toml").message(),
            "p.toml:2: a line continued with a backslash starts with a non-ASCII character "
            "(start it with an ASCII character)");
  EXPECT_EQ(CheckTomlSafe("s = \"\"\"\\ \xC2\xA7\"\"\"\n", "p.toml").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CheckTomlSafe("s = \"\"\"\\\xC2\xA7\"\"\"\n", "p.toml").message(),
            "p.toml:1: non-ASCII character right after a backslash in a string");
}

// Officials write in Thai, Khmer, Burmese, Lao, Vietnamese, Chinese: inside quotes and comments
// that must keep working.
TEST(TomlGuardTest, AcceptsAnyScriptInStringsAndComments) {
  std::string text = kMinimalPolicy;
  ReplaceOnce(text, "description = \"zero\"",
              "description = \"ใช้เพื่อป้องกันและปราบปรามการค้ามนุษย์เท่านั้น\"  # ហាមចែករំលែក");
  ReplaceOnce(text, "description = \"one\"",
              "description = \"\"\"Không dùng trong tố tụng \\\n    ok é\"\"\"");
  ReplaceOnce(text, "description = \"two\"", "description = 'Ελληνικά, 中文, Русский'");
  EXPECT_TRUE(CheckTomlSafe(text, "p.toml").ok());
  Result<Policy> p = Policy::Parse(text, "p.toml", "h");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_NE(p->Handling("H0"), nullptr);
  EXPECT_EQ(p->Handling("H0")->description, "ใช้เพื่อป้องกันและปราบปรามการค้ามนุษย์เท่านั้น");
  EXPECT_EQ(p->Handling("H1")->description, "Không dùng trong tố tụng ok é");
}

// Up to two quotes before the closing delimiter belong to a multi-line string.
TEST(TomlGuardTest, MultiLineStringsEndWhereTomlEndsThem) {
  EXPECT_EQ(CheckTomlSafe("a = ['''e'''' \xEF\xBB\xB6]", "p.toml").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckTomlSafe("a = \"\"\"e\"\"\"\"\" \xC3\xA9", "p.toml").code(),
            Code::kInvalidArgument);
  const char* ok = "a = '''it''''' # \xC3\xA9\nb = \"\"\"\xC3\xA9\"\"\"\"\n";
  EXPECT_TRUE(CheckTomlSafe(ok, "p.toml").ok());
  Result<config::TomlDoc> doc = config::ParseToml(ok, "p.toml");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->root["a"].value<std::string>(), "it''");
  EXPECT_EQ(doc->root["b"].value<std::string>(), "\xC3\xA9\"");
}

TEST(TomlGuardTest, LineNumbersCountStringsAndComments) {
  EXPECT_EQ(CheckTomlSafe("# é\ns = \"\"\"\n\n\"\"\"\nt = 'x' # ü\n[!]\n", "p.toml").message(),
            "p.toml:6: bad table header (expected a name after '[', e.g. [[rule]])");
}

}  // namespace
}  // namespace nrm::policy
