// SMART Backend Services: client registration, the client_credentials token endpoint with
// private_key_jwt assertions (jti replay refused through the store), and bearer token checks.
#include "access/clients.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "access/jwt.hpp"
#include "access/roles.hpp"
#include "crypto/secret.hpp"

namespace labvault::access {

using model::ErrorCode;

namespace {

constexpr std::int64_t kUs = 1'000'000;
constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// What this server holds; "*" stands for all of them (SMART v2 scopes).
constexpr std::array<std::string_view, 6> kScopeTypes = {
    "Patient", "Observation", "DiagnosticReport", "Specimen", "ServiceRequest", "*"};

struct Scope {
  std::string_view type, permissions;  // permissions: a subsequence of "cruds"
};

std::optional<Scope> split_scope(std::string_view s) {
  if (!s.starts_with("system/")) return std::nullopt;
  s.remove_prefix(7);
  auto dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Scope out{s.substr(0, dot), s.substr(dot + 1)};
  if (std::find(kScopeTypes.begin(), kScopeTypes.end(), out.type) == kScopeTypes.end()) {
    return std::nullopt;
  }
  // SMART v2 3.0: permissions are letters of "cruds" in that order, each at most once.
  std::string_view order = "cruds";
  std::size_t at = 0;
  for (char c : out.permissions) {
    auto p = order.find(c, at);
    if (p == std::string_view::npos) return std::nullopt;
    at = p + 1;
  }
  if (out.permissions.empty()) return std::nullopt;
  return out;
}

// Does `have` cover `want` (same or wildcard type, every permission)?
bool covers(const Scope& have, const Scope& want) {
  if (have.type != "*" && have.type != want.type) return false;
  return std::all_of(want.permissions.begin(), want.permissions.end(),
                     [&](char c) { return have.permissions.find(c) != std::string_view::npos; });
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    auto end = text.find(' ');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end);
  }
  return out;
}

bool valid_client_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

model::Result<std::vector<std::string>> parse_system_scopes(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view w : words(text)) {
    if (!split_scope(w)) {
      return model::fail(ErrorCode::kUsage,
                         fmt::format("scope '{}' is not a SMART v2 system scope such as "
                                     "system/Observation.rs",
                                     w.substr(0, 80)));
    }
    out.emplace_back(w);
  }
  if (out.empty()) return model::fail(ErrorCode::kUsage, "no scope given");
  return out;
}

std::string_view oauth_error(const model::Error& e) {
  switch (e.code) {
    case ErrorCode::kUnauthenticated:
      return "invalid_client";
    case ErrorCode::kForbidden:
      return "invalid_scope";
    case ErrorCode::kUsage:
      return e.message.find("grant_type") != std::string::npos ? "unsupported_grant_type"
                                                               : "invalid_request";
    default:
      return "server_error";
  }
}

