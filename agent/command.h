// What every command of a person (inbox, show, offer, accept, ...) shares. `nrm-agent` passes
// the words of such a command to the running agent over the control socket (ControlPath); the
// daemon parses them, finds the command in the table (agent/command_table.h) and calls its
// handler with a CommandContext, and answers with an exit code, standard output and standard
// error (CommandOutput). A handler resolves what people type (a message by a prefix of its id,
// a case by a prefix of its reference or its label), and prints text for people or, with
// --json, one JSON document on one line.
//
// Thread-compatible: the daemon's one thread runs the handlers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "common/args.h"
#include "common/json/json.h"

namespace nrm::agent {

// <data_dir>/control: where the daemon listens.
std::string ControlPath(const AgentConfig& config);

// What a command produced.
struct CommandOutput {
  int code = 0;  // 0 done, 1 refused or failed, 2 bad usage
  std::string out, err;
};

inline CommandOutput Usage(const std::string& what) { return {2, "", what + "\n"}; }
inline CommandOutput Refused(const Status& s) { return {1, "", s.message() + "\n"}; }

class BrokerLink;  // agent/connection.h

// What a handler works with.
struct CommandContext {
  Agent& agent;
  AgentStore& store;
  Outbox& outbox;
  bool json;                         // --json: machine-readable output
  const BrokerLink* link = nullptr;  // the broker link, for `status` (null outside the daemon)
  // Given by a caller in the agent's own process (the web inbox, agent/web/) rather than in
  // words: the step's case data as JSON, taken where --file would be read and checked the same
  // way (agent/validate.h; empty: none), and the person who takes the step, recorded in the
  // case's timeline.
  std::string_view payload = {};
  std::string by = {};
  // Sends `request` to the broker and waits up to `timeout_ms` (serving the broker's other
  // traffic meanwhile) for its answer: the frames whose verb is `verb` and whose second frame
  // is `key`. Null outside the daemon's own commands (and in the web inbox).
  std::function<Result<transport::Frames>(const transport::Frames& request, std::string_view verb,
                                          ByteView key, int timeout_ms)>
      ask = {};
};

using CommandHandler = CommandOutput (*)(const CommandContext& ctx, const Args& args);

// One option in a command's usage: "--to AGENCY" (a valued option) or "--json" (a flag).
struct OptionHelp {
  std::string_view flag;
  std::string_view text;
};

// One command of nrm-agent: its usage, and for the commands the running agent serves, its
// handler.
struct CommandSpec {
  std::string_view name;
  std::string_view synopsis;  // the words after the name
  std::string_view summary;   // what it does, one line
  std::vector<OptionHelp> options;
  CommandHandler handler;      // nullptr: nrm-agent runs it itself, without the running agent
  std::string_view details{};  // more lines about it, if any
};

// Options many commands share.
inline constexpr OptionHelp kJsonOption{"--json", "machine-readable output (JSON, one line)"};
inline constexpr OptionHelp kOverrideOption{
    "--override REASON", "send even where the person's consent does not cover a recipient"};
inline constexpr OptionHelp kHandlingOption{"--handling H", "the handling level (default H0)"};

// `value` on one line, as --json prints it.
std::string JsonLine(const json::Json& value);
// The same with one more member, `key`, whose value is the JSON text `raw` as it is (the
// payload as the schema's printer wrote it). REQUIRES: `value` is an object.
std::string JsonLine(const json::Json& value, std::string_view key, std::string_view raw);

// A message by its id or a unique prefix of at least 6 hex digits.
Result<MessageRecord> FindMessage(AgentStore& store, const std::string& id);
// A case by its reference, a unique prefix of it (6+ hex digits), or its local label.
Result<CaseRecord> FindCase(AgentStore& store, const std::string& key);
// "label (short ref)" or "short ref", for people.
std::string CaseName(AgentStore& store, const std::string& ref);
// The case's local label, or "".
std::string CaseLabel(AgentStore& store, const std::string& ref);

}  // namespace nrm::agent
