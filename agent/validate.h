// Validation of the case data people write: a case file given to `offer` and the other steps,
// a web form, an imported HTCDS file. The JSON is checked against schemas/payload.fbs (every
// field known, of its type) and against the domain: the sections a kind of step needs (an offer
// names the person, the reason for referral, the needs and the consent), ISO 8601 dates (a
// Buddhist-era year or day/month/year is refused with the date to write instead), ISO 3166-1
// countries (a name is refused with its code), ISO 639-1 languages, the closed lists of values
// (agent/vocabulary.h, with the nearest valid value), roles, sections, and agencies of the
// directory. Every problem is reported, each with its JSON path, the value as written, and a
// message that says how to fix it; a syntax error names the line and column where it is.
//
// Pure functions (the directory is read only); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/identity/identity.h"
#include "common/json/json.h"
#include "common/status.h"
#include "schemas/wire/envelope.h"

namespace nrm::agent {

// A value a message names, and how a reader in another language is shown it.
struct MessageArg {
  enum class Kind {
    kAsIs,     // a value as written, a date, a number, a path or an id: the same in any language
    kWords,    // English words, a msgid of the web inbox's catalogs (agent/web/po/extra.pot)
    kCountry,  // an ISO 3166-1 code: the country's name ("Myanmar" for "MM")
    kValue,    // a value of a closed list (an enumeration, a role, a section): the value itself
               // here, its words where the web inbox has them
    kValues,   // several such values, "|"-separated: "a, b or c"
    kPhrase,   // a Phrase of its own (PhraseToJson's text): a reason inside a sentence
  };
  Kind kind = Kind::kAsIs;
  std::string text;
};

// A message as its words, with %1, %2, ... where its values go: the words are a msgid of the
// web inbox's catalogs (agent/web/po, where xgettext finds them as Say("...") in validate*.cc
// and consent.cc),
// so that a form can show the message in its reader's language; English() is the message as
// the command line prints it.
struct Phrase {
  std::string words;
  std::vector<MessageArg> args;
  bool empty() const { return words.empty(); }
};
std::string English(const Phrase& p);
// The Phrase of `words` and the values of its %1, %2, ...: update.sh and the WebCatalogs test
// find the words of every call in agent/validate*.cc and consent.cc by this function's name.
Phrase Say(const char* words, std::vector<MessageArg> args = {});
// A value shown as it is in any language.
MessageArg AsIs(std::string text);
// A phrase inside another, each translated on its own.
MessageArg Nested(const Phrase& p);
// `words` with %1 ... %9 replaced by `values` (a value is not searched for placeholders again;
// a placeholder with no value stays as it is).
std::string FillPlaceholders(std::string_view words, const std::vector<std::string>& values);
// "a, b or c"; "" when there are more than 12 values, too many to list in one line.
std::string OneOf(const std::vector<std::string_view>& values);
// The values of a kValues argument.
std::vector<std::string> SplitValues(const std::string& text);
// A Phrase as JSON, {"words": ..., "args": [{"kind": "as_is", "text": ...}, ...]}, for a
// caller in another part of the agent (the web inbox reads a step's --preview --json), and back;
// PhraseFromJson gives an empty Phrase for anything else.
json::Json PhraseToJson(const Phrase& p);
Phrase PhraseFromJson(const json::Json& j);

struct FieldError {
  // Where: "person.birth_date", "context.places[0].country"; "" for the document as a whole.
  std::string path;
  // The value as written, as JSON text ("\"29/11/2569\""); "" when the field is missing.
  std::string value;
  // What is wrong, and what to write instead (English: English(phrase) when there is one).
  std::string message;
  // For a syntax error: where it is (from 1); 0 otherwise.
  int line = 0, column = 0;
  // The message to translate; empty for a syntax error (never made by a form), and for an
  // error a form makes itself, whose `message` is then the msgid.
  Phrase phrase{};
};

// The longest text a field takes, in bytes of UTF-8.
inline constexpr size_t kMaxTextBytes = 4000;

struct ValidateOptions {
  // The step the payload is for: referral_offer and repatriation_request need their sections
  // (see RequiredSections); Unknown is a case opened without a step (an import), which needs a
  // person with a name or an alias. Other kinds need no section.
  wire::Kind kind = wire::Kind::Unknown;
  // The caseworker gave --override REASON: a missing consent section is then allowed.
  bool consent_override = false;
  // Dates of the past (birth, referral, consent, places) later than this day (UTC) are
  // refused; 0 leaves them unchecked.
  int64_t now_ms = 0;
};

// The sections `kind` needs, for messages and docs/DATA.md: e.g. "person (first_name or
// alias), case.reason_for_referral, needs, consent" for referral_offer.
std::string RequiredSections(wire::Kind kind);

// Every problem of the JSON `text`; empty when it is a valid payload for `options`. A syntax
// error stops the check (one error, with its line and column).
std::vector<FieldError> ValidateCaseJson(std::string_view text, const identity::Directory& dir,
                                         const ValidateOptions& options);
// The same for a parsed value.
std::vector<FieldError> ValidateCase(const json::Json& value, const identity::Directory& dir,
                                     const ValidateOptions& options);

// The error of a JSON text that does not parse (json::Parse's `message`), placed where the
// mistake is: a missing comma or a comma too many is named at the line it belongs to.
FieldError JsonSyntaxError(std::string_view text, const std::string& message);

// For people: "SOURCE: N problem(s):" then one line per error, "  PATH = VALUE: MESSAGE".
std::string DescribeErrors(std::string_view source, const std::vector<FieldError>& errors);
// For machines (--json, web forms): [{"path":..., "value":..., "message":...}, ...].
json::Json ErrorsToJson(const std::vector<FieldError>& errors);

// The payload FlatBuffer of `text` once it validates; kInvalidArgument with DescribeErrors
// (naming `source`, e.g. the file) otherwise.
Result<Bytes> CaseFromJson(std::string_view text, std::string_view source,
                           const identity::Directory& dir, const ValidateOptions& options);

// Checks one date written by a person; "" when it is YYYY-MM-DD (or YYYY when `year_alone`),
// else what to write instead ("29/11/2569 looks like a Buddhist-era date: write 2026-11-29").
std::string CheckDate(std::string_view text, bool year_alone);
// The same as a Phrase (empty when the date is good).
Phrase CheckDatePhrase(std::string_view text, bool year_alone);

// "longer than 4000 bytes": a text over kMaxTextBytes.
Phrase TooLongPhrase();

}  // namespace nrm::agent
