// The identity half of the Store port: people (with their lab memberships, credentials and
// lockout state), sessions, SMART backend-services clients, their used assertion ids and their
// access tokens. The adapter seals usernames, contact details, password hashes and TOTP secrets
// under the system tenant's data key (lab 0) and finds a user by a blind index of the username.
// Invariant: tokens and recovery codes arrive here already hashed; the store never sees them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::store {

using Id = std::int64_t;

struct Membership {
  Id lab = 0;
  std::string role;        // e.g. "ordering-provider", "lab-admin" (the access module's vocabulary)
  std::string department;  // e.g. "ED", "ICU": for policies that match a department; may be empty
  bool operator==(const Membership&) const = default;
};

// A person. Everything but the ids, counters and times is sealed at rest.
struct UserRecord {
  Id id = 0;
  std::string username;  // normalized by the caller (the blind index is over these bytes)
  std::string display_name, email, phone;
  std::string password_hash;         // Argon2id PHC string
  std::string totp_secret;           // raw secret bytes; empty until enrollment begins
  bool totp_confirmed = false;       // enrollment finished with a valid code
  std::int64_t totp_last_step = 0;   // the last TOTP time step accepted (replay guard)
  bool system_admin = false;         // manages labs and lab admins; reads no PHI as such
  int failed_logins = 0;             // consecutive
  std::int64_t locked_until_us = 0;  // 0: not locked by failures
  bool admin_locked = false;         // locked by an administrator until unlocked
  std::int64_t password_changed_us = 0;
  std::int64_t created_us = 0;
  std::vector<Membership> memberships;  // by lab id
};

// What update_user changes; unset members stay as they are.
struct UserChanges {
  std::optional<std::string> password_hash;
  std::optional<std::string> totp_secret;  // "" clears it (MFA reset)
  std::optional<bool> totp_confirmed;
  std::optional<std::int64_t> totp_last_step;
  std::optional<bool> admin_locked;
  std::optional<bool> system_admin;
  std::optional<int> failed_logins;
  std::optional<std::int64_t> locked_until_us;
  std::optional<std::int64_t> password_changed_us;
};

struct SessionRecord {
  std::string token_hash;  // SHA-256 of the token; the token exists only in the client
  Id user = 0;
  std::int64_t created_us = 0, last_seen_us = 0;
  std::int64_t reauth_us = 0;  // last password + TOTP proof (login counts as one)
  bool mfa_done = false;       // false: the session may only enroll MFA
  std::int64_t ended_us = 0;   // 0 while open
  std::string end_reason;      // "logout", "idle", "absolute", "password-change", "locked", ...
};

struct ClientRecord {
  Id id = 0;
  std::string client_id;    // registered id, clear (a system's name, not PHI)
  Id lab = 0;               // the one lab its tokens are bound to
  std::string name;         // clear: e.g. "Hospital EHR"
  std::string public_keys;  // PEM or JWKS as registered (public keys only)
  std::string scopes;       // space-separated SMART v2 scopes it may be granted
  std::int64_t created_us = 0, revoked_us = 0;
};

struct AccessTokenRecord {
  std::string token_hash;  // SHA-256 of the opaque token
  Id client = 0;           // ClientRecord::id
  Id lab = 0;
  std::string scopes;  // granted
  std::int64_t issued_us = 0, expires_us = 0;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // People. kDuplicate when the username is taken.
  [[nodiscard]] virtual model::Result<Id> create_user(const UserRecord& user) = 0;
  [[nodiscard]] virtual model::Result<std::optional<UserRecord>> find_user(
      std::string_view username) = 0;
  [[nodiscard]] virtual model::Result<UserRecord> read_user(Id user) = 0;  // kNotFound
  // All users, or the members of `lab`.
  [[nodiscard]] virtual model::Result<std::vector<UserRecord>> list_users(
      std::optional<Id> lab) = 0;
  [[nodiscard]] virtual model::Result<void> update_user(Id user, const UserChanges& changes) = 0;
  // Adds or changes the user's role (and department) in a lab; an empty role removes it.
  [[nodiscard]] virtual model::Result<void> set_membership(Id user, Id lab, std::string_view role,
                                                           std::string_view department) = 0;
  // Counts one failed login atomically; at `max_failures` consecutive failures the account is
  // locked until `lock_until_us`. A lock that ran out before `now_us` starts the count afresh.
  // Returns the count after this failure, or 0 when the account is locked (not counted).
  [[nodiscard]] virtual model::Result<int> count_failed_login(Id user, int max_failures,
                                                              std::int64_t lock_until_us,
                                                              std::int64_t now_us) = 0;
  // Clears the failure count, atomically with checking that the account is not locked at
  // `now_us` (false when it is: a concurrent failure may just have locked it).
  [[nodiscard]] virtual model::Result<bool> count_successful_login(Id user,
                                                                   std::int64_t now_us) = 0;
  // Accepts a TOTP time step only if it is later than the last accepted one (atomic).
  [[nodiscard]] virtual model::Result<bool> accept_totp_step(Id user, std::int64_t step) = 0;
  // Replaces the user's recovery codes (hashes); consumes one atomically (false: unknown/used).
  [[nodiscard]] virtual model::Result<void> replace_recovery_codes(
      Id user, const std::vector<std::string>& hashes) = 0;
  [[nodiscard]] virtual model::Result<bool> use_recovery_code(Id user, std::string_view hash,
                                                              std::int64_t now_us) = 0;

  // Sessions.
  [[nodiscard]] virtual model::Result<void> create_session(const SessionRecord& session) = 0;
  [[nodiscard]] virtual model::Result<std::optional<SessionRecord>> find_session(
      std::string_view token_hash) = 0;
  [[nodiscard]] virtual model::Result<void> update_session(const SessionRecord& session) = 0;
  // Ends every open session of a user (password change, lock); returns how many.
  [[nodiscard]] virtual model::Result<int> end_user_sessions(Id user, std::string_view reason,
                                                             std::int64_t now_us) = 0;

  // SMART backend-services clients. kDuplicate when client_id is taken.
  [[nodiscard]] virtual model::Result<Id> create_client(const ClientRecord& client) = 0;
  [[nodiscard]] virtual model::Result<std::optional<ClientRecord>> find_client(
      std::string_view client_id) = 0;
  [[nodiscard]] virtual model::Result<std::vector<ClientRecord>> list_clients(
      std::optional<Id> lab) = 0;
  [[nodiscard]] virtual model::Result<void> revoke_client(Id client, std::int64_t now_us) = 0;
  // Records an assertion's jti until it expires; false when it was already used (replay).
  // Expired entries are dropped on the way.
  [[nodiscard]] virtual model::Result<bool> use_assertion_id(Id client, std::string_view jti_hash,
                                                             std::int64_t expires_us,
                                                             std::int64_t now_us) = 0;
  [[nodiscard]] virtual model::Result<void> create_access_token(const AccessTokenRecord& t) = 0;
  [[nodiscard]] virtual model::Result<std::optional<AccessTokenRecord>> find_access_token(
      std::string_view token_hash) = 0;
};

}  // namespace labvault::store
