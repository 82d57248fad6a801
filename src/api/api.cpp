#include "api/api.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/internal/impl.hpp"
#include "crypto/secret.hpp"
#include "fhir/fhir.hpp"
#include "fhir/search.hpp"

namespace labvault::api {

namespace {

using model::ErrorCode;

// HL7 v3 PurposeOfUse each role acts for unless the request says otherwise.
std::string_view usual_purpose(std::string_view role) {
  if (role == "billing") return "HPAYMT";
  if (role == "release-of-information" || role == "patient") return "PATRQT";
  if (role == "researcher") return "HRESCH";
  if (role == "privacy-officer" || role == "lab-admin") return "HOPERAT";
  return "TREAT";
}

bool is_code(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

}  // namespace

net::HttpResponse json_response(int status, std::string body) {
  return {status, {{"Content-Type", "application/json"}}, std::move(body)};
}

net::HttpResponse fhir_response(int status, std::string body) {
  return {status, {{"Content-Type", "application/fhir+json; charset=utf-8"}}, std::move(body)};
}

net::HttpResponse outcome(int status, std::string_view code, std::string_view diagnostics) {
  nlohmann::json o = {{"resourceType", "OperationOutcome"},
                      {"issue",
                       {{{"severity", status >= 500 ? "fatal" : "error"},
                         {"code", code},
                         {"diagnostics", diagnostics}}}}};
  return fhir_response(status, o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

int status_of(const model::Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kDuplicate:
      return 409;
    case ErrorCode::kInternal:
    case ErrorCode::kIo:
    case ErrorCode::kConfig:
    case ErrorCode::kCrypto:
    case ErrorCode::kKey:
    case ErrorCode::kStorage:
      return 500;
    default:
      return 400;
  }
}

net::HttpResponse outcome(const model::Error& e) {
  const int status = status_of(e);
  // R4 valueset-issue-type codes.
  std::string_view code = status == 404   ? "not-found"
                          : status == 401 ? "login"
                          : status == 403 ? "forbidden"
                          : status == 409 ? "duplicate"
                          : status >= 500 ? "exception"
                                          : "invalid";
  if (status >= 500) return outcome(status, code, "the server could not complete the request");
  // model::Error texts name locations and codes, never values (DESIGN.md invariant 3);
  // OperationOutcome carries json paths in expression.
  if (status == 400) return fhir_response(400, fhir::operation_outcome(std::span(&e, 1)));
  return outcome(status, code, e.message);
}

std::string_view cookie(const net::HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (part.starts_with(name) && part.size() > name.size() && part[name.size()] == '=')
        return part.substr(name.size() + 1);
    }
  }
  return {};
}

std::string csrf_token_of(std::string_view session_token) {
  const std::string digest = crypto::sha256(fmt::format("labvault-csrf:{}", session_token));
  std::string out;
  for (unsigned char c : digest) out += fmt::format("{:02x}", c);
  return out;
}

bool csrf_ok(const net::HttpRequest& req, std::string_view session_token) {
  const std::string expected = csrf_token_of(session_token);
  const std::string_view given = req.header("x-csrf-token");
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;  // constant time: the comparison must not reveal a prefix
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

std::string purpose_of(const net::HttpRequest& req, const Principal& who, store::Id lab) {
  if (std::string_view p = req.header("x-purpose-of-use"); is_code(p, 16)) return std::string(p);
  if (who.client) return "TREAT";
  for (const auto& r : who.requester.roles)
    if (r.lab == lab) return std::string(usual_purpose(r.role));
  return "TREAT";
}

Api::Impl::Impl(store::Store& s, audit::Log& l, access::Identity& i, access::Clients& c,
                access::Access& a, ApiOptions o)
    : store(s),
      log(l),
      identity(i),
      clients(c),
      access(a),
      options(std::move(o)),
      per_principal(options.per_principal) {}

Api::Api(store::Store& store, audit::Log& log, access::Identity& identity, access::Clients& clients,
         access::Access& access, ApiOptions options)
    : impl_(std::make_unique<Impl>(store, log, identity, clients, access, std::move(options))) {}

Api::~Api() = default;

net::Headers Api::security_headers() {
  return {{"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
          {"Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"},
          // Every answer may carry PHI or a credential; nothing is cacheable.
          {"Cache-Control", "no-store"},
          {"Pragma", "no-cache"}};
}

void Api::count_refusal(net::HttpRefusal why) {
  static constexpr std::string_view kNames[] = {"rate-limited", "too-large", "headers-too-large",
                                                "bad-request", "too-many-connections"};
  impl_->metrics.refused(std::string(kNames[static_cast<int>(why)]));
}

net::HttpResponse Api::handle(const net::HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  Call call{request, {request.remote_ip, "https", request.request_id}};
  net::HttpResponse response;
  try {
    response = impl_->route(call);
  } catch (const std::exception&) {
    response = outcome(500, "exception", "the server could not complete the request");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Any token is a method to HTTP: labels and log lines take a fixed set, so nobody can grow
  // the metrics table or write into the log by inventing methods.
  const std::string method = request.method == "GET" || request.method == "POST" ||
                                     request.method == "HEAD" || request.method == "PUT" ||
                                     request.method == "DELETE"
                                 ? request.method
                                 : "OTHER";
  impl_->metrics.observe(call.route, method, response.status, seconds);
  if (impl_->options.access_log)
    impl_->options.access_log(fmt::format("{} {} {} {:.1f}ms rid={}", method, call.route,
                                          response.status, seconds * 1000, request.request_id));
  return response;
}

net::HttpResponse Api::Impl::route(Call& call) {
  const net::HttpRequest& req = call.req;
  const std::string_view path = req.path;
  if (path == "/healthz") {
    call.route = "/healthz";
    auto last = store.last_audit();
    if (!last) return json_response(503, R"({"status":"unavailable"})");
    return json_response(200, R"({"status":"ok"})");
  }
  if (path == "/metrics") {
    call.route = "/metrics";
    std::string body = metrics.render();
    if (options.extra_metrics) body += options.extra_metrics();
    return {200, {{"Content-Type", "text/plain; version=0.0.4"}}, std::move(body)};
  }
  if (path == "/.well-known/smart-configuration") return smart_configuration(call);
  if (path == "/auth/token") return token(call);
  if (path.starts_with("/auth/")) return auth(call, path.substr(6));
  if (path.starts_with("/fhir/")) return fhir(call, path.substr(6));
  return outcome(404, "not-found", "no such endpoint");
}

model::Result<Principal> Api::Impl::authenticate(Call& call) {
  const net::HttpRequest& req = call.req;
  Principal p;
  if (std::string_view auth = req.header("authorization"); !auth.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth.starts_with(kBearer))
      return model::fail(ErrorCode::kUnauthenticated, "Authorization must be a Bearer token");
    auto client = clients.check_token(auth.substr(kBearer.size()), call.ctx);
    if (!client) return std::unexpected(client.error());
    p.requester = access::requester_of(*client);
    p.client = std::move(*client);
    return p;
  }
  std::string_view token = cookie(req, kSessionCookie);
  if (token.empty())
    return model::fail(ErrorCode::kUnauthenticated,
                       "log in first (POST /auth/login) or present a SMART bearer token");
  auto subject = identity.authenticate(token, call.ctx);
  if (!subject) return std::unexpected(subject.error());
  // A cookie rides along with any request a browser makes, including one forged by another
  // site: a state-changing request must also prove it read the login answer.
  if (req.method != "GET" && req.method != "HEAD" && !csrf_ok(req, token))
    return model::fail(ErrorCode::kForbidden, "missing or wrong X-CSRF-Token header");
  auto requester = access.requester(*subject);
  if (!requester) return std::unexpected(requester.error());
  p.requester = std::move(*requester);
  p.user = subject->user;
  p.person = std::move(*subject);
  p.session_token = std::string(token);
  return p;
}

}  // namespace labvault::api