bool ClientPrincipal::allows(std::string_view resource_type, char permission) const {
  for (const std::string& s : scopes) {
    auto have = split_scope(s);
    if (have && (have->type == "*" || have->type == resource_type) &&
        have->permissions.find(permission) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

Clients::Clients(store::Store& store, audit::Log& log, Identity& identity, ClientOptions options)
    : store_(store), log_(log), identity_(identity), options_(std::move(options)) {}

namespace {

audit::Event client_event(std::string actor, audit::Action action, audit::Outcome outcome,
                          std::string detail, store::Id lab, const RequestContext& ctx) {
  audit::Event e = request_event(std::move(actor), action, lab, ctx);
  e.outcome = outcome;
  e.outcome_detail = std::move(detail);
  return e;
}

}  // namespace

model::Result<store::Id> Clients::add(const Subject& admin, const ClientRegistration& c,
                                      const RequestContext& ctx) {
  if (auto r = identity_.require_admin_of(admin, c.lab); !r) return std::unexpected(r.error());
  if (!valid_client_id(c.client_id)) {
    return model::fail(ErrorCode::kUsage, "a client id is 1 to 64 letters, digits and . _ -");
  }
  auto keys = parse_public_keys(c.public_keys);
  if (!keys) return std::unexpected(keys.error());
  auto scopes = parse_system_scopes(c.scopes);
  if (!scopes) return std::unexpected(scopes.error());
  store::ClientRecord record;
  record.client_id = c.client_id;
  record.lab = c.lab;
  record.name = c.name;
  record.public_keys = c.public_keys;
  record.scopes = fmt::format("{}", fmt::join(*scopes, " "));
  auto id = store_.create_client(record);
  if (!id) return std::unexpected(id.error());
  audit::Event e = client_event(admin.actor(), audit::Action::kUserAdmin, audit::Outcome::kSuccess,
                                "client-registered", c.lab, ctx);
  e.resource = "Client/" + c.client_id;
  if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  return *id;
}

model::Result<store::ClientRecord> Clients::managed_client(const Subject& admin,
                                                           std::string_view client_id) {
  auto found = store_.find_client(client_id);
  if (!found) return std::unexpected(found.error());
  // Another lab's client looks like no client at all.
  auto role = *found ? admin.role_in((*found)->lab) : std::nullopt;
  if (!*found || (!admin.system_admin && (!role || *role != kLabAdmin))) {
    return model::fail(ErrorCode::kNotFound, "no such client in your labs");
  }
  if (auto r = identity_.require_admin_of(admin, (*found)->lab); !r) {
    return std::unexpected(r.error());
  }
  return std::move(**found);
}

model::Result<std::vector<store::ClientRecord>> Clients::list(const Subject& admin,
                                                              std::optional<store::Id> lab,
                                                              const RequestContext& ctx) {
  if (auto r = identity_.require_recent_reauth(admin); !r) return std::unexpected(r.error());
  if (!admin.system_admin) {
    if (!lab) return model::fail(ErrorCode::kUsage, "name the lab (--lab) whose clients to list");
    if (auto r = identity_.require_admin_of(admin, *lab); !r) return std::unexpected(r.error());
  }
  auto clients = store_.list_clients(lab);
  if (!clients) return std::unexpected(clients.error());
  audit::Event e = client_event(admin.actor(), audit::Action::kSearch, audit::Outcome::kSuccess,
                                "client-list", lab.value_or(0), ctx);
  e.resource = "Client";
  if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  return clients;
}

model::Result<void> Clients::revoke(const Subject& admin, std::string_view client_id,
                                    const RequestContext& ctx) {
  auto client = managed_client(admin, client_id);
  if (!client) return std::unexpected(client.error());
  if (auto r = store_.revoke_client(client->id, options_.clock()); !r) return r;
  audit::Event e = client_event(admin.actor(), audit::Action::kUserAdmin, audit::Outcome::kSuccess,
                                "client-revoked", client->lab, ctx);
  e.resource = "Client/" + client->client_id;
  auto r = log_.record(e);
  if (!r) return std::unexpected(r.error());
  return {};
}

model::Result<void> Clients::reject(std::string actor, store::Id lab, std::string detail,
                                    const RequestContext& ctx) {
  auto r = log_.record(client_event(std::move(actor), audit::Action::kTokenReject,
                                    audit::Outcome::kDenied, std::move(detail), lab, ctx));
  if (!r) return std::unexpected(r.error());
  return {};
}

model::Result<TokenGrant> Clients::issue_token(const TokenRequest& req, const RequestContext& ctx) {
  // Fail closed: an error that cannot be audited is returned as that error instead.
  auto refuse = [&](std::string actor, store::Id lab, std::string detail,
                    model::Error error) -> model::Result<TokenGrant> {
    if (auto r = reject(std::move(actor), lab, std::move(detail), ctx); !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(std::move(error));
  };
  if (req.grant_type != "client_credentials") {
    return refuse("anonymous", 0, "unsupported-grant-type",
                  {ErrorCode::kUsage, "grant_type must be client_credentials", {}});
  }
  if (req.client_assertion_type != kJwtBearer || req.client_assertion.empty()) {
    return refuse(
        "anonymous", 0, "no-client-assertion",
        {ErrorCode::kUsage,
         fmt::format("client_assertion_type must be {} with a client_assertion", kJwtBearer),
         {}});
  }
  const model::Error invalid_client{
      ErrorCode::kUnauthenticated, "the client assertion is not acceptable", {}};
  auto jwt = decode_jwt(req.client_assertion);
  if (!jwt) return refuse("anonymous", 0, "malformed-assertion", invalid_client);
  auto found = jwt->iss ? store_.find_client(*jwt->iss)
                        : model::Result<std::optional<store::ClientRecord>>(std::nullopt);
  if (!found) return std::unexpected(found.error());
  if (!*found) return refuse("anonymous", 0, "unknown-client", invalid_client);
  const store::ClientRecord client = std::move(**found);
  const std::string actor = "client:" + client.client_id;
  if (client.revoked_us != 0) return refuse(actor, client.lab, "client-revoked", invalid_client);
  auto keys = parse_public_keys(client.public_keys);
  if (!keys) return std::unexpected(keys.error());
  const std::int64_t now = options_.clock();
  auto verified =
      verify_client_assertion(*jwt, *keys, client.client_id, options_.token_endpoint, now / kUs);
  if (!verified) {
    // Which check failed goes to the audit record and, as error_description, to the client
    // (it names a claim or the signature, never a value).
    return refuse(actor, client.lab,
                  "bad-assertion-" + audit::detail_code(verified.error().message),
                  verified.error());
  }
  auto fresh = store_.use_assertion_id(client.id, crypto::sha256(*jwt->jti), *jwt->exp * kUs, now);
  if (!fresh) return std::unexpected(fresh.error());
  if (!*fresh) {
    return refuse(
        actor, client.lab, "assertion-replayed",
        {ErrorCode::kUnauthenticated, "this client assertion (jti) was already used", {}});
  }
  // Grant what was asked and is covered by the registration (all of it when nothing was asked).
  std::vector<std::string> granted;
  std::vector<std::string_view> registered = words(client.scopes);
  std::vector<std::string_view> asked = req.scope.empty() ? registered : words(req.scope);
  for (std::string_view want : asked) {
    auto w = split_scope(want);
    if (!w) continue;
    for (std::string_view have : registered) {
      auto h = split_scope(have);
      if (h && covers(*h, *w)) {
        granted.emplace_back(want);
        break;
      }
    }
  }
  if (granted.empty()) {
    return refuse(
        actor, client.lab, "invalid-scope",
        {ErrorCode::kForbidden, "none of the requested scopes is granted to this client", {}});
  }
  auto token = new_token();
  if (!token) return std::unexpected(token.error());
  store::AccessTokenRecord t;
  t.token_hash = token_hash(*token);
  t.client = client.id;
  t.lab = client.lab;
  t.scopes = fmt::format("{}", fmt::join(granted, " "));
  t.issued_us = now;
  t.expires_us = now + options_.token_lifetime.count() * kUs;
  if (auto r = store_.create_access_token(t); !r) return std::unexpected(r.error());
  auto issued =
      log_.record(client_event(actor, audit::Action::kTokenIssue, audit::Outcome::kSuccess,
                               "client-credentials", client.lab, ctx));
  if (!issued) return std::unexpected(issued.error());  // the token exists unseen: harmless
  return TokenGrant{std::move(*token), options_.token_lifetime.count(), t.scopes};
}

model::Result<ClientPrincipal> Clients::check_token(std::string_view token,
                                                    const RequestContext& ctx) {
  const model::Error invalid{
      ErrorCode::kUnauthenticated, "the access token is not valid or has expired", {}};
  auto found = store_.find_access_token(token_hash(token));
  if (!found) return std::unexpected(found.error());
  if (!*found) {
    if (auto r = reject("anonymous", 0, "unknown-token", ctx); !r)
      return std::unexpected(r.error());
    return std::unexpected(invalid);
  }
  const store::AccessTokenRecord t = std::move(**found);
  auto clients = store_.list_clients(t.lab);
  if (!clients) return std::unexpected(clients.error());
  auto client = std::find_if(clients->begin(), clients->end(),
                             [&](const store::ClientRecord& c) { return c.id == t.client; });
  if (client == clients->end() || client->revoked_us != 0 || t.expires_us <= options_.clock()) {
    std::string actor = client == clients->end() ? "anonymous" : "client:" + client->client_id;
    if (auto r = reject(actor, t.lab, "expired-token", ctx); !r) return std::unexpected(r.error());
    return std::unexpected(invalid);
  }
  std::vector<std::string> scopes;
  for (std::string_view s : words(t.scopes)) scopes.emplace_back(s);
  return ClientPrincipal{client->id, client->client_id, t.lab, std::move(scopes)};
}

}  // namespace labvault::access
