// What the api's route files share. Private to src/api.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/api.hpp"
#include "api/metrics.hpp"

namespace labvault::api {

// Who is asking, once authenticated.
struct Principal {
  std::optional<access::Subject> person;  // a person with a session cookie...
  std::string session_token;
  std::optional<access::ClientPrincipal> client;  // ...or a SMART client with a bearer token
  access::Requester requester;
  store::Id user = 0;  // 0 for a client
  [[nodiscard]] const std::string& actor() const { return requester.actor; }
};

// One request being served.
struct Call {
  const net::HttpRequest& req;
  access::RequestContext ctx;
  std::string route = "other";  // the route template, for the access log and metrics
};

// Responses.
[[nodiscard]] net::HttpResponse json_response(int status, std::string body);
[[nodiscard]] net::HttpResponse fhir_response(int status, std::string body);
[[nodiscard]] net::HttpResponse outcome(int status, std::string_view code,
                                        std::string_view diagnostics);
[[nodiscard]] net::HttpResponse outcome(const model::Error& e);  // status from the error code
[[nodiscard]] int status_of(const model::Error& e);

// The value of cookie `name`, or "".
[[nodiscard]] std::string_view cookie(const net::HttpRequest& req, std::string_view name);
// The CSRF token of a session: derived from its (secret) token, so nothing more is stored.
[[nodiscard]] std::string csrf_token_of(std::string_view session_token);
// Whether the request's X-CSRF-Token is the session's (compared in constant time).
[[nodiscard]] bool csrf_ok(const net::HttpRequest& req, std::string_view session_token);
inline constexpr std::string_view kSessionCookie = "lv_session";

// The purpose of use a request declares (X-Purpose-Of-Use), else the role's usual one.
[[nodiscard]] std::string purpose_of(const net::HttpRequest& req, const Principal& who,
                                     store::Id lab);

struct Api::Impl {
  store::Store& store;
  audit::Log& log;
  access::Identity& identity;
  access::Clients& clients;
  access::Access& access;
  ApiOptions options;
  net::RateLimiter per_principal;
  Metrics metrics;
  std::string capability;  // the CapabilityStatement, built once

  Impl(store::Store& s, audit::Log& l, access::Identity& i, access::Clients& c, access::Access& a,
       ApiOptions o);

  net::HttpResponse route(Call& call);

  // auth_routes.cpp
  net::HttpResponse auth(Call& call, std::string_view what);
  net::HttpResponse token(Call& call);
  net::HttpResponse smart_configuration(Call& call);
  // A person (session cookie; state-changing requests need the CSRF header) or a client (bearer
  // token). kUnauthenticated when neither is valid.
  model::Result<Principal> authenticate(Call& call);

  // fhir_read.cpp, fhir_write.cpp
  net::HttpResponse fhir(Call& call, std::string_view path);
  net::HttpResponse read(Call& call, const Principal& who, store::Id lab, std::string_view type,
                         store::Id id);
  net::HttpResponse search(Call& call, const Principal& who, store::Id lab, std::string_view type,
                           std::string_view query, std::string_view lab_code);
  net::HttpResponse create(Call& call, const Principal& who, store::Id lab,
                           std::string_view lab_code, bool transaction);
  net::HttpResponse operation(Call& call, const Principal& who, store::Id lab, store::Id patient,
                              std::string_view op);

  [[nodiscard]] std::string fhir_base(std::string_view lab_code) const {
    return options.public_origin + "/fhir/" + std::string(lab_code);
  }
};

}  // namespace labvault::api
