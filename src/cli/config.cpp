#include "cli/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <tuple>

#include "cli/formats.hpp"
#include "crypto/secret.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace labvault::cli {

using model::ErrorCode;
namespace fs = std::filesystem;

namespace {

using PathOf = std::function<fs::path(std::string_view section, std::string_view key)>;

model::Result<void> read_https(const toml::table& table, const fs::path& file,
                               const PathOf& optional_path, HttpsConfig& h) {
  const toml::node_view section = table["https"];
  if (!section) return {};
  auto bad = [&](std::string_view key, std::string_view what) {
    return model::fail(ErrorCode::kConfig, fmt::format("[https] {}: {}", key, what),
                       {.file = file.string()});
  };
  h.enabled = true;
  h.host = section["host"].value_or(h.host);
  h.port = static_cast<int>(section["port"].value_or(std::int64_t{h.port}));
  if (h.port < 0 || h.port > 65535) return bad("port", "not a TCP port");
  h.tls_cert = optional_path("https", "tls_cert");
  h.tls_key = optional_path("https", "tls_key");
  if (h.tls_cert.empty() != h.tls_key.empty())
    return bad("tls_cert", "tls_cert and tls_key go together");
  h.public_origin = section["public_origin"].value_or(std::string());
  if (!h.public_origin.empty() && !h.public_origin.starts_with("https://") &&
      !h.public_origin.starts_with("http://"))
    return bad("public_origin", "must start with https:// (or http:// for loopback)");
  while (h.public_origin.ends_with('/')) h.public_origin.pop_back();
  if (auto n = section["max_body_bytes"].value<std::int64_t>()) {
    if (*n < 1024) return bad("max_body_bytes", "must be at least 1024");
    h.max_body_bytes = static_cast<std::size_t>(*n);
  }
  for (auto [key, target] :
       {std::pair{"read_timeout_seconds", &h.read_timeout_seconds},
        std::pair{"idle_timeout_seconds", &h.idle_timeout_seconds},
        std::pair{"max_connections", &h.max_connections}, std::pair{"workers", &h.workers}}) {
    if (auto n = section[key].value<std::int64_t>()) {
      if (*n < 1 || *n > 100000) return bad(key, "must be 1 to 100000");
      *target = static_cast<int>(*n);
    }
  }
  for (auto [key, target] :
       {std::pair{"rate_per_ip", &h.rate_per_ip}, std::pair{"burst_per_ip", &h.burst_per_ip},
        std::pair{"rate_per_principal", &h.rate_per_principal},
        std::pair{"burst_per_principal", &h.burst_per_principal}}) {
    if (auto n = section[key].value<double>()) {
      if (*n < 0) return bad(key, "must not be negative");
      *target = *n;
    }
  }
  for (auto [key, rate, burst] :
       {std::tuple{"burst_per_ip", h.rate_per_ip, h.burst_per_ip},
        std::tuple{"burst_per_principal", h.rate_per_principal, h.burst_per_principal}})
    if (rate > 0 && burst < 1) return bad(key, "must be at least 1 when the rate is limited");
  h.access_log = section["access_log"].value_or(h.access_log);
  return {};
}

}  // namespace

