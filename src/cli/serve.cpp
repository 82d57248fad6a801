// `labvault serve`: the MLLP listener on the ingest pipeline, with the audit log checkpointing on
// a timer and, when configured, the SIEM forwarder. Runs until SIGINT/SIGTERM, then stops
// accepting, answers what is in flight, and signs a final checkpoint.
#include <fmt/format.h>
#include <signal.h>

#include <ctime>

#include "audit/export.hpp"
#include "audit/siem.hpp"
#include "cli/admin_session.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "cli/formats.hpp"
#include "cli/serve_https.hpp"
#include "hl7/hl7.hpp"
#include "ingest/pipeline.hpp"
#include "net/mllp_server.hpp"

namespace labvault::cli {

audit::SyslogForwarderConfig forwarder_config(const Config& config);
audit::EventSource store_event_source(store::Store& store);

namespace {

model::Result<std::vector<ingest::SenderRule>> sender_rules(const Config& config,
                                                            store::Store& store) {
  std::vector<ingest::SenderRule> rules;
  for (const SenderConfig& s : config.senders) {
    auto lab = store.find_lab(s.lab);
    if (!lab) return std::unexpected(lab.error());
    if (!*lab) {
      return model::fail(model::ErrorCode::kConfig,
                         fmt::format("[[ingest.senders]] '{}': no lab '{}'", s.id, s.lab),
                         {.file = config.file.string()});
    }
    rules.push_back({s.id, (*lab)->id, s.application, s.facility, s.tls_subject});
  }
  return rules;
}

net::MllpServerOptions server_options(const Config& config) {
  net::MllpServerOptions o;
  o.bind_address = config.mllp.host;
  o.port = static_cast<std::uint16_t>(config.mllp.port);
  if (!config.mllp.tls_cert.empty()) {
    o.tls = net::TlsServerOptions{config.mllp.tls_cert.string(), config.mllp.tls_key.string(),
                                  config.mllp.client_ca.string()};
  }
  o.max_frame_bytes = config.mllp.max_frame_bytes;
  o.idle_timeout = std::chrono::seconds(config.mllp.idle_timeout_seconds);
  return o;
}

}  // namespace

int run_serve(const ServeArgs& args) {
  auto config = load_config(args.config);
  if (!config) return print_error(config.error()), kExitUserError;
  auto services = open_services(*config);
  if (!services) return print_error(services.error()), kExitUserError;
  Session& session = **services;
  Opened* opened = &session.opened;
  auto rules = sender_rules(*config, *opened->store);
  if (!rules) return print_error(rules.error()), kExitUserError;
  ingest::Options options;
  options.senders = std::move(*rules);
  auto sensitivity = load_sensitivity(config->file);
  if (!sensitivity) return print_error(sensitivity.error()), kExitUserError;
  options.sensitivity = std::move(*sensitivity);
  ingest::Pipeline pipeline(*opened->store, *opened->audit, options);

  // The refusals of the listener itself (TLS failures, unknown client certificates, oversize)
  // are audit events too: who tried, from where, and why it was refused.
  audit::Log& log = *opened->audit;
  auto on_event = [&log](const net::MllpPeer& peer, const net::MllpEvent& event) {
    audit::Event e{.actor = "peer:unauthenticated",
                   .action = audit::Action::kLoginFailed,
                   .listener = "mllp",
                   .outcome = audit::Outcome::kDenied};
    switch (event.kind) {
      case net::MllpEventKind::kTlsHandshakeFailed:
        e.outcome_detail = "tls-handshake-failed";
        break;
      case net::MllpEventKind::kOversize:
        e.action = audit::Action::kCreate;
        e.outcome_detail = "frame-too-large";
        break;
      default:
        return;
    }
    e.source_ip = peer.remote_address.substr(0, peer.remote_address.rfind(':'));
    if (!audit::validate(e)) e.source_ip.clear();
    (void)log.record(e);  // a refused connection gets nothing either way
  };
  auto handler = [&pipeline](const net::MllpPeer& peer, std::string frame, net::MllpReply reply) {
    pipeline.submit(std::move(frame), {"mllp", peer.remote_address, peer.tls_subject},
                    std::move(reply));
  };
  auto oversize = [](const net::MllpPeer&) {
    model::Error e{model::ErrorCode::kValueTooLong,
                   "the message is larger than [mllp] "
                   "max_frame_bytes",
                   {}};
    hl7::AckOptions o;
    o.control_id = "NAK";
    return hl7::make_ack("", std::span(&e, 1), o);
  };
  net::MllpServer server(server_options(*config), handler, oversize, on_event);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts
  pipeline.start();
  if (auto r = server.start(); !r) return print_error(r.error()), kExitUserError;
  std::unique_ptr<HttpsListener> https;
  if (config->https.enabled) {
    auto started = start_https(*config, session, pipeline, options.sensitivity);
    if (!started) return print_error(started.error()), kExitUserError;
    https = std::move(*started);
  }
  std::unique_ptr<audit::SyslogForwarder> forwarder;
  if (!config->audit.syslog.host.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config->audit.syslog.cursor_dir, ec);
    forwarder = std::make_unique<audit::SyslogForwarder>(forwarder_config(*config),
                                                         store_event_source(*opened->store));
    if (auto r = forwarder->start(); !r) return print_error(r.error()), kExitUserError;
  }
  fmt::print("labvault serve: MLLP on {}:{} ({}), {} senders; audit checkpoints every {} s\n",
             config->mllp.host, server.port(), config->mllp.tls_cert.empty() ? "plaintext" : "TLS",
             options.senders.size(), config->audit.checkpoint_interval_seconds);
  if (https)
    fmt::print("labvault serve: HTTPS on {}:{} ({}); FHIR base /fhir/<LAB>\n", config->https.host,
               https->server->port(), https->tls ? "TLS" : "plaintext, loopback only");
  std::fflush(stdout);
  // The main thread keeps time: a checkpoint when the interval has passed, even if no request
  // came (an idle server must not leave its last records unsigned), and the forwarder's nudge.
  const timespec tick{1, 0};
  for (;;) {
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
    (void)opened->audit->checkpoint_if_due();
    if (forwarder) forwarder->notify();
  }
  fmt::print("labvault serve: stopping\n");
  if (https) https->server->stop();
  server.stop();
  pipeline.stop();
  if (forwarder) forwarder->stop();
  if (auto r = opened->audit->close(); !r) return print_error(r.error()), kExitUserError;
  auto c = pipeline.counters();
  fmt::print("labvault serve: {} accepted, {} retransmissions, {} refused, {} commits\n",
             c.accepted, c.duplicates, c.rejected, c.commits);
  return kExitOk;
}

}  // namespace labvault::cli
