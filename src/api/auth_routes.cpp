// /auth/*: people log in with password and TOTP into a server-side session carried by a cookie
// (Secure, HttpOnly, SameSite=Strict) with a CSRF token for state-changing requests; SMART
// backend services trade a signed assertion for a bearer token at /auth/token.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/internal/impl.hpp"
#include "crypto/secret.hpp"
#include "fhir/search.hpp"

namespace labvault::api {

namespace {

using model::ErrorCode;
using nlohmann::json;

// The string members of a JSON object body; kUsage names what is wrong, not the content.
model::Result<json> object_body(const net::HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return model::fail(ErrorCode::kUsage, "the request body must be a JSON object");
  for (const auto& [k, v] : body.items())
    if (!v.is_string())
      return model::fail(ErrorCode::kUsage, fmt::format("'{}' must be a string", k));
  return body;
}

std::string member(const json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() ? std::string() : it->get<std::string>();
}

std::string session_cookie(std::string_view token, bool clear = false) {
  // No Max-Age: the cookie dies with the browser; the server ends the session sooner (idle).
  return fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict{}", kSessionCookie,
                     clear ? "" : token, clear ? "; Max-Age=0" : "");
}

}  // namespace

net::HttpResponse Api::Impl::auth(Call& call, std::string_view what) {
  const net::HttpRequest& req = call.req;
  call.route = fmt::format("/auth/{}", what);
  if (what != "login" && what != "mfa/enroll" && what != "mfa/confirm" && what != "reauth" &&
      what != "logout" && what != "password") {
    call.route = "/auth/other";
    return outcome(404, "not-found", "no such endpoint");
  }
  if (req.method != "POST") return outcome(405, "not-supported", "use POST");
  // JSON only: a cross-site HTML form can send text/plain or form bodies, never this type
  // (without a CORS preflight this server never grants), so no other site can log a browser in.
  if (!req.body.empty() && !req.header("content-type").starts_with("application/json"))
    return outcome(415, "not-supported", "send application/json");
  auto body = req.body.empty() ? model::Result<json>(json::object()) : object_body(req);
  if (!body) return outcome(body.error());

  if (what == "login") {
    auto r = identity.login(member(*body, "username"), member(*body, "password"),
                            member(*body, "code"), call.ctx);
    if (!r) return outcome(r.error());
    json answer = {{"mfa_enrollment_required", r->mfa_enrollment_required},
                   {"csrf_token", csrf_token_of(r->token)}};
    net::HttpResponse res = json_response(200, answer.dump());
    res.headers.emplace_back("Set-Cookie", session_cookie(r->token));
    return res;
  }

  // Everything else acts on the caller's session and changes state: cookie plus CSRF header.
  std::string_view token = cookie(req, kSessionCookie);
  if (token.empty()) return outcome(401, "login", "log in first (POST /auth/login)");
  if (!csrf_ok(req, token))
    return outcome(403, "forbidden", "missing or wrong X-CSRF-Token header");

  if (what == "mfa/enroll") {
    auto r = identity.begin_mfa_enrollment(token, call.ctx);
    if (!r) return outcome(r.error());
    return json_response(
        200, json{{"otpauth_uri", r->otpauth_uri}, {"secret", r->secret_base32}}.dump());
  }
  if (what == "mfa/confirm") {
    auto r = identity.finish_mfa_enrollment(token, member(*body, "code"), call.ctx);
    if (!r) return outcome(r.error());
    return json_response(200, json{{"recovery_codes", *r}}.dump());
  }
  if (what == "reauth") {
    auto r =
        identity.reauthenticate(token, member(*body, "password"), member(*body, "code"), call.ctx);
    if (!r) return outcome(r.error());
    return json_response(200, R"({"reauthenticated":true})");
  }
  if (what == "password") {
    auto r = identity.change_password(token, member(*body, "old_password"),
                                      member(*body, "new_password"), call.ctx);
    if (!r) return outcome(r.error());
    net::HttpResponse res = json_response(200, R"({"password_changed":true})");
    res.headers.emplace_back("Set-Cookie", session_cookie({}, true));
    return res;
  }
  auto r = identity.logout(token, call.ctx);
  if (!r) return outcome(r.error());
  net::HttpResponse res = json_response(200, R"({"logged_out":true})");
  res.headers.emplace_back("Set-Cookie", session_cookie({}, true));
  return res;
}

net::HttpResponse Api::Impl::token(Call& call) {
  call.route = "/auth/token";
  const net::HttpRequest& req = call.req;
  auto oauth = [](int status, std::string_view error, std::string_view description) {
    return json_response(status, json{{"error", error}, {"error_description", description}}.dump());
  };
  if (req.method != "POST") return oauth(405, "invalid_request", "use POST");
  auto form = fhir::parse_form(req.body);
  if (!form) return oauth(400, "invalid_request", "the body must be form-encoded");
  access::TokenRequest t;
  for (const auto& [k, v] : *form) {
    if (k == "grant_type")
      t.grant_type = v;
    else if (k == "client_assertion_type")
      t.client_assertion_type = v;
    else if (k == "client_assertion")
      t.client_assertion = v;
    else if (k == "scope")
      t.scope = v;
  }
  auto grant = clients.issue_token(t, call.ctx);
  if (!grant) {
    std::string_view error = access::oauth_error(grant.error());
    return oauth(error == "invalid_client" ? 401 : 400, error, grant.error().message);
  }
  return json_response(200, json{{"access_token", grant->access_token},
                                 {"token_type", "bearer"},
                                 {"expires_in", grant->expires_in},
                                 {"scope", grant->scope}}
                                .dump());
}

net::HttpResponse Api::Impl::smart_configuration(Call& call) {
  call.route = "/.well-known/smart-configuration";
  // SMART App Launch 2.x discovery; only what is implemented: backend services.
  json c = {{"token_endpoint", options.token_endpoint},
            {"token_endpoint_auth_methods_supported", {"private_key_jwt"}},
            {"token_endpoint_auth_signing_alg_values_supported", {"RS384", "ES384"}},
            {"grant_types_supported", {"client_credentials"}},
            {"scopes_supported",
             {"system/Patient.rs", "system/Observation.rs", "system/Observation.c",
              "system/DiagnosticReport.rs", "system/Specimen.rs", "system/ServiceRequest.rs"}},
            {"capabilities", {"client-confidential-asymmetric"}}};
  return json_response(200, c.dump());
}

}  // namespace labvault::api
