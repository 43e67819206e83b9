#include "agent/connection.h"

#include "agent/log.h"

namespace nrm::agent {
namespace {

using transport::FrameText;

std::string Ago(int64_t ms) {
  if (ms < 120 * 1000) return std::to_string(ms / 1000) + " s";
  if (ms < 120 * 60 * 1000) return std::to_string(ms / 60000) + " min";
  return std::to_string(ms / 3600000) + " h";
}

}  // namespace

BrokerLink::BrokerLink(Agent& agent, const Clock& clock)
    : agent_(agent),
      clock_(clock),
      started_ms_(clock.NowMillis()),
      since_ms_(started_ms_),
      next_remind_ms_(started_ms_ + kFirstReportMs) {
  agent_.set_send_timeout_ms(0);  // the daemon's loop never waits for a connection
}

void BrokerLink::Tick() {
  const int64_t now = clock_.NowMillis();
  if (!agent_.connected()) {
    Status s = agent_.Connect(kHandshakeMs);
    if (!s.ok()) {
      last_error_ = s.message();
      // Nothing answered (or it refused this key): keep connecting in the background.
      (void)agent_.Connect(0);
    }
    next_greet_ms_ = now;
    last_welcome_ms_ = now;
  }
  if (now >= next_greet_ms_) {
    (void)agent_.Greet();  // fails at once while there is no connection (nothing is queued)
    next_greet_ms_ = now + kGreetEveryMs;
  }
  if (live_ && now - last_welcome_ms_ > kLivenessMs) {
    Down("no answer for " + Ago(now - last_welcome_ms_));
  } else if (!live_ && now >= next_remind_ms_) {
    // Said at once the first time, then every kRemindEveryMs while it lasts.
    next_remind_ms_ = now + kRemindEveryMs;
    LogEvent("not connected to the broker at " + agent_.endpoint() + ": " +
             (ever_connected_
                  ? "disconnected for " + Ago(now - since_ms_)
                  : "never connected since the agent started " + Ago(now - started_ms_) + " ago") +
             (last_error_.empty() ? "" : " (" + last_error_ + ")") +
             "; steps wait in the outbox, and the agent keeps trying");
  }
}

bool BrokerLink::OnWelcome(const transport::Frames& frames) {
  const int64_t now = clock_.NowMillis();
  last_welcome_ms_ = now;
  if (frames.size() >= 2) broker_id_ = FrameText(frames[1]);
  if (frames.size() >= 3 && frames[2].size() == 8) {
    uint64_t serial = 0;
    for (uint8_t b : frames[2]) serial = serial << 8 | b;
    broker_serial_ = static_cast<int64_t>(serial);
  }
  if (!live_) {
    LogEvent(std::string(ever_connected_ ? "connected again" : "connected") + " to the broker " +
             broker_id_ + " at " + agent_.endpoint() +
             (ever_connected_ ? " after " + Ago(now - since_ms_) + " away" : "") +
             " (its directory serial " + std::to_string(broker_serial_) + ", ours " +
             std::to_string(agent_.directory().serial()) + ")");
    live_ = true;
    ever_connected_ = true;
    ++generation_;
    since_ms_ = now;
    last_error_.clear();
  }
  return broker_serial_ > agent_.directory().serial();
}

void BrokerLink::Reset() {
  agent_.Disconnect();
  if (live_) Down("reconnecting");
}

void BrokerLink::Down(const std::string& why) {
  const int64_t now = clock_.NowMillis();
  LogEvent("lost the connection to the broker at " + agent_.endpoint() + " (" + why +
           "); steps wait in the outbox until it is back");
  live_ = false;
  since_ms_ = now;
  next_remind_ms_ = now + kRemindEveryMs;
}

}  // namespace nrm::agent
