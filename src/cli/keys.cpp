// `labvault keys`: KEK rotation with re-wrapping, crypto-shredding of a patient, key status.
#include <fmt/format.h>

#include <iostream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "crypto/secret.hpp"

namespace labvault::cli {

using model::ErrorCode;

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

model::Result<Opened> open_from(const std::filesystem::path& config_file) {
  auto config = load_config(config_file);
  if (!config) return std::unexpected(config.error());
  return open_data(*config);
}

void print_stats(const store::KeyStats& s) {
  fmt::print("data keys: {} lab, {} patient, {} shredded\n", s.lab_keys, s.patient_keys,
             s.shredded);
  for (const auto& [version, n] : s.by_kek_version) {
    fmt::print("  wrapped by KEK version {}: {}\n", version, n);
  }
}

}  // namespace

int run_keys_status(const KeysArgs& args) {
  auto opened = open_from(args.config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto stats = opened->store->key_stats();
  if (!stats) return print_error(stats.error()), kExitUserError;
  auto versions = opened->keyring->kek_versions();
  fmt::print("keyring {}: KEK versions {} (current {})\n", opened->keyring->path().string(),
             fmt::join(versions, ", "), opened->keyring->current_kek_version());
  print_stats(*stats);
  return kExitOk;
}

int run_keys_rotate(const KeysArgs& args) {
  auto opened = open_from(args.config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto version = opened->keyring->add_kek(utc_now());
  if (!version) return print_error(version.error()), kExitUserError;
  fmt::print("added KEK version {} to {}\n", *version, opened->keyring->path().string());
  // Small batches, each its own transaction: a running server keeps ingesting meanwhile and
  // reads keys under either version until this finishes.
  int total = 0;
  for (;;) {
    auto n = opened->store->rewrap_data_keys(500);
    if (!n) return print_error(n.error()), kExitUserError;
    if (*n == 0) break;
    total += *n;
  }
  fmt::print("re-wrapped {} data keys under KEK version {}\n", total, *version);
  audit::Event rotated{.actor = cli_actor(),
                       .role = "system-admin",
                       .action = audit::Action::kKeyRotation,
                       .resource = "keyring",
                       .outcome_detail = fmt::format("kek-v{}-rewrapped-{}", *version, total)};
  if (auto r = opened->audit->record(rotated); !r) return print_error(r.error()), kExitUserError;
  auto stats = opened->store->key_stats();
  if (!stats) return print_error(stats.error()), kExitUserError;
  if (args.retire_old) {
    for (std::uint32_t old : opened->keyring->kek_versions()) {
      if (old == *version) continue;
      if (auto r = opened->store->retire_kek(old); !r) {
        return print_error(r.error()), kExitUserError;
      }
      audit::Event retired{.actor = cli_actor(),
                           .role = "system-admin",
                           .action = audit::Action::kKeyRotation,
                           .resource = "keyring",
                           .outcome_detail = fmt::format("kek-v{}-retired", old)};
      if (auto r = opened->audit->record(retired); !r) {
        return print_error(r.error()), kExitUserError;
      }
      fmt::print("retired KEK version {}\n", old);
    }
  }
  print_stats(*stats);
  return kExitOk;
}

int run_keys_shred(const KeysArgs& args) {
  if (!args.yes) {
    eprint(
        "labvault: shredding cannot be undone: every record of the patient becomes unreadable, "
        "everywhere. Add --yes to proceed.\n");
    return kExitUsage;
  }
  auto opened = open_from(args.config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto lab = opened->store->find_lab(args.lab);
  if (!lab) return print_error(lab.error()), kExitUserError;
  if (!*lab) {
    eprint("labvault: no lab '{}'\n", args.lab);
    return kExitUserError;
  }
  std::vector<store::Id> patients;
  if (args.patient) {
    patients.push_back(*args.patient);
  } else {
    // The MRN comes from standard input, never from argv: command lines land in shell history
    // and process lists.
    std::string mrn;
    std::getline(std::cin, mrn);
    if (mrn.empty()) {
      eprint("labvault: --mrn-stdin: no MRN on standard input\n");
      return kExitUserError;
    }
    auto found = opened->store->find_patients((*lab)->id, {mrn, args.authority, "MR"});
    crypto::wipe(mrn);
    if (!found) return print_error(found.error()), kExitUserError;
    if (found->empty()) {
      eprint("labvault: no patient with that identifier in lab '{}'\n", args.lab);
      return kExitUserError;
    }
    patients = *found;
  }
  for (store::Id id : patients) {
    audit::Event shred{.lab = (*lab)->id,
                       .actor = cli_actor(),
                       .role = "system-admin",
                       .action = audit::Action::kKeyShred,
                       .resource = "Patient/" + std::to_string(id),
                       .patient = id};
    // Recorded before as well as after: shredding cannot be undone, so it never happens unless
    // the request is on record.
    audit::Event intent = shred;
    intent.outcome_detail = "requested";
    if (auto r = opened->audit->record(intent); !r) return print_error(r.error()), kExitUserError;
    auto done =
        opened->audit->audited(shred, [&] { return opened->store->shred_patient((*lab)->id, id); });
    if (!done) return print_error(done.error()), kExitUserError;
    fmt::print("shredded patient {} of lab {}: their data key is destroyed\n", id, args.lab);
  }
  return kExitOk;
}

}  // namespace labvault::cli
