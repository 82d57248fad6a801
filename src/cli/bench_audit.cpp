// `labvault bench audit`: the labvault side of bench/audit.sh. Appends synthetic audit events
// (realistic reads by clinicians, with checkpoints signed every N records) to a fresh SQLite
// store through audit::Log, then verifies the whole log as `labvault audit verify` does.
#include <fmt/format.h>

#include <chrono>

#include "audit/log.hpp"
#include "audit/verify.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/temp_dir.hpp"
#include "crypto/keyring.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace labvault::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

audit::Event event(int i, store::Id lab) {
  audit::Event e;
  e.lab = lab;
  e.actor = fmt::format("user:{}", 100 + i % 50);
  e.role = "ordering-provider";
  e.action = i % 10 == 0 ? audit::Action::kSearch : audit::Action::kRead;
  e.resource = fmt::format("Observation/{}", 1000 + i);
  e.patient = 1 + i % 5000;
  e.source_ip = "10.20.30.40";
  e.listener = "https";
  e.purpose = "TREAT";
  e.request_id = fmt::format("{:016x}", 0x9e3779b97f4a7c15ull * static_cast<unsigned>(i + 1));
  e.released_fields = {"code", "value", "unit", "reference-range", "effective"};
  if (i % 7 == 0) e.masked_fields = {"value"};
  return e;
}

}  // namespace

int run_bench_audit(const BenchAuditArgs& args) {
  if (args.events <= 0 || args.batch <= 0 || args.checkpoint_every == 0) {
    eprint("labvault: bench audit: --events, --batch and --checkpoint-every must be positive\n");
    return kExitUsage;
  }
  auto dir = make_temp_dir(args.dir.empty() ? std::filesystem::temp_directory_path() : args.dir);
  if (!dir) return print_error(dir.error()), kExitUserError;
  TempDir cleanup{*dir};
  auto ring = crypto::Keyring::create(*dir / "keyring", "2026-12-01T00:00:00Z");
  if (!ring) return print_error(ring.error()), kExitUserError;
  std::filesystem::create_directories(*dir / "data");
  auto store = store::sqlite::open(*dir / "data" / store::sqlite::kDatabaseFile, *ring);
  if (!store) return print_error(store.error()), kExitUserError;
  auto lab = (*store)->create_lab("BENCH", "Bench lab");
  if (!lab) return print_error(lab.error()), kExitUserError;

  audit::LogOptions options;
  options.checkpoint_every = args.checkpoint_every;
  options.node = "bench";
  auto log = audit::Log::open(**store, *ring, options);
  if (!log) return print_error(log.error()), kExitUserError;

  // Events are built before the clock starts: the bench times the log, not the generator.
  std::vector<audit::Event> events;
  events.reserve(static_cast<std::size_t>(args.events));
  for (int i = 0; i < args.events; ++i) events.push_back(event(i, lab->id));

  auto start = Clock::now();
  std::span<const audit::Event> all(events);
  for (std::size_t at = 0; at < all.size(); at += static_cast<std::size_t>(args.batch)) {
    auto n = std::min(all.size() - at, static_cast<std::size_t>(args.batch));
    if (auto r = (*log)->record(all.subspan(at, n)); !r) {
      return print_error(r.error()), kExitUserError;
    }
  }
  if (auto r = (*log)->close(); !r) return print_error(r.error()), kExitUserError;
  double append_s = seconds_since(start);
  auto checkpoints = (*store)->audit_checkpoints();
  if (!checkpoints) return print_error(checkpoints.error()), kExitUserError;

  start = Clock::now();
  auto report = audit::verify(**store, (*log)->public_key());
  double verify_s = seconds_since(start);
  if (!report) return print_error(report.error()), kExitUserError;
  if (!report->ok() || report->records != static_cast<std::uint64_t>(args.events)) {
    eprint("labvault: bench audit: verification failed: {}\n",
           report->problem ? report->problem->message : "record count differs");
    return kExitUserError;
  }
  fmt::print("{} events, {} per append transaction, a signed checkpoint every {} ({} in all)\n",
             args.events, args.batch, args.checkpoint_every, checkpoints->size());
  fmt::print("append: {:.3f} s = {:.0f} events/s\n", append_s, args.events / append_s);
  fmt::print(
      "verify: {:.3f} s = {:.0f} events/s (chain, tree, {} signatures, {} consistency "
      "proofs)\n",
      verify_s, args.events / verify_s, checkpoints->size(),
      checkpoints->empty() ? 0 : checkpoints->size() - 1);
  fmt::print("labvault_append_events_per_s={:.0f} labvault_verify_seconds={:.3f}\n",
             args.events / append_s, verify_s);
  return kExitOk;
}

}  // namespace labvault::cli