model::Result<Config> load_config(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return std::unexpected(text.error());
  toml::table table;
  try {
    table = toml::parse(*text, file.string());
  } catch (const toml::parse_error& e) {
    return model::fail(ErrorCode::kConfig, fmt::format("not valid TOML: {}", e.description()),
                       {.file = file.string(), .line = static_cast<int>(e.source().begin.line)});
  }
  // Relative paths are relative to the config file, so a data directory can be moved whole.
  fs::path base = fs::absolute(file).parent_path();
  auto path_of = [&](std::string_view section, std::string_view key) -> model::Result<fs::path> {
    auto node = table[section][key];
    auto value = node.value<std::string>();
    if (!value || value->empty()) {
      return model::fail(ErrorCode::kConfig,
                         fmt::format("[{}] {} is missing (a path)", section, key),
                         {.file = file.string()});
    }
    fs::path p(*value);
    return (p.is_absolute() ? p : base / p).lexically_normal();
  };
  auto backend = table["store"]["backend"].value_or(std::string("sqlite"));
  if (backend != "sqlite") {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("[store] backend '{}' is not supported (sqlite)", backend),
                       {.file = file.string()});
  }
  auto data = path_of("store", "data_dir");
  if (!data) return std::unexpected(data.error());
  auto keyring = path_of("keys", "keyring");
  if (!keyring) return std::unexpected(keyring.error());
  Config config{file, *data, *keyring, {}};
  auto bad = [&](std::string_view key, std::string_view what) {
    return model::fail(ErrorCode::kConfig, fmt::format("[audit] {}: {}", key, what),
                       {.file = file.string()});
  };
  AuditConfig& a = config.audit;
  if (auto n = table["audit"]["checkpoint_every"].value<std::int64_t>()) {
    if (*n < 1) return bad("checkpoint_every", "must be at least 1");
    a.checkpoint_every = static_cast<std::uint64_t>(*n);
  }
  if (auto n = table["audit"]["checkpoint_interval_seconds"].value<std::int64_t>()) {
    if (*n < 1) return bad("checkpoint_interval_seconds", "must be at least 1");
    a.checkpoint_interval_seconds = *n;
  }
  auto optional_path = [&](std::string_view section, std::string_view key) -> fs::path {
    auto value = table.at_path(section)[key].value<std::string>();
    if (!value || value->empty()) return {};
    fs::path p(*value);
    return (p.is_absolute() ? p : base / p).lexically_normal();
  };
  a.publish_file = optional_path("audit", "publish_file");
  SyslogConfig& sys = a.syslog;
  sys.host = table["audit"]["syslog"]["host"].value_or(std::string());
  sys.port = static_cast<int>(table["audit"]["syslog"]["port"].value_or(std::int64_t{6514}));
  if (sys.port < 1 || sys.port > 65535) return bad("syslog.port", "not a TCP port");
  sys.ca_file = optional_path("audit.syslog", "ca_file");
  sys.cert_file = optional_path("audit.syslog", "cert_file");
  sys.key_file = optional_path("audit.syslog", "key_file");
  sys.server_name = table["audit"]["syslog"]["server_name"].value_or(sys.host);
  sys.cursor_dir = optional_path("audit.syslog", "cursor_dir");
  if (sys.cursor_dir.empty()) sys.cursor_dir = *data / "siem";
  if (!sys.host.empty() && sys.ca_file.empty()) {
    return bad("syslog.ca_file", "required with syslog.host (the collector's CA; TLS only)");
  }
  MllpConfig& m = config.mllp;
  auto mllp_bad = [&](std::string_view key, std::string_view what) {
    return model::fail(ErrorCode::kConfig, fmt::format("[mllp] {}: {}", key, what),
                       {.file = file.string()});
  };
  m.host = table["mllp"]["host"].value_or(m.host);
  m.port = static_cast<int>(table["mllp"]["port"].value_or(std::int64_t{m.port}));
  if (m.port < 0 || m.port > 65535) return mllp_bad("port", "not a TCP port");
  m.tls_cert = optional_path("mllp", "tls_cert");
  m.tls_key = optional_path("mllp", "tls_key");
  m.client_ca = optional_path("mllp", "client_ca");
  if (m.tls_cert.empty() != m.tls_key.empty()) {
    return mllp_bad("tls_cert", "tls_cert and tls_key go together");
  }
  if (auto n = table["mllp"]["max_frame_bytes"].value<std::int64_t>()) {
    if (*n < 1024) return mllp_bad("max_frame_bytes", "must be at least 1024");
    m.max_frame_bytes = static_cast<std::size_t>(*n);
  }
  if (auto n = table["mllp"]["idle_timeout_seconds"].value<std::int64_t>()) {
    if (*n < 1) return mllp_bad("idle_timeout_seconds", "must be at least 1");
    m.idle_timeout_seconds = static_cast<int>(*n);
  }
  if (auto r = read_https(table, file, PathOf(optional_path), config.https); !r)
    return std::unexpected(r.error());
  config.ingest_spool = optional_path("ingest", "spool_dir");
  config.token_endpoint = table["auth"]["token_endpoint"].value_or(config.token_endpoint);
  auto auth_bad = [&](std::string_view key, std::string_view what) {
    return model::fail(ErrorCode::kConfig, fmt::format("[auth] {}: {}", key, what),
                       {.file = file.string()});
  };
  if (auto n = table["auth"]["lockout_failures"].value<std::int64_t>()) {
    if (*n < 1 || *n > 5) return auth_bad("lockout_failures", "must be 1 to 5");
    config.lockout_failures = static_cast<int>(*n);
  }
  config.access_policy_file = optional_path("access", "policy_file");
  for (auto [key, target, max] :
       {std::tuple{"unmask_minutes", &config.unmask_minutes, 24 * 60},
        std::tuple{"break_glass_minutes", &config.break_glass_minutes, 24 * 60},
        std::tuple{"review_days", &config.review_days, 365}}) {
    if (auto n = table["access"][key].value<std::int64_t>()) {
      if (*n < 1 || *n > max) {
        return model::fail(ErrorCode::kConfig,
                           fmt::format("[access] {}: must be 1 to {}", key, max),
                           {.file = file.string()});
      }
      *target = static_cast<int>(*n);
    }
  }
  if (auto n = table["auth"]["lockout_minutes"].value<std::int64_t>()) {
    if (*n < 1 || *n > 24 * 60) return auth_bad("lockout_minutes", "must be 1 to 1440");
    config.lockout_minutes = static_cast<int>(*n);
  }
  if (const toml::array* senders = table["ingest"]["senders"].as_array()) {
    int n = 0;
    for (const toml::node& node : *senders) {
      ++n;
      const toml::table* t = node.as_table();
      SenderConfig sc;
      if (t) {
        sc.id = (*t)["id"].value_or(std::string());
        sc.lab = (*t)["lab"].value_or(std::string());
        sc.application = (*t)["application"].value_or(std::string());
        sc.facility = (*t)["facility"].value_or(std::string());
        sc.tls_subject = (*t)["tls_subject"].value_or(std::string());
      }
      if (!t || sc.id.empty() || sc.lab.empty() ||
          (sc.application.empty() && sc.tls_subject.empty())) {
        return model::fail(
            ErrorCode::kConfig,
            fmt::format("[[ingest.senders]] number {} needs id, lab and application "
                        "(and usually facility), or id, lab and tls_subject",
                        n),
            {.file = file.string(), .line = t ? static_cast<int>(t->source().begin.line) : 0});
      }
      config.senders.push_back(std::move(sc));
    }
  }
  return config;
}

