// `labvault audit`: verify the log, sign a checkpoint now, prove a record's inclusion and check
// such a proof offline, print the public key verifiers pin. Exports and queries: audit_query.cpp.
#include <fmt/format.h>

#include <cstring>
#include <set>

#include "audit/checkpoint.hpp"
#include "audit/verify.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "cli/formats.hpp"
#include "crypto/secret.hpp"

namespace labvault::cli {

namespace {

model::Result<std::pair<Config, Opened>> open_config(const std::filesystem::path& file) {
  auto config = load_config(file);
  if (!config) return std::unexpected(config.error());
  auto opened = open_data(*config);
  if (!opened) return std::unexpected(opened.error());
  return std::pair{std::move(*config), std::move(*opened)};
}

audit::Event admin_event(audit::Action action, std::string detail) {
  return {.actor = cli_actor(),
          .role = "auditor",
          .action = action,
          .resource = "AuditLog",
          .outcome_detail = std::move(detail)};
}

}  // namespace

int run_audit_verify(const AuditArgs& args) {
  auto config = load_config(args.config);
  if (!config) return print_error(config.error()), kExitUserError;
  // Read-only first: the writer is not opened (it would resume, and could sign, a tampered log).
  auto opened = open_store_only(*config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto key = crypto::SigningKey::from_seed(opened->keyring->audit_signing_seed());
  if (!key) return print_error(key.error()), kExitUserError;
  std::vector<store::AuditCheckpoint> published;
  std::filesystem::path file = args.published ? *args.published : config->audit.publish_file;
  std::error_code ec;
  bool have_file = !file.empty() && (args.published || std::filesystem::exists(file, ec));
  if (have_file) {
    auto p = audit::read_published(file.string());
    if (!p) return print_error(p.error()), kExitUserError;
    published = std::move(*p);
  }
  auto report = audit::verify(*opened->store, key->public_key(), published);
  if (!report) return print_error(report.error()), kExitUserError;
  auto checkpoints = opened->store->audit_checkpoints();
  if (!checkpoints) return print_error(checkpoints.error()), kExitUserError;
  // The published copy is what catches a truncation that took the database's own checkpoints:
  // it must exist and hold every checkpoint the database holds. A log with records must have
  // one even when the database holds no checkpoint (they may be what was deleted; every writer
  // signs when it closes, so only a crash before the first checkpoint leaves none: run
  // `audit checkpoint`, then verify).
  if (report->ok() && !file.empty() && (!checkpoints->empty() || report->records > 0)) {
    std::set<std::uint64_t> sizes;
    for (const auto& c : published) sizes.insert(c.tree_size);
    if (!have_file) {
      report->problem = audit::Problem{
          0, 0,
          fmt::format("the published checkpoints file {} is missing but the database holds {} "
                      "records and {} checkpoints",
                      file.string(), report->records, checkpoints->size())};
    } else {
      for (const auto& c : *checkpoints) {
        if (!sizes.contains(c.tree_size)) {
          report->problem = audit::Problem{
              0, c.tree_size,
              fmt::format("checkpoint at tree size {} is missing from the published copy {}",
                          c.tree_size, file.string())};
          break;
        }
      }
    }
  }
  if (!report->ok()) {
    eprint("labvault: audit log FAILED verification: {}\n", report->problem->message);
    return kExitUserError;
  }
  // Verified: now the writer may open, record this verification and sign what had no signature.
  auto log = audit::Log::open(*opened->store, *opened->keyring, log_options(*config));
  if (!log) return print_error(log.error()), kExitUserError;
  audit::Event e = admin_event(audit::Action::kAuditVerify, "verified");
  if (auto r = (*log)->record(e); !r) return print_error(r.error()), kExitUserError;
  if (auto r = (*log)->close(); !r) return print_error(r.error()), kExitUserError;
  fmt::print(
      "audit log OK: {} records, {} checkpoints signed by key {}, {} published checkpoints "
      "compared{}\n",
      report->records, report->checkpoints, crypto::key_id(key->public_key()), report->published,
      report->uncovered ? fmt::format("; {} records after the last checkpoint were chained "
                                      "correctly and are now signed",
                                      report->uncovered)
                        : std::string());
  return kExitOk;
}

int run_audit_checkpoint(const AuditArgs& args) {
  auto both = open_config(args.config);
  if (!both) return print_error(both.error()), kExitUserError;
  auto& opened = both->second;
  if (auto r = opened.audit->checkpoint(); !r) return print_error(r.error()), kExitUserError;
  fmt::print("audit checkpoint signed at tree size {}\n", opened.audit->size());
  return kExitOk;
}

int run_audit_prove(const AuditArgs& args) {
  auto both = open_config(args.config);
  if (!both) return print_error(both.error()), kExitUserError;
  auto& opened = both->second;
  if (auto r = opened.audit->checkpoint(); !r) return print_error(r.error()), kExitUserError;
  auto proof = audit::prove(*opened.store, opened.audit->public_key(), args.record);
  if (!proof) return print_error(proof.error()), kExitUserError;
  // A proof carries the record itself: it is a disclosure of the log, recorded before it leaves.
  if (auto r = opened.audit->record(
          admin_event(audit::Action::kAuditExport, fmt::format("proof-of-record-{}", args.record)));
      !r) {
    return print_error(r.error()), kExitUserError;
  }
  if (args.output) {
    if (auto r = write_file_atomically(*args.output, *proof); !r) {
      return print_error(r.error()), kExitUserError;
    }
  } else {
    fmt::print("{}", *proof);
  }
  return kExitOk;
}

int run_audit_verify_proof(const AuditArgs& args) {
  auto text = read_file(args.proof);
  if (!text) return print_error(text.error()), kExitUserError;
  std::optional<crypto::PublicKey> trusted;
  {
    auto bytes = crypto::base64_decode(*args.public_key);
    if (!bytes || bytes->size() != crypto::kEd25519PublicKeySize) {
      eprint("labvault: --public-key: not a base64 Ed25519 public key (32 bytes)\n");
      return kExitUsage;
    }
    crypto::PublicKey key;
    std::memcpy(key.data(), bytes->data(), key.size());
    trusted = key;
  }
  auto summary = audit::verify_proof(*text, trusted);
  if (!summary) return print_error(summary.error()), kExitUserError;
  fmt::print("proof OK: record {} is in the audit tree of size {} signed by key {}\n",
             summary->record, summary->tree_size, summary->key_id);
  return kExitOk;
}

int run_audit_public_key(const AuditArgs& args) {
  auto config = load_config(args.config);
  if (!config) return print_error(config.error()), kExitUserError;
  auto opened = open_store_only(*config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto signing = crypto::SigningKey::from_seed(opened->keyring->audit_signing_seed());
  if (!signing) return print_error(signing.error()), kExitUserError;
  const auto& key = signing->public_key();
  fmt::print("{}  (Ed25519, key id {})\n", crypto::base64_encode(key), crypto::key_id(key));
  return kExitOk;
}

}  // namespace labvault::cli
