// What a national broker knows of its federation (docs/PROTOCOL.md section 12): its country, its
// partner countries (each with the anchor its operator installed after comparing the
// fingerprint, the partner's signed directory and the agreements both authorities signed), and
// the link state of each partner. Private to the broker.
//
// A Federation is an immutable snapshot, loaded from the config at start and again on SIGHUP;
// the routing thread and the ZAP thread share it through a shared_ptr. Links are the routing
// thread's alone.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/note.h"
#include "broker/config.h"
#include "common/identity/identity.h"
#include "common/status.h"
#include "common/transport/transport.h"
#include "federation/agreement_book.h"
#include "federation/anchor.h"
#include "schemas/wire/envelope.h"

namespace nrm::broker {

// The [[partner]] tables of a broker config (paths resolved against `base`); kInvalidArgument
// naming the file and line.
Result<std::vector<PartnerConfig>> ParsePartners(const toml::table& root, const std::string& path,
                                                 const std::string& base);

// The queue, and the connection name, of a partner country's broker: "@KH". Never an agency id
// (those start with two letters and a dot).
std::string PartnerName(const std::string& country);

// Where a broker keeps the newest directory of a partner country that its link received:
// data_dir/partners/CC.directory.toml (the config's directory may be on a read-only /etc).
std::string PartnerDirectoryCopy(const std::string& data_dir, const std::string& country);

// The partner broker's audit log verifier key (C2SP signed-note, type 0x01), which its relay
// receipts' checkpoints are signed with: the key `directory` publishes for its broker (its
// log_vkey, else the default origin of its id), which must be the broker of `anchor` (same id,
// same signing key). kPermissionDenied naming the directory when its broker is another one;
// kInvalidArgument when its log_vkey does not hold the broker's signing key.
Result<audit::note::VerifierKey> PartnerLogKey(const federation::Anchor& anchor,
                                               const identity::Directory& directory,
                                               const std::string& path);

struct Partner {
  federation::Anchor anchor;
  std::shared_ptr<const identity::Directory> directory;
  audit::note::VerifierKey log_key;  // PartnerLogKey(anchor, *directory)
  std::string directory_path;        // where the broker keeps it (replaced when a newer one comes)
  std::string endpoint;
};

class Federation {
 public:
  // Loads every partner's anchor, directory and agreements. `country` and `authority_key` are
  // the broker's own. A partner's directory is the newer of the configured file and the copy a
  // link last received (PartnerDirectoryCopy under `data_dir`). kInvalidArgument /
  // kUnauthenticated / kPermissionDenied naming the file that is wrong (a partner's directory
  // is verified with its anchor's authority key and must not be older than the anchor's
  // directory_serial).
  static Result<std::shared_ptr<const Federation>> Load(const std::string& country,
                                                        ByteView authority_key,
                                                        const std::vector<PartnerConfig>& partners,
                                                        const std::string& data_dir,
                                                        int64_t now_ms);

  const std::string& country() const { return country_; }
  const std::map<std::string, Partner>& partners() const { return partners_; }
  const Partner* FindPartner(std::string_view country) const;
  const federation::AgreementBook& book() const { return book_; }

  // An agency of a partner country (from that partner's directory), or null.
  const identity::Agency* FindForeign(std::string_view id) const;

  // The agreement that lets `from` send `kind` with `handling` to `to` at `now_ms`: its name,
  // or kPermissionDenied whose reason names the agreement and what is wrong.
  Result<std::string> CheckRoute(const identity::Agency& from, const identity::Agency& to,
                                 wire::Kind kind, wire::Handling handling, int64_t now_ms) const;

  // For the ZAP handler: PartnerName(country) when `curve_key` is the broker key of a partner's
  // anchor and an agreement with that country is signed by both and in force at `now_ms`.
  std::optional<std::string> AuthorizePartner(ByteView curve_key, int64_t now_ms) const;

  // A copy with the partner's directory replaced (a newer one received over the link) and the
  // log key it publishes (PartnerLogKey).
  std::shared_ptr<const Federation> WithDirectory(const std::string& country,
                                                  identity::Directory directory,
                                                  audit::note::VerifierKey log_key,
                                                  const std::string& path) const;

 private:
  std::string country_;
  std::map<std::string, Partner> partners_;  // by country
  federation::AgreementBook book_;
};

// The routing thread's link to one partner broker: a CURVE DEALER to the partner's endpoint, on
// which this broker sends what is queued for the partner (RELAY, RELAY-EXPIRED) in queue order,
// and reads the partner's answers (RELAYED with its receipt, RELAY-REFUSED, NOTED).
struct Link {
  std::string country;  // "KH"
  std::string name;     // "@KH": its queue in the store
  std::unique_ptr<transport::Client> client;
  std::string endpoint;                 // what `client` connects to
  Bytes server_key;                     // and the partner key it expects
  std::map<Bytes, uint64_t> in_flight;  // sent, no answer yet: message id -> queue seq
  uint64_t last_sent = 0;               // the highest queue seq sent on this connection
  int64_t last_progress_ms = 0;         // the last answer, or the first send after none
  int64_t retry_at_ms = 0;              // after a failed send: wait until then
  bool connected = false;               // the last send went out, or an answer came
  uint64_t connections_lost = 0;        // client->ConnectionsLost() when the link last looked
  // For `nrm federation status` and the metrics.
  uint64_t relays_sent = 0;        // RELAY frames sent since the start (repeats included)
  uint64_t relayed = 0;            // receipts accepted since the start
  int64_t last_receipt_ms = 0;     // when the last one came
  uint64_t last_receipt_leaf = 0;  // its leaf in the partner's audit log
  uint64_t last_receipt_size = 0;  // and its tree size
  std::string last_error;          // the last thing that went wrong, for people
  int64_t last_error_logged_ms = 0;
  int64_t directory_asked_ms = 0;  // when the partner was last asked for a newer directory
  // The partner's checkpoint note last verified in a relay receipt, as verified under the
  // partner's log key in force (forgotten when the partners are loaded again). The receipts of
  // one of the partner's group commits all carry the same note: it is verified once.
  std::string verified_note;
  std::optional<audit::VerifiedCheckpoint> verified_head;
};

// How often a link asks its partner for a newer directory: a revocation by a partner's
// authority reaches this broker within about this long after the partner's broker has it.
inline constexpr int64_t kDirectoryPollMs = 1000;
// How often the broker writes data_dir/federation.json for `nrm federation status`.
inline constexpr int64_t kStatusEveryMs = 1000;
inline constexpr const char* kStatusFile = "federation.json";

}  // namespace nrm::broker
