// Every command of nrm-agent in one table: the ones nrm-agent runs itself (send, receive,
// protect-key, run) and the ones it passes to the running agent (inbox, offer, accept, ...;
// agent/views.h and agent/step_commands.h). The table gives each command's usage, which
// `nrm-agent COMMAND --help` prints without needing a configuration or a running agent, the
// overview `nrm-agent --help` prints, the options each side parses, and the daemon's handler
// of each command it serves. Thread-safe (immutable).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/command.h"

namespace nrm::agent {

// Every command, in the order the overview lists them.
const std::vector<CommandSpec>& Commands();

// The command called `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);

// True for a command the running agent serves (passed over the control socket).
bool IsServed(std::string_view name);

// The names of the valued options and of the flags that the commands of one side take,
// without the dashes: what that side's Args::Parse accepts.
struct OptionNames {
  std::set<std::string> valued, flags;
};
OptionNames ServedOptions();
OptionNames LocalOptions();

// Runs the served command in `words` (its name and options) with `ctx`, as the running agent
// does for a command that came over the control socket (ctx.json is set from --json); bad usage
// is answered with code 2.
CommandOutput RunCommand(const std::vector<std::string>& words, CommandContext ctx);

// `nrm-agent --help`: every command with its synopsis and what it does.
std::string Overview();

// `nrm-agent COMMAND --help`: its synopsis, what it does and its options.
std::string CommandHelp(const CommandSpec& command);

// What a command line that asks for help (nrm::WantsHelp) gets: the help of the command it
// names, or the overview when it names none.
std::string HelpFor(const std::vector<std::string>& words);

}  // namespace nrm::agent
