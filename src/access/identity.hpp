// Identity for people: accounts per lab, Argon2id passwords, mandatory TOTP with recovery codes,
// lockout, and short server-side sessions (DESIGN.md invariant 9). Every login, failure, lockout,
// enrollment, logout, timeout and administrative change is an audit record written before the
// result is returned (fail closed); no password, token or code is in any record or error.
// Invariant: a session reaches PHI only through authenticate(), which refuses a session that has
// not finished MFA, has been idle 15 minutes, is 12 hours old, or whose account is locked.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/password.hpp"
#include "store/store.hpp"

namespace labvault::access {

struct IdentityOptions {
  int max_failed_logins = 5;
  std::chrono::seconds lockout{15 * 60};
  std::chrono::seconds idle_timeout{15 * 60};
  std::chrono::seconds absolute_timeout{12 * 3600};
  std::chrono::seconds reauth_window{5 * 60};
  std::string totp_issuer = "labvault";  // shown by authenticator apps
  int recovery_codes = 10;
  crypto::PasswordParams password_params;  // OWASP defaults; tests may lower the cost
  store::Clock clock = store::system_now_us;
};

// Where a request came from, for the audit record.
struct RequestContext {
  std::string source_ip;
  std::string listener;  // "https", "cli"
  std::string request_id;
};

// An audit event of `actor` with the request's origin filled in.
[[nodiscard]] audit::Event request_event(std::string actor, audit::Action action, store::Id lab,
                                         const RequestContext& ctx);

struct LoginResult {
  std::string token;  // 256-bit, base64url; only its hash is stored
  store::Id user = 0;
  bool mfa_enrollment_required = false;  // the session may only enroll MFA
};

// An authenticated person, as a request sees them.
struct Subject {
  store::Id user = 0;
  bool system_admin = false;
  std::vector<store::Membership> memberships;
  std::int64_t reauth_us = 0;  // last password + code proof
  [[nodiscard]] std::string actor() const { return "user:" + std::to_string(user); }
  [[nodiscard]] std::optional<std::string> role_in(store::Id lab) const;
};

struct MfaEnrollment {
  std::string otpauth_uri;  // for a QR code; holds the secret: show once, never log
  std::string secret_base32;
};

struct NewUser {
  std::string username;  // letters, digits, . _ - @; compared case-insensitively
  std::string display_name, email, phone;
  bool system_admin = false;
  std::vector<store::Membership> memberships;
};

struct UserSummary {  // what an administrator sees: no credentials
  store::Id id = 0;
  std::string username, display_name, email, phone;
  bool system_admin = false, mfa_enrolled = false, locked = false;
  std::vector<store::Membership> memberships;
};

class Identity {
 public:
  Identity(store::Store& store, audit::Log& log, const crypto::BlindIndexer& indexer,
           IdentityOptions options = {});

  // Password, then the TOTP code (or a recovery code) once MFA is enrolled. Every failure is
  // the same kUnauthenticated error, whether the username exists, the account is locked or the
  // code is wrong; the audit record says which. Five consecutive failures lock the account.
  [[nodiscard]] model::Result<LoginResult> login(std::string_view username,
                                                 std::string_view password, std::string_view code,
                                                 const RequestContext& ctx);
  // The session's person if it is open, MFA-complete and not idle or expired; touches it.
  [[nodiscard]] model::Result<Subject> authenticate(std::string_view token,
                                                    const RequestContext& ctx);
  // Enrollment for a session that logged in without MFA: a new secret, then a code from it.
  [[nodiscard]] model::Result<MfaEnrollment> begin_mfa_enrollment(std::string_view token,
                                                                  const RequestContext& ctx);
  // Returns the single-use recovery codes (shown once); the session becomes MFA-complete.
  [[nodiscard]] model::Result<std::vector<std::string>> finish_mfa_enrollment(
      std::string_view token, std::string_view code, const RequestContext& ctx);
  // Password + code again, for sensitive operations (unmask, break-glass, export, admin).
  [[nodiscard]] model::Result<void> reauthenticate(std::string_view token,
                                                   std::string_view password, std::string_view code,
                                                   const RequestContext& ctx);
  // kForbidden unless the subject re-authenticated within the reauth window.
  [[nodiscard]] model::Result<void> require_recent_reauth(const Subject& subject) const;
  [[nodiscard]] model::Result<void> logout(std::string_view token, const RequestContext& ctx);
  // Ends every session of the person, this one included.
  [[nodiscard]] model::Result<void> change_password(std::string_view token,
                                                    std::string_view old_password,
                                                    std::string_view new_password,
                                                    const RequestContext& ctx);