namespace {
// A TOML basic string: quotes, backslashes and control characters escaped (TOML 1.0 2.4).
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}
}  // namespace

std::string render_senders(const std::vector<SenderConfig>& senders) {
  if (senders.empty()) {
    return "# [[ingest.senders]]\n# id = \"analyzer-1\"\n# lab = \"LAB1\"\n"
           "# application = \"ANALYZER\"\n# facility = \"LAB1\"\n"
           "# tls_subject = \"analyzer-1.lab1.example.org\"\n";
  }
  std::string out;
  for (const SenderConfig& s : senders) {
    out += fmt::format("[[ingest.senders]]\nid = {}\nlab = {}\napplication = {}\nfacility = {}\n",
                       toml_string(s.id), toml_string(s.lab), toml_string(s.application),
                       toml_string(s.facility));
    if (!s.tls_subject.empty())
      out += fmt::format("tls_subject = {}\n", toml_string(s.tls_subject));
  }
  return out;
}

std::string render_config(const Config& c) {
  return fmt::format(
      "# labvault configuration, written by `labvault init`. Relative paths are relative to this\n"
      "# file. No secrets belong here: keys live only in the keyring file.\n"
      "\n"
      "[store]\n"
      "backend = \"sqlite\"            # embedded SQLite (WAL, synchronous=FULL)\n"
      "data_dir = {}\n"
      "\n"
      "[keys]\n"
      "# Key-encryption keys, the blind-index key and the audit signing key. Mode 0600, owned by\n"
      "# the user running labvault, outside data_dir; labvault refuses anything else. Back it up\n"
      "# apart from the data: without it nothing can be read.\n"
      "keyring = {}\n"
      "\n"
      "[audit]\n"
      "# A signed checkpoint (tree size, root hash) every N records, every T seconds while\n"
      "# writing, and at shutdown; each is also appended to publish_file, a copy outside the\n"
      "# database that `labvault audit verify` compares (put it on another volume if you can).\n"
      "checkpoint_every = {}\n"
      "checkpoint_interval_seconds = {}\n"
      "publish_file = {}\n"
      "\n"
      "# [audit.syslog]               # stream every record to a SIEM, RFC 5424 over TLS (RFC "
      "5425)\n"
      "# host = \"siem.example.org\"\n"
      "# port = 6514\n"
      "# ca_file = \"siem-ca.pem\"     # the collector's CA (required)\n"
      "# cert_file = \"client.pem\"    # optional client certificate and key\n"
      "# key_file = \"client.key\"\n"
      "\n"
      "[mllp]\n"
      "# The HL7 v2 listener of `labvault serve`. Loopback may be plaintext; any other address\n"
      "# needs tls_cert and tls_key (TLS 1.2+), and client_ca makes clients present a "
      "certificate.\n"
      "host = \"127.0.0.1\"\n"
      "port = 2575\n"
      "# tls_cert = \"server.pem\"\n"
      "# tls_key = \"server.key\"\n"
      "# client_ca = \"analyzers-ca.pem\"\n"
      "max_frame_bytes = 10485760\n"
      "idle_timeout_seconds = 300\n"
      "\n"
      "[https]\n"
      "# The FHIR R4 API (/fhir/<LAB>), login (/auth/...), SMART token endpoint, /healthz and\n"
      "# /metrics. Loopback may be plaintext (no tls_cert); any other address needs TLS 1.2+.\n"
      "host = \"127.0.0.1\"\n"
      "port = 8443\n"
      "{}"
      "# public_origin = \"https://labvault.example.org:8443\"  # for links; default "
      "https://host:port\n"
      "# max_body_bytes = 8388608\n"
      "# read_timeout_seconds = 30\n"
      "# idle_timeout_seconds = 60\n"
      "# max_connections = 512\n"
      "# workers = 16              # request threads; they share each audit group commit\n"
      "# rate_per_ip = 100          # requests per second (token bucket), then 429 + Retry-After\n"
      "# burst_per_ip = 200\n"
      "# rate_per_principal = 50   # per logged-in person or SMART client\n"
      "# burst_per_principal = 100\n"
      "# access_log = true         # method, route, status, time, request id; never a query\n"
      "\n"
      "# [ingest]\n"
      "# spool_dir = \"/srv/labvault/upload\"  # files imported from here are then removed\n"
      "\n"
      "# [auth]\n"
      "# token_endpoint = \"https://labvault.example.org:8443/auth/token\"  # SMART assertions' "
      "aud\n"
      "# lockout_failures = 5   # consecutive failed logins that lock an account (at most 5)\n"
      "# lockout_minutes = 15\n"
      "\n"
      "# Sending systems and their labs, matched on MSH-3 and MSH-4 (and the client certificate's\n"
      "# CN when tls_subject is set), or on tls_subject alone (no application) for a system that\n"
      "# relays many facilities. Messages from anyone else are refused (AR) and audited.\n"
      "{}"
      "\n"
      "# [sensitivity]                # extra codes per sensitive category (see README)\n"
      "# hiv = [\"L|1320\"]\n",
      toml_string(c.data_dir.string()), toml_string(c.keyring.string()), c.audit.checkpoint_every,
      c.audit.checkpoint_interval_seconds, toml_string(c.audit.publish_file.string()),
      c.https.tls_cert.empty()
          ? std::string("# tls_cert = \"tls/server.crt\"\n# tls_key = \"tls/server.key\"\n")
          : fmt::format("tls_cert = {}\ntls_key = {}\n", toml_string(c.https.tls_cert.string()),
                        toml_string(c.https.tls_key.string())),
      render_senders(c.senders));
}

