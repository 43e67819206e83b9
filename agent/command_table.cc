#include "agent/command_table.h"

#include <algorithm>

#include "agent/log_commands.h"
#include "agent/case_commands.h"
#include "agent/status.h"
#include "agent/step_commands.h"
#include "agent/views.h"
#include "agent/web/users.h"

namespace nrm::agent {
namespace {

// What nrm-agent runs itself: setting up and running the agent.
const std::vector<CommandSpec>& LocalCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"protect-key",
       "--in ID.key --out ID.key.protected",
       "Seal a secret key file under NRM_AGENT_PASSPHRASE (crypto_pwhash).",
       {{"--in ID.key", "the secret key file"}, {"--out ID.key.protected", "the file to write"}},
       nullptr,
       "An agent whose key_file is protected needs the same variable to start."},
      {"run",
       "",
       "The long-running agent: owns the store and answers the commands for people.",
       {},
       nullptr,
       "It keeps the store in data_dir (outbox, inbox, cases), submits each step until every\n"
       "recipient's signed receipt arrives, stores before acknowledging, and logs each event to\n"
       "standard error. SIGHUP reloads the directory file. NRM_AGENT_PASSPHRASE, when set,\n"
       "protects the store's local key (crypto_pwhash)."},
  };
  return kCommands;
}

// Low-level tools for tests and interop, listed last: they bypass the store, the consent check
// and the workflow, so `send` refuses personal data (client_commands.cc).
const std::vector<CommandSpec>& LowLevelCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"send",
       "--to ID[,ID...] --kind KIND --file PAYLOAD.json [--case HEX32] [--handling H0]",
       "Low-level, for tests and interop: seal, sign and send one payload (one-shot).",
       {{"--to ID[,ID...]", "the recipients"},
        {"--kind KIND", "the message kind, e.g. referral_offer"},
        {"--file PAYLOAD.json", "the payload, checked against schemas/payload.fbs"},
        {"--case HEX32", "the case reference (default: a new case)"},
        kHandlingOption},
       nullptr,
       "Keeps no record and checks no consent or workflow, so it refuses personal data: the\n"
       "kinds that carry it (referral_offer, repatriation_request, travel_documents,\n"
       "counselling_notes, interview_request) and any payload holding a personal section\n"
       "(person, context, needs, investigation, repatriation, counselling). Caseworkers use\n"
       "offer, request-repatriation and the other steps. Prints the message id and case."},
      {"receive",
       "[--count N] [--timeout SECONDS] [--json]",
       "Low-level, for tests and interop: wait for messages, print and acknowledge them.",
       {{"--count N", "how many messages to wait for (default 1)"},
        {"--timeout SECONDS", "how long to wait for them (default 30)"},
        {"--json", "one JSON object a message"}},
       nullptr,
       "Keeps no record: what it acknowledges never reaches the running agent's inbox."},
  };
  return kCommands;
}

OptionNames OptionsOf(bool served) {
  OptionNames names;
  for (const CommandSpec& c : Commands()) {
    if ((c.handler != nullptr) != served) continue;
    for (const OptionHelp& o : c.options) {
      const std::string_view flag = o.flag.substr(2);  // without "--"
      const size_t space = flag.find(' ');
      if (space == std::string_view::npos) {
        names.flags.emplace(flag);
      } else {
        names.valued.emplace(flag.substr(0, space));
      }
    }
  }
  return names;
}

std::string Synopsis(const CommandSpec& c) {
  return std::string(c.name) + (c.synopsis.empty() ? "" : " ") + std::string(c.synopsis);
}

// `text`'s lines, each indented by `indent`.
std::string Indent(std::string_view text, std::string_view indent) {
  std::string out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out += std::string(indent) + std::string(text.substr(0, nl)) + "\n";
    text = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  }
  return out;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kAll = [] {
    std::vector<CommandSpec> all = LocalCommands();
    for (const auto* part : {&StatusCommands(), &LogCommands(), &ViewCommands(), &StepCommands(),
                             &CaseCommands(), &LowLevelCommands()}) {
      all.insert(all.end(), part->begin(), part->end());
    }
    all.push_back(web::UserCommand());
    return all;
  }();
  return kAll;
}

const CommandSpec* FindCommand(std::string_view name) {
  const std::vector<CommandSpec>& all = Commands();
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& c) { return c.name == name; });
  return it == all.end() ? nullptr : &*it;
}

bool IsServed(std::string_view name) {
  const CommandSpec* c = FindCommand(name);
  return c != nullptr && c->handler != nullptr;
}

OptionNames ServedOptions() { return OptionsOf(true); }

OptionNames LocalOptions() { return OptionsOf(false); }

CommandOutput RunCommand(const std::vector<std::string>& words, CommandContext ctx) {
  static const OptionNames kOptions = ServedOptions();
  Result<Args> args = Args::Parse(words, kOptions.valued, kOptions.flags);
  if (!args.ok()) return Usage(args.status().message());
  if (args->positional().empty()) return Usage("no command");
  const std::string& name = args->positional()[0];
  const CommandSpec* command = FindCommand(name);
  if (command == nullptr || command->handler == nullptr) {
    return Usage("unknown command '" + name + "'");
  }
  if (args->help()) return {0, CommandHelp(*command), ""};
  ctx.json = std::find(words.begin(), words.end(), "--json") != words.end();
  return command->handler(ctx, *args);
}

std::string Overview() {
  std::string out =
      "usage: nrm-agent --config FILE COMMAND [options]\n"
      "       nrm-agent COMMAND --help          the command's usage and options\n"
      "commands:\n";
  bool people = false, low_level = false;
  for (const CommandSpec& c : Commands()) {
    if (c.handler != nullptr && !people) {
      out += "commands for people (need `run`; --json for machine-readable output):\n";
      people = true;
    } else if (c.handler == nullptr && people && !low_level) {
      out +=
          "low-level tools for tests and interop (no record, no consent check, no personal "
          "data):\n";
      low_level = true;
    }
    out += "  " + Synopsis(c) + "\n" + Indent(c.summary, "      ") + Indent(c.details, "      ");
  }
  return out +
         "  Steps that carry personal sections need the person's consent to cover each recipient;\n"
         "  --override REASON sends anyway, marked in the envelope and audited by the broker.\n";
}

std::string CommandHelp(const CommandSpec& c) {
  std::string out = "usage: nrm-agent --config FILE " + Synopsis(c) + "\n" +
                    std::string(c.summary) + "\n" + Indent(c.details, "");
  if (c.handler != nullptr) {
    out += "Answered by the running agent (nrm-agent --config FILE run).\n";
  }
  size_t width = 10;  // "-h, --help"
  for (const OptionHelp& o : c.options) width = std::max(width, o.flag.size());
  out += "options:\n";
  auto line = [&](std::string_view flag, std::string_view text) {
    out += "  " + std::string(flag) + std::string(width - flag.size() + 2, ' ') +
           std::string(text) + "\n";
  };
  for (const OptionHelp& o : c.options) line(o.flag, o.text);
  line("-h, --help", "this help");
  return out;
}

std::string HelpFor(const std::vector<std::string>& words) {
  // The command is the first word that is neither an option nor an option's value.
  OptionNames served = ServedOptions(), local = LocalOptions();
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.starts_with("--")) {
      const std::string name = w.substr(2);
      if (name == "config" || served.valued.count(name) || local.valued.count(name)) ++i;
      continue;
    }
    if (w.starts_with("-")) continue;
    const CommandSpec* c = FindCommand(w);
    return c ? CommandHelp(*c) : Overview();
  }
  return Overview();
}

}  // namespace nrm::agent
