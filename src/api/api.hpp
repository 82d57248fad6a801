// The HTTP face of labvault (DESIGN.md module api): FHIR R4 read, search and write under
// /fhir/{LAB}, the auth endpoints under /auth, SMART discovery, /healthz and /metrics. Every
// request is authenticated (session cookie for people, bearer token for SMART clients), checked
// by the one policy decision point, shaped by its view, and audited before the response leaves.
// Invariants: another lab's resources answer 404 exactly like missing ones (DESIGN.md 6); errors
// are OperationOutcomes that name parameters and elements, never values; no query string, body or
// other PHI reaches the access log or a metric label (DESIGN.md 3).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "access/access.hpp"
#include "access/clients.hpp"
#include "access/identity.hpp"
#include "audit/log.hpp"
#include "fhir/server.hpp"
#include "model/sensitivity.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"

namespace labvault::api {

struct ApiOptions {
  // The origin clients reach, e.g. https://lab.example:8443: Bundle fullUrls and paging links.
  std::string public_origin = "https://127.0.0.1:8443";
  std::string token_endpoint = "https://127.0.0.1:8443/auth/token";  // [auth] token_endpoint
  net::RateLimit per_principal{50.0, 100.0};  // per person or client, after authentication
  model::SensitivityRules sensitivity = model::SensitivityRules::defaults();  // on FHIR writes
  fhir::ServerOptions fhir;
  std::string software_version = "0.1.0";
  // Prometheus text appended to /metrics (ingest counters, queue depths, audit lag), no labels
  // carrying PHI.
  std::function<std::string()> extra_metrics;
  // One line per request (method, route template, status, time, request id); never the query.
  std::function<void(const std::string&)> access_log;
  store::Clock clock = store::system_now_us;
};

class Api {
 public:
  Api(store::Store& store, audit::Log& log, access::Identity& identity, access::Clients& clients,
      access::Access& access, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Thread-safe: the listener calls it from its worker threads.
  [[nodiscard]] net::HttpResponse handle(const net::HttpRequest& request);
  // What the listener answered by itself, for /metrics.
  void count_refusal(net::HttpRefusal why);

  // Headers every response carries (HSTS, CSP, nosniff, no-referrer, no framing, no-store).
  [[nodiscard]] static net::Headers security_headers();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::api
