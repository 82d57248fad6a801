// One function per subcommand; arguments arrive already checked for shape by CLI11.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/error.hpp"
#include "net/mllp_client.hpp"

namespace CLI {
class App;
}

namespace labvault::cli {

// Adds `user` and `client` (users.cpp); the result runs whichever was parsed, if one was.
std::function<std::optional<int>()> add_identity_commands(CLI::App& app);
// Adds `access` (access_cmd.cpp), likewise.
std::function<std::optional<int>()> add_access_commands(CLI::App& app);

struct ConvertArgs {
  std::string from, to;
  std::optional<std::filesystem::path> mapping, config, output;
  std::optional<int> tz_offset_minutes;  // default: each message's MSH-7 offset
  bool lf = false;
  std::vector<std::filesystem::path> inputs;
};

struct ValidateArgs {
  std::optional<std::string> format;
  std::optional<std::filesystem::path> mapping;
  std::vector<std::filesystem::path> inputs;
};

struct BenchArgs {
  std::filesystem::path file;
  double seconds = 3;
};

struct BenchStoreArgs {
  int rows = 100000;          // observations to store on each path
  int batch = 1000;           // observations per transaction
  int per_message = 10;       // observations per synthetic message (one patient, one report)
  std::filesystem::path dir;  // where the scratch directory goes (default: the temp directory)
};

struct BenchAuditArgs {
  int events = 1000000;
  int batch = 1000;  // events per append (what group commit gathers from concurrent requests)
  std::uint64_t checkpoint_every = 10000;
  std::filesystem::path dir;
};

struct InitArgs {
  std::filesystem::path data;
  std::optional<std::filesystem::path> keyring;  // default: <data>/../labvault.keyring
  bool demo = false;
};

struct KeysArgs {
  std::filesystem::path config;
  bool retire_old = false;  // rotate
  std::string lab;          // shred-patient
  std::optional<std::int64_t> patient;
  bool mrn_stdin = false;
  std::string authority;
  bool yes = false;
};

int run_init(const InitArgs& args);
struct AuditArgs {
  std::filesystem::path config;
  std::optional<std::filesystem::path> published;  // verify: published checkpoints file
  std::uint64_t record = 0;                        // prove
  std::optional<std::filesystem::path> output;     // prove, export
  std::filesystem::path proof;                     // verify-proof
  std::optional<std::string> public_key;           // verify-proof: base64 key to trust
  std::string format = "jsonl";                    // export, query
  std::optional<std::string> since, until;         // RFC 3339 or YYYY-MM-DD
  std::uint64_t from_seq = 1;                      // export
  int lines = 20;                                  // tail
  std::optional<std::string> lab, user, action;    // query
  std::optional<std::int64_t> patient;             // query
  bool reveal = false;                             // export/query: open sealed reasons
  bool once = false;                               // forward: stop when caught up
};

struct ServeArgs {
  std::filesystem::path config;
};

struct SendArgs {
  std::string to;  // HOST:PORT
  std::optional<std::filesystem::path> tls_ca, cert, key;
  std::string server_name;  // default: HOST
  std::vector<std::filesystem::path> files;
};

struct ImportArgs {
  std::filesystem::path config;
  std::string lab;  // lab code
  std::optional<std::string> format;
  std::optional<std::filesystem::path> mapping;
  std::vector<std::filesystem::path> files;
};

struct BenchIngestArgs {
  std::string to;  // HOST:PORT
  std::optional<std::filesystem::path> tls_ca, cert, key;
  std::string server_name;
  std::filesystem::path file;  // the message to send, made unique per copy
  int connections = 8;
  double seconds = 10, warmup = 1;
  double rate = 0;              // msgs/s offered in all; 0: closed loop (as fast as ACKs come)
  int patients = 0;             // distinct patients cycled through; 0: a new one per message
  std::string id_prefix = "B";  // MSH-10 prefix, so runs against one store do not collide
};

// MLLP client settings from `send`-style flags: --to HOST:PORT (or [v6]:PORT), TLS when a CA is
// given. kUsage for a malformed --to.
[[nodiscard]] model::Result<net::MllpClientOptions> mllp_client_options(
    const std::string& to, const std::optional<std::filesystem::path>& tls_ca,
    const std::optional<std::filesystem::path>& cert,
    const std::optional<std::filesystem::path>& key, const std::string& server_name);

int run_bench_ingest(const BenchIngestArgs& args);
int run_import(const ImportArgs& args);
int run_serve(const ServeArgs& args);
int run_send(const SendArgs& args);
int run_audit_verify(const AuditArgs& args);
int run_audit_checkpoint(const AuditArgs& args);
int run_audit_prove(const AuditArgs& args);
int run_audit_verify_proof(const AuditArgs& args);
int run_audit_public_key(const AuditArgs& args);
int run_audit_export(const AuditArgs& args);
int run_audit_tail(const AuditArgs& args);
int run_audit_forward(const AuditArgs& args);
int run_audit_query(const AuditArgs& args);

int run_keys_status(const KeysArgs& args);
int run_keys_rotate(const KeysArgs& args);
int run_keys_shred(const KeysArgs& args);
int run_convert(const ConvertArgs& args);
int run_validate(const ValidateArgs& args);
int run_bench_parse(const BenchArgs& args);
int run_bench_store(const BenchStoreArgs& args);
int run_bench_audit(const BenchAuditArgs& args);

// "labvault: <file>:<line>: <where>: <message>" on stderr.
void print_error(const model::Error& e);

// Writes to stderr without throwing: reporting a failure must not itself fail (fmt::print throws
// when the stream is closed or full).
template <typename... Args>
void eprint(fmt::format_string<Args...> format, Args&&... args) {
  std::fputs(fmt::format(format, std::forward<Args>(args)...).c_str(), stderr);
}

}  // namespace labvault::cli
