// Systems (EHRs, portals, billing, subscribers): SMART on FHIR Backend Services. A client is
// registered with its public keys and the SMART v2 scopes it may hold, bound to one lab; it
// trades a signed assertion (private_key_jwt, RS384/ES384) for an opaque access token that lives
// at most five minutes. Issue and every rejection are audited; only token hashes are stored.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "access/identity.hpp"

namespace labvault::access {

struct ClientOptions {
  std::string token_endpoint;  // the assertion's required "aud", e.g. https://host/auth/token
  std::chrono::seconds token_lifetime{300};
  store::Clock clock = store::system_now_us;
};

struct ClientRegistration {
  std::string client_id;  // letters, digits, . _ - (an id, not PHI)
  store::Id lab = 0;
  std::string name;
  std::string public_keys;  // PEM or JWKS, public keys only
  std::string scopes;       // space-separated SMART v2 system scopes, e.g. system/Observation.rs
};

// The token request of RFC 6749 4.4 with RFC 7523 client authentication.
struct TokenRequest {
  std::string grant_type;             // "client_credentials"
  std::string client_assertion_type;  // urn:ietf:params:oauth:client-assertion-type:jwt-bearer
  std::string client_assertion;
  std::string scope;
};

struct TokenGrant {
  std::string access_token;
  std::int64_t expires_in = 0;  // seconds
  std::string scope;            // what was granted (may be less than asked)
};

// A system as a request sees it, after its bearer token was checked.
struct ClientPrincipal {
  store::Id id = 0;
  std::string client_id;
  store::Id lab = 0;
  std::vector<std::string> scopes;
  [[nodiscard]] std::string actor() const { return "client:" + client_id; }
  // SMART v2: does a scope grant `permission` (one of c r u d s) on `resource_type`?
  [[nodiscard]] bool allows(std::string_view resource_type, char permission) const;
};

// Parses "system/Observation.rs ..." into its scopes; kUsage names the first bad one.
[[nodiscard]] model::Result<std::vector<std::string>> parse_system_scopes(std::string_view text);
// The OAuth 2.0 error code (RFC 6749 5.2) for an issue_token error.
[[nodiscard]] std::string_view oauth_error(const model::Error& e);

class Clients {
 public:
  Clients(store::Store& store, audit::Log& log, Identity& identity, ClientOptions options);

  // Registration by a system admin or the lab's admin (after re-authentication).
  [[nodiscard]] model::Result<store::Id> add(const Subject& admin, const ClientRegistration& c,
                                             const RequestContext& ctx);
  [[nodiscard]] model::Result<std::vector<store::ClientRecord>> list(const Subject& admin,
                                                                     std::optional<store::Id> lab,
                                                                     const RequestContext& ctx);
  // Revoked clients get no tokens, and their live tokens stop working.
  [[nodiscard]] model::Result<void> revoke(const Subject& admin, std::string_view client_id,
                                           const RequestContext& ctx);

  // The token endpoint. Errors: kUsage (invalid_request / unsupported_grant_type),
  // kUnauthenticated (invalid_client), kForbidden (invalid_scope); see oauth_error().
  [[nodiscard]] model::Result<TokenGrant> issue_token(const TokenRequest& request,
                                                      const RequestContext& ctx);
  // A bearer token presented to the API.
  [[nodiscard]] model::Result<ClientPrincipal> check_token(std::string_view token,
                                                           const RequestContext& ctx);

 private:
  [[nodiscard]] model::Result<void> reject(std::string actor, store::Id lab, std::string detail,
                                           const RequestContext& ctx);
  [[nodiscard]] model::Result<store::ClientRecord> managed_client(const Subject& admin,
                                                                  std::string_view client_id);

  store::Store& store_;
  audit::Log& log_;
  Identity& identity_;
  ClientOptions options_;
};

}  // namespace labvault::access
