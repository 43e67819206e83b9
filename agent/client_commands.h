// What nrm-agent does in its own process, without the running agent's store: the one-shot
// `send` (seal, sign, hand to the broker, print the outcome) and `receive` (wait, verify,
// decrypt, print, acknowledge), `protect-key`, and passing a person's command to the running
// agent over its control socket (CallAgent), printing the answer. Each returns the process's
// exit code: 0 done, 1 refused or failed (or nothing arrived in time), 2 bad usage or
// configuration. They print to standard output and standard error. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "agent/agent.h"
#include "common/args.h"

namespace nrm::agent {

// Prints "nrm-agent: `what`" on standard error and returns `code`.
int Fail(const std::string& what, int code);

int Send(Agent& agent, const Args& args);
int Receive(Agent& agent, const Args& args);
// --in ID.key --out ID.key.protected, under NRM_AGENT_PASSPHRASE.
int ProtectKey(const Args& args);

// Passes `words` (a person's command and its options) to the agent of `config` and prints its
// answer; says so when that agent is not running.
int CallAgent(const AgentConfig& config, std::vector<std::string> words);

}  // namespace nrm::agent
