// The running agent's connection to its broker (BrokerLink): connects, greets every second, and
// knows whether the broker answers. The socket queues nothing while the broker is away
// (ZMQ_IMMEDIATE): a step is submitted only while the link is live, so after an outage of any
// length the broker receives each waiting step once. ZeroMQ connects and reconnects by itself;
// the link is live while a WELCOME came within the last kLivenessMs.
// Each change is logged (agent/log.h), and `status` reads the link's state.
//
// Thread-compatible: the daemon's one thread uses it.
#pragma once

#include <cstdint>
#include <string>

#include "agent/agent.h"

namespace nrm::agent {

class BrokerLink {
 public:
  // Greetings are this far apart, and the link is lost after this long without a WELCOME.
  static constexpr int64_t kGreetEveryMs = 1000;
  static constexpr int64_t kLivenessMs = 5000;
  // The first connection waits this long for the handshake, so that a refused key or an
  // endpoint where nothing answers is reported at once; then the socket keeps connecting in the
  // background (a slow provincial link still gets through), and the first WELCOME says it is up.
  static constexpr int kHandshakeMs = 500;
  // Not connected this long after the start, the log says so; then again this often.
  static constexpr int64_t kFirstReportMs = 3000;
  // While not connected, the log says so again this often.
  static constexpr int64_t kRemindEveryMs = 5 * 60 * 1000;

  // `agent` must outlive the link.
  BrokerLink(Agent& agent, const Clock& clock);

  // Connects when there is no socket, greets every kGreetEveryMs, and declares the link lost
  // when no WELCOME came for kLivenessMs. Call it often.
  void Tick();
  // A WELCOME arrived (frames: WELCOME, broker id, be64 directory serial). True when the broker
  // names a newer directory than the agent's: the caller then asks for it (DIRECTORY).
  bool OnWelcome(const transport::Frames& frames);
  // Drops the socket and connects again at the next Tick (a new broker key).
  void Reset();

  // True while the broker answers.
  bool live() const { return live_; }
  // Counts the times the link became live: what was in flight before the last change is lost.
  uint64_t generation() const { return generation_; }

  // For `status`.
  bool ever_connected() const { return ever_connected_; }
  int64_t started_ms() const { return started_ms_; }
  // Since when the link is live (when live) or down (when not; the start if never connected).
  int64_t since_ms() const { return since_ms_; }
  const std::string& broker_id() const { return broker_id_; }
  int64_t broker_serial() const { return broker_serial_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void Down(const std::string& why);

  Agent& agent_;
  const Clock& clock_;
  int64_t started_ms_ = 0;
  int64_t since_ms_ = 0;
  bool live_ = false;
  bool ever_connected_ = false;
  uint64_t generation_ = 0;

  int64_t next_greet_ms_ = 0;
  int64_t last_welcome_ms_ = 0;
  int64_t next_remind_ms_ = 0;
  std::string broker_id_;
  int64_t broker_serial_ = 0;
  std::string last_error_;
};

}  // namespace nrm::agent
