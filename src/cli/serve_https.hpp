// `labvault serve`'s HTTPS listener (the [https] section of the config).
#pragma once

#include <memory>

#include "api/api.hpp"
#include "cli/admin_session.hpp"
#include "ingest/pipeline.hpp"
#include "net/http_server.hpp"

namespace labvault::cli {

struct HttpsListener {
  std::unique_ptr<api::Api> api;
  std::unique_ptr<net::HttpServer> server;  // declared last: stops before the api goes
  bool tls = false;
};

// Starts the listener on the services of `s`; kConfig for plaintext off loopback or bad TLS
// files, kIo when the port is taken.
[[nodiscard]] model::Result<std::unique_ptr<HttpsListener>> start_https(
    const Config& config, Session& s, const ingest::Pipeline& pipeline,
    model::SensitivityRules sensitivity);

}  // namespace labvault::cli
