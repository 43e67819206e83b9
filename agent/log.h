// The running agent's log: one line per event, to standard error (and so to the journal under
// systemd): connected, lost the connection, each step submitted, accepted, refused, delivered,
// each delivery received, the directory reloaded. Unlike the broker, the agent logs each step at
// the default level: it handles a caseworker's pace, and its operator needs to see each one.
// Metadata only: ids, kinds, agency ids, states and reasons; never a payload field, never a
// case's local label. Thread-safe (one write per line).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace nrm::agent {

// "2026-11-29T09:44:42.468Z nrm-agent: <what>".
inline void LogEvent(std::string_view what) {
  const std::string line =
      FormatTimeUtc(SystemClock::Get().NowMillis()) + " nrm-agent: " + std::string(what) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace nrm::agent