  // Administration. `admin` must have re-authenticated recently. A system admin manages anyone;
  // a lab admin manages only people whose every lab is one they administer, and assigns roles
  // in their labs except lab-admin. Returns the new person's id and one-time password.
  struct Created {
    store::Id id = 0;
    std::string initial_password;  // random, shown once; the person changes it
  };
  [[nodiscard]] model::Result<Created> add_user(const Subject& admin, const NewUser& user,
                                                const RequestContext& ctx);
  // The first system administrator of an installation, by the operator holding the keyring;
  // refused once any system administrator exists.
  [[nodiscard]] model::Result<Created> bootstrap_admin(const NewUser& user, std::string_view actor,
                                                       const RequestContext& ctx);
  // Anyone, without an administrator: for whoever holds the keyring (bootstrap_admin, the demo
  // of `init --demo`); never reachable from a request.
  [[nodiscard]] model::Result<Created> create_by_operator(const NewUser& user,
                                                          std::string_view actor,
                                                          const RequestContext& ctx);
  [[nodiscard]] model::Result<std::vector<UserSummary>> list_users(const Subject& admin,
                                                                   std::optional<store::Id> lab,
                                                                   const RequestContext& ctx);
  [[nodiscard]] model::Result<void> lock(const Subject& admin, std::string_view username,
                                         const RequestContext& ctx);
  [[nodiscard]] model::Result<void> unlock(const Subject& admin, std::string_view username,
                                           const RequestContext& ctx);
  [[nodiscard]] model::Result<void> reset_mfa(const Subject& admin, std::string_view username,
                                              const RequestContext& ctx);
  // An empty role removes the person from the lab.
  [[nodiscard]] model::Result<void> set_role(const Subject& admin, std::string_view username,
                                             store::Id lab, std::string_view role,
                                             const RequestContext& ctx,
                                             std::string_view department = {});

  // A person's roles as the policy sees them, without a session (for `access explain` and
  // care-team assignment); kNotFound for no such person.
  [[nodiscard]] model::Result<Subject> subject_of(std::string_view username);
  [[nodiscard]] static std::string normalize_username(std::string_view username);
  // kForbidden unless `admin` is a system admin (and re-authenticated): labs and their admins.
  [[nodiscard]] model::Result<void> require_system_admin(const Subject& admin) const;
  // kForbidden unless `admin` is a system admin or lab admin of `lab` (and re-authenticated).
  [[nodiscard]] model::Result<void> require_admin_of(const Subject& admin, store::Id lab) const;

 private:
  [[nodiscard]] std::int64_t now_us() const { return options_.clock(); }
  [[nodiscard]] model::Result<store::UserRecord> check_credentials(
      std::string_view username, std::string_view password, std::string_view code,
      const RequestContext& ctx, std::string_view purpose, bool with_code = true);
  [[nodiscard]] model::Result<std::string> verify_code(const store::UserRecord& user,
                                                       std::string_view code, bool allow_recovery,
                                                       const RequestContext& ctx);
  [[nodiscard]] model::Result<void> count_failure(const store::UserRecord& user,
                                                  audit::Action action, std::string detail,
                                                  const RequestContext& ctx);
  // The open session; its person's record in `*person` when asked (read for the lock check
  // anyway, so callers need not read it again).
  [[nodiscard]] model::Result<store::SessionRecord> open_session(
      std::string_view token, const RequestContext& ctx, store::UserRecord* person = nullptr);
  [[nodiscard]] model::Result<void> record(audit::Event event, const RequestContext& ctx);
  [[nodiscard]] model::Result<store::UserRecord> managed_user(const Subject& admin,
                                                              std::string_view username);

  store::Store& store_;
  audit::Log& log_;
  const crypto::BlindIndexer& indexer_;
  IdentityOptions options_;
  std::string dummy_hash_;  // verified against when the username is unknown (same timing)
};

// SHA-256 of a bearer token, the form in which sessions and access tokens are stored.
[[nodiscard]] std::string token_hash(std::string_view token);
// A new 256-bit bearer token, base64url without padding.
[[nodiscard]] model::Result<std::string> new_token();

}  // namespace labvault::access