std::string cli_actor() { return fmt::format("cli:{}", ::getuid()); }

namespace {
std::string node_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}
}  // namespace

model::Result<Opened> open_store_only(const Config& config) {
  if (auto r = crypto::Keyring::check_outside(config.keyring, config.data_dir); !r) {
    return std::unexpected(r.error());
  }
  auto keyring = crypto::Keyring::load(config.keyring);
  if (!keyring) return std::unexpected(keyring.error());
  std::error_code ec;
  if (!fs::is_directory(config.data_dir, ec)) {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("data directory {} does not exist (run labvault init)",
                                   config.data_dir.string()));
  }
  Opened opened;
  opened.keyring = std::make_unique<crypto::Keyring>(std::move(*keyring));
  auto store = store::sqlite::open(config.data_dir / store::sqlite::kDatabaseFile, *opened.keyring);
  if (!store) return std::unexpected(store.error());
  opened.store = std::move(*store);
  return opened;
}

access::AccessOptions access_options(const Config& config) {
  access::AccessOptions o;
  o.unmask_for = std::chrono::minutes(config.unmask_minutes);
  o.break_glass_for = std::chrono::minutes(config.break_glass_minutes);
  o.review_within_days = config.review_days;
  return o;
}

model::Result<access::Policy> load_policy(const Config& config, store::Store& store,
                                          audit::Log& log) {
  std::string text;
  model::Result<access::Policy> policy = access::Policy::defaults();
  if (!config.access_policy_file.empty()) {
    std::ifstream in(config.access_policy_file);
    if (!in) {
      return model::fail(ErrorCode::kConfig, "cannot read the access policy file",
                         {.file = config.access_policy_file.string()});
    }
    text.assign(std::istreambuf_iterator<char>(in), {});
    policy = access::Policy::with_overrides(text, config.access_policy_file.string());
    if (!policy) return policy;
  }
  // The record names the policy by digest; a new digest is a policy change on record.
  std::string digest = crypto::sha256(text);
  std::string code;
  for (unsigned char c : digest.substr(0, 8)) code += fmt::format("{:02x}", c);
  const std::string detail = (text.empty() ? "policy-defaults-" : "policy-file-") + code;
  store::AuditQuery q;
  q.action = "config-change";
  q.limit = 100000;
  auto seen = store.query_audit(q);
  if (!seen) return std::unexpected(seen.error());
  std::string last;
  for (const store::AuditRow& row : *seen) {
    auto at = row.entry.find("\"policy-");
    if (at != std::string::npos)
      last = row.entry.substr(at + 1, row.entry.find('"', at + 1) - at - 1);
  }
  if (last != detail) {
    audit::Event e{.actor = cli_actor(),
                   .action = audit::Action::kConfigChange,
                   .resource = "AccessPolicy",
                   .outcome_detail = detail};
    if (auto r = log.record(e); !r) return std::unexpected(r.error());
  }
  return policy;
}

access::IdentityOptions identity_options(const Config& config) {
  access::IdentityOptions o;
  o.max_failed_logins = config.lockout_failures;
  o.lockout = std::chrono::minutes(config.lockout_minutes);
  return o;
}

audit::LogOptions log_options(const Config& config) {
  audit::LogOptions options;
  options.checkpoint_every = config.audit.checkpoint_every;
  options.checkpoint_interval_us = config.audit.checkpoint_interval_seconds * 1'000'000;
  options.publish_file = config.audit.publish_file.string();
  options.node = node_name();
  return options;
}

model::Result<Opened> open_data(const Config& config) {
  auto opened = open_store_only(config);
  if (!opened) return opened;
  auto log = audit::Log::open(*opened->store, *opened->keyring, log_options(config));
  if (!log) return std::unexpected(log.error());
  opened->audit = std::move(*log);
  return opened;
}

}  // namespace labvault::cli
