// `labvault audit forward`: streams the audit log to the SIEM of [audit.syslog] (RFC 5424 over
// TLS), resuming from its durable cursor, until SIGINT/SIGTERM (or, with --once, until everything
// recorded so far is acknowledged). `labvault serve` runs the same forwarder in-process.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>

#include "audit/export.hpp"
#include "audit/siem.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"

namespace labvault::cli {

audit::SyslogForwarderConfig forwarder_config(const Config& config) {
  const SyslogConfig& sys = config.audit.syslog;
  audit::SyslogForwarderConfig f;
  f.host = sys.host;
  f.port = static_cast<std::uint16_t>(sys.port);
  f.ca_file = sys.ca_file.string();
  f.cert_file = sys.cert_file.string();
  f.key_file = sys.key_file.string();
  f.server_name = sys.server_name;
  f.cursor_dir = sys.cursor_dir;
  f.procid = std::to_string(::getpid());
  return f;
}

audit::EventSource store_event_source(store::Store& store) {
  return [&store](std::uint64_t from,
                  std::size_t limit) -> model::Result<std::vector<audit::SyslogEvent>> {
    auto rows = store.read_audit(from, limit);
    if (!rows) return std::unexpected(rows.error());
    std::vector<audit::SyslogEvent> events;
    events.reserve(rows->size());
    for (const auto& row : *rows) {
      auto parsed = audit::parse_entry(row);
      if (!parsed) return std::unexpected(parsed.error());
      events.push_back(audit::to_syslog_event(*parsed, row));
    }
    return events;
  };
}

int run_audit_forward(const AuditArgs& args) {
  auto config = load_config(args.config);
  if (!config) return print_error(config.error()), kExitUserError;
  if (config->audit.syslog.host.empty()) {
    eprint("labvault: {}: [audit.syslog] host is not set; nothing to forward to\n",
           args.config.string());
    return kExitUserError;
  }
  auto opened = open_data(*config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  std::error_code ec;
  std::filesystem::create_directories(config->audit.syslog.cursor_dir, ec);
  // Signals are taken synchronously here; the forwarder's thread inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  audit::SyslogForwarder forwarder(forwarder_config(*config), store_event_source(*opened->store));
  // Forwarding discloses the log to another system: on record before the first byte leaves.
  audit::Event e{.actor = cli_actor(),
                 .role = "auditor",
                 .action = audit::Action::kAuditExport,
                 .resource = "AuditLog",
                 .outcome_detail = "forward-to-siem"};
  if (auto r = opened->audit->record(e); !r) return print_error(r.error()), kExitUserError;
  if (auto r = forwarder.start(); !r) return print_error(r.error()), kExitUserError;
  fmt::print("forwarding the audit log to {}:{} (from record {})\n", config->audit.syslog.host,
             config->audit.syslog.port, forwarder.delivered_through() + 1);
  std::fflush(stdout);
  const timespec tick{0, 200'000'000};
  for (;;) {
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
    if (args.once) {
      auto last = opened->store->last_audit();
      if (!last) return print_error(last.error()), kExitUserError;
      if (!*last || forwarder.delivered_through() >= (*last)->seq) break;
    }
  }
  forwarder.stop();
  auto stats = forwarder.stats();
  fmt::print("delivered through record {} ({} sent, {} resent, {} reconnects){}\n",
             stats.delivered_through, stats.sent, stats.resent, stats.reconnects,
             stats.last_error.empty() ? "" : "; last error: " + stats.last_error);
  return kExitOk;
}

}  // namespace labvault::cli
