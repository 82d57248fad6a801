// The labvault config file (TOML, written by `labvault init`): where the data directory and
// the keyring are. Secrets never live in it; it may be world-readable, the keyring may not.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "access/access.hpp"
#include "access/identity.hpp"
#include "audit/log.hpp"
#include "crypto/keyring.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::cli {

inline constexpr const char* kConfigFile = "labvault.toml";

// [audit.syslog]: streaming to a SIEM over TLS (RFC 5425); off unless `host` is set.
struct SyslogConfig {
  std::string host;
  int port = 6514;
  std::filesystem::path ca_file, cert_file, key_file;  // cert/key: optional client certificate
  std::string server_name;                             // default: host
  std::filesystem::path cursor_dir;                    // default: <data_dir>/siem
};

struct AuditConfig {
  std::uint64_t checkpoint_every = 10000;
  std::int64_t checkpoint_interval_seconds = 60;
  std::filesystem::path publish_file;  // a copy of every checkpoint, outside data_dir; optional
  SyslogConfig syslog;
};

// [mllp]: the MLLP listener of `labvault serve`.
struct MllpConfig {
  std::string host = "127.0.0.1";  // an IP literal; anything but loopback requires TLS
  int port = 2575;
  std::filesystem::path tls_cert, tls_key;  // TLS when set
  std::filesystem::path client_ca;          // mutual TLS: clients need a certificate from it
  std::size_t max_frame_bytes = 10 * 1024 * 1024;
  int idle_timeout_seconds = 300;
};

// [https]: the FHIR API and auth endpoints. No section, no listener.
struct HttpsConfig {
  bool enabled = false;
  std::string host = "127.0.0.1";  // an IP literal; anything but loopback requires TLS
  int port = 8443;
  std::filesystem::path tls_cert, tls_key;  // TLS when set
  std::string public_origin;  // what clients reach, for links; default https://host:port
  std::size_t max_body_bytes = 8u << 20;
  int read_timeout_seconds = 30, idle_timeout_seconds = 60, max_connections = 512;
  // Request handlers run here and wait for their audit record: more of them share each
  // group commit (one fsync for all), so reads scale with concurrency rather than fsyncs.
  int workers = 16;
  double rate_per_ip = 100, burst_per_ip = 200;  // requests/s and burst; 0: unlimited
  double rate_per_principal = 50, burst_per_principal = 100;
  bool access_log = true;  // one line per request on stderr; never a query or a body
};

// [[ingest.senders]]: which sending system belongs to which lab.
struct SenderConfig {
  std::string id, lab;  // lab: the lab's code
  std::string application, facility, tls_subject;
};

struct Config {
  std::filesystem::path file;      // the config itself
  std::filesystem::path data_dir;  // absolute
  std::filesystem::path keyring;   // absolute, outside data_dir
  AuditConfig audit;
  MllpConfig mllp;
  HttpsConfig https;
  std::vector<SenderConfig> senders;
  std::filesystem::path ingest_spool;  // [ingest] spool_dir: uploads removed once imported
  // [auth] token_endpoint: the SMART token URL clients put in their assertions' "aud".
  std::string token_endpoint = "https://localhost:8443/auth/token";
  // [auth] lockout_failures, lockout_minutes: consecutive failed logins that lock an account,
  // and for how long (DESIGN.md invariant 9: five; NIST SP 800-63B 5.2.2 allows up to 100).
  int lockout_failures = 5;
  int lockout_minutes = 15;
  // [access] policy_file: rules and views that replace the shipped ones of the same name;
  // unmask_minutes, break_glass_minutes, review_days.
  std::filesystem::path access_policy_file;
  int unmask_minutes = 30, break_glass_minutes = 60, review_days = 7;
};

// Reads and checks a config; errors name the file, line and key.
[[nodiscard]] model::Result<Config> load_config(const std::filesystem::path& file);
// The commented config `labvault init` writes.
[[nodiscard]] std::string render_config(const Config& config);

// What every command that touches data needs: the checked keyring, the migrated store and the
// audit log (declared last so that it closes, signing its tail, before the store goes).
struct Opened {
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<audit::Log> audit;
};
// The actor id of whoever runs a command: "cli:<uid>" (a number, not a name).
[[nodiscard]] std::string cli_actor();
[[nodiscard]] model::Result<Opened> open_data(const Config& config);
// The keyring and the store without the audit writer: for verification, which must read a
// possibly tampered log without resuming (or signing) it.
[[nodiscard]] model::Result<Opened> open_store_only(const Config& config);
[[nodiscard]] audit::LogOptions log_options(const Config& config);
[[nodiscard]] access::IdentityOptions identity_options(const Config& config);
[[nodiscard]] access::AccessOptions access_options(const Config& config);
// The shipped policy with the config's policy_file applied. The first time a command sees a
// policy (by its SHA-256), it records a config-change audit event: policy changes are audited.
[[nodiscard]] model::Result<access::Policy> load_policy(const Config& config, store::Store& store,
                                                        audit::Log& log);

}  // namespace labvault::cli
