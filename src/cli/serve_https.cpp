// The HTTPS half of `labvault serve`: the api routes on the net listener, with the security
// headers on every response and the ingest and audit gauges on /metrics.
#include "cli/serve_https.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace labvault::cli {

model::Result<std::unique_ptr<HttpsListener>> start_https(const Config& config, Session& s,
                                                          const ingest::Pipeline& pipeline,
                                                          model::SensitivityRules sensitivity) {
  const HttpsConfig& h = config.https;
  auto out = std::make_unique<HttpsListener>();
  api::ApiOptions o;
  const bool tls = !h.tls_cert.empty();
  o.public_origin =
      !h.public_origin.empty()
          ? h.public_origin
          : fmt::format("{}://{}:{}", tls ? "https" : "http",
                        h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host,
                        h.port);
  o.token_endpoint = config.token_endpoint;
  o.per_principal = {h.rate_per_principal, h.burst_per_principal};
  o.sensitivity = std::move(sensitivity);
  audit::Log& log = *s.opened.audit;
  o.extra_metrics = [&pipeline, &log] {
    const auto c = pipeline.counters();
    return fmt::format(
        "# HELP labvault_ingest_messages_total HL7 messages by what their ACK said.\n"
        "# TYPE labvault_ingest_messages_total counter\n"
        "labvault_ingest_messages_total{{ack=\"AA\",kind=\"stored\"}} {}\n"
        "labvault_ingest_messages_total{{ack=\"AA\",kind=\"retransmission\"}} {}\n"
        "labvault_ingest_messages_total{{ack=\"AE_AR\",kind=\"refused\"}} {}\n"
        "# HELP labvault_ingest_commits_total Group commits of the ingest pipeline.\n"
        "# TYPE labvault_ingest_commits_total counter\n"
        "labvault_ingest_commits_total {}\n"
        "# HELP labvault_ingest_queue_depth Messages waiting for the committer.\n"
        "# TYPE labvault_ingest_queue_depth gauge\n"
        "labvault_ingest_queue_depth {}\n"
        "# HELP labvault_audit_records Audit records in the log.\n"
        "# TYPE labvault_audit_records gauge\n"
        "labvault_audit_records {}\n"
        "# HELP labvault_audit_checkpoint_lag_records Records not yet under a signed checkpoint.\n"
        "# TYPE labvault_audit_checkpoint_lag_records gauge\n"
        "labvault_audit_checkpoint_lag_records {}\n",
        c.accepted, c.duplicates, c.rejected, c.commits, pipeline.queue_depth(), log.size(),
        log.unsigned_records());
  };
  if (h.access_log)
    o.access_log = [](const std::string& line) {
      std::fprintf(stderr, "https: %s\n", line.c_str());
    };
  out->api = std::make_unique<api::Api>(*s.opened.store, log, *s.identity, *s.clients, *s.access,
                                        std::move(o));

  net::HttpServerOptions so;
  so.bind_address = h.host;
  so.port = static_cast<std::uint16_t>(h.port);
  if (tls) so.tls = net::TlsServerOptions{h.tls_cert.string(), h.tls_key.string(), {}};
  so.max_body_bytes = h.max_body_bytes;
  so.read_timeout = std::chrono::seconds(h.read_timeout_seconds);
  so.idle_timeout = std::chrono::seconds(h.idle_timeout_seconds);
  so.max_connections = static_cast<std::size_t>(h.max_connections);
  so.worker_threads = static_cast<unsigned>(h.workers);
  so.per_ip = {h.rate_per_ip, h.burst_per_ip};
  so.response_headers = api::Api::security_headers();
  api::Api* a = out->api.get();
  out->server = std::make_unique<net::HttpServer>(
      so, [a](const net::HttpRequest& r) { return a->handle(r); },
      [a](net::HttpRefusal why, std::string_view) { a->count_refusal(why); });
  if (auto r = out->server->start(); !r) return std::unexpected(r.error());
  out->tls = tls;
  return out;
}

}  // namespace labvault::cli
