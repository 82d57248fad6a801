// People: login with lockout, MFA enrollment, sessions, re-authentication, password change.
// Administration of people is in identity_admin.cpp.
#include "access/identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "access/password_policy.hpp"
#include "crypto/secret.hpp"
#include "crypto/totp.hpp"

namespace labvault::access {

using model::ErrorCode;

namespace {

constexpr std::int64_t kUs = 1'000'000;

// One answer for every failed login, so that it reveals nothing (OWASP Authentication Cheat
// Sheet: "Authentication and Error Messages").
model::Error login_failed() {
  return {ErrorCode::kUnauthenticated, "the username, password or code is not right", {}};
}
model::Error session_ended() {
  return {ErrorCode::kUnauthenticated, "the session has ended; log in again", {}};
}

bool locked(const store::UserRecord& u, std::int64_t now) {
  return u.admin_locked || u.locked_until_us > now;
}

std::string normalize_code(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace

std::optional<std::string> Subject::role_in(store::Id lab) const {
  for (const store::Membership& m : memberships) {
    if (m.lab == lab) return m.role;
  }
  return std::nullopt;
}

std::string token_hash(std::string_view token) { return crypto::sha256(token); }

audit::Event request_event(std::string actor, audit::Action action, store::Id lab,
                           const RequestContext& ctx) {
  audit::Event e;
  e.actor = std::move(actor);
  e.action = action;
  e.lab = lab;
  e.source_ip = ctx.source_ip;
  e.listener = ctx.listener;
  e.request_id = ctx.request_id;
  return e;
}

model::Result<std::string> new_token() { return crypto::random_hex(32); }

Identity::Identity(store::Store& store, audit::Log& log, const crypto::BlindIndexer& indexer,
                   IdentityOptions options)
    : store_(store), log_(log), indexer_(indexer), options_(std::move(options)) {
  // A hash of a random password with the same parameters: verifying against it costs what a
  // real verification costs.
  auto random = crypto::random_hex(16);
  auto hash = crypto::hash_password(random ? *random : "unused", options_.password_params);
  if (hash) dummy_hash_ = std::move(*hash);
}

std::string Identity::normalize_username(std::string_view username) {
  std::string out;
  for (char c : username)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

model::Result<void> Identity::record(audit::Event e, const RequestContext& ctx) {
  e.source_ip = ctx.source_ip;
  e.listener = ctx.listener;
  e.request_id = ctx.request_id;
  auto r = log_.record(e);
  if (!r) return std::unexpected(r.error());
  return {};
}

namespace {

audit::Event event(std::string actor, audit::Action action, audit::Outcome outcome,
                   std::string detail, store::Id user = 0) {
  audit::Event e;
  e.actor = std::move(actor);
  e.action = action;
  e.outcome = outcome;
  e.outcome_detail = std::move(detail);
  if (user) e.resource = fmt::format("User/{}", user);
  return e;
}

std::string user_actor(store::Id id) { return fmt::format("user:{}", id); }

}  // namespace

// "" when the code is right: a TOTP code within one step of now and later than the last one
// accepted, or (when allowed) an unused recovery code; else the failure's audit detail.
model::Result<std::string> Identity::verify_code(const store::UserRecord& user,
                                                 std::string_view code, bool allow_recovery,
                                                 const RequestContext& ctx) {
  const std::int64_t now = now_us();
  crypto::SecretBytes secret(std::span(
      reinterpret_cast<const std::uint8_t*>(user.totp_secret.data()), user.totp_secret.size()));
  std::string normalized = normalize_code(code);  // "123 456" is a code too
  auto step = crypto::verify_totp(secret, normalized, now / kUs);
  if (!step) return std::unexpected(step.error());
  if (*step) {
    auto fresh = store_.accept_totp_step(user.id, **step);
    if (!fresh) return std::unexpected(fresh.error());
    return *fresh ? "" : "totp-replayed";
  }
  if (!allow_recovery || normalized.size() <= static_cast<std::size_t>(crypto::kTotpDigits)) {
    return "bad-code";
  }
  auto used = store_.use_recovery_code(
      user.id, indexer_.index("recovery-code", static_cast<std::uint64_t>(user.id), normalized),
      now);
  if (!used) return std::unexpected(used.error());
  if (!*used) return "bad-code";
  if (auto r = record(event(user_actor(user.id), audit::Action::kLogin, audit::Outcome::kSuccess,
                            "recovery-code-used", user.id),
                      ctx);
      !r) {
    return std::unexpected(r.error());
  }
  return "";
}

// Counts a failure, records it, and locks the account (ending its sessions) at the limit.
model::Result<void> Identity::count_failure(const store::UserRecord& user, audit::Action action,
                                            std::string detail, const RequestContext& ctx) {
  const std::int64_t now = now_us();
  const std::int64_t lock_until = now + options_.lockout.count() * kUs;
  auto count = store_.count_failed_login(user.id, options_.max_failed_logins, lock_until, now);
  if (!count) return std::unexpected(count.error());
  const std::string actor = user_actor(user.id);
  if (*count == 0) detail += "-while-locked";  // a concurrent failure locked it meanwhile
  if (auto r =
          record(event(actor, action, audit::Outcome::kDenied, std::move(detail), user.id), ctx);
      !r) {
    return r;
  }
  // Once locked, failures are not counted: only the failure that locks reaches the limit.
  if (*count < options_.max_failed_logins) return {};
  auto ended = store_.end_user_sessions(user.id, "locked", now);
  if (!ended) return std::unexpected(ended.error());
  return record(event(actor, audit::Action::kLockout, audit::Outcome::kSuccess,
                      fmt::format("locked-after-{}-failures", *count), user.id),
                ctx);
}

// Verifies the password (always exactly once, whatever happens, for even timing), then the code
// when the person has MFA; counts failures and locks at the limit. The person on success.
model::Result<store::UserRecord> Identity::check_credentials(
    std::string_view username, std::string_view password, std::string_view code,
    const RequestContext& ctx, std::string_view purpose, bool with_code) {
  using audit::Action;
  using audit::Outcome;
  const std::int64_t now = now_us();
  // An over-long password is just a wrong one (the same work and answer for every username);
  // the empty password can never match, since no password under 12 characters is ever set.
  if (password.size() > crypto::kMaxPasswordBytes) password = {};
  auto found = store_.find_user(normalize_username(username));
  if (!found) return std::unexpected(found.error());
  if (!*found) {
    (void)crypto::verify_password(password, dummy_hash_);
    if (auto r =
            record(event("anonymous", Action::kLoginFailed, Outcome::kDenied, "unknown-user"), ctx);
        !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(login_failed());
  }
  store::UserRecord user = std::move(**found);
  auto password_ok = crypto::verify_password(password, user.password_hash);
  if (!password_ok) return std::unexpected(password_ok.error());
  auto detail = [&](std::string_view what) {
    return purpose.empty() ? std::string(what) : fmt::format("{}-{}", purpose, what);
  };
  if (locked(user, now)) {
    if (auto r = record(event(user_actor(user.id), Action::kLoginFailed, Outcome::kDenied,
                              detail("account-locked"), user.id),
                        ctx);
        !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(login_failed());
  }
  if (!*password_ok) {
    if (auto r = count_failure(user, Action::kLoginFailed, detail("bad-password"), ctx); !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(login_failed());
  }
  if (user.totp_confirmed && with_code) {
    auto failure = verify_code(user, code, true, ctx);
    if (!failure) return std::unexpected(failure.error());
    if (!failure->empty()) {
      if (auto r = count_failure(user, Action::kMfaFailed, detail(*failure), ctx); !r) {
        return std::unexpected(r.error());
      }
      return std::unexpected(login_failed());
    }
  }
  // Atomic with "not locked now": a concurrent failure that locked the account wins.
  auto unlocked = store_.count_successful_login(user.id, now);
  if (!unlocked) return std::unexpected(unlocked.error());
  if (!*unlocked) {
    if (auto r = record(event(user_actor(user.id), Action::kLoginFailed, Outcome::kDenied,
                              detail("account-locked"), user.id),
                        ctx);
        !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(login_failed());
  }
  return user;
}

model::Result<LoginResult> Identity::login(std::string_view username, std::string_view password,
                                           std::string_view code, const RequestContext& ctx) {
  auto user = check_credentials(username, password, code, ctx, "");
  if (!user) return std::unexpected(user.error());
  crypto::wipe(user->password_hash);
  const bool enrolled = user->totp_confirmed;
  auto token = new_token();
  if (!token) return std::unexpected(token.error());
  const std::int64_t now = now_us();
  store::SessionRecord s;
  s.token_hash = token_hash(*token);
  s.user = user->id;
  s.created_us = s.last_seen_us = s.reauth_us = now;
  s.mfa_done = enrolled;
  if (auto r = store_.create_session(s); !r) return std::unexpected(r.error());
  auto logged = record(event(user_actor(user->id), audit::Action::kLogin, audit::Outcome::kSuccess,
                             enrolled ? "password-and-totp" : "mfa-enrollment-required", user->id),
                       ctx);
  if (!logged) {  // fail closed: no session without its audit record
    s.ended_us = now;
    s.end_reason = "audit-failed";
    (void)store_.update_session(s);
    return std::unexpected(logged.error());
  }
  return LoginResult{std::move(*token), user->id, !enrolled};
}

namespace {
constexpr std::int64_t kTouchEvery = 15'000'000;  // microseconds
}  // namespace

model::Result<store::SessionRecord> Identity::open_session(std::string_view token,
                                                           const RequestContext& ctx,
                                                           store::UserRecord* person) {
  auto found = store_.find_session(token_hash(token));
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->ended_us != 0) return std::unexpected(session_ended());
  store::SessionRecord s = std::move(**found);
  const std::int64_t now = now_us();
  std::string reason;
  if (now - s.last_seen_us > options_.idle_timeout.count() * kUs) {
    reason = "idle";
  } else if (now - s.created_us > options_.absolute_timeout.count() * kUs) {
    reason = "absolute";
  } else {
    auto user = store_.read_user(s.user);
    if (!user) return std::unexpected(user.error());
    if (locked(*user, now)) reason = "locked";
    if (person != nullptr) *person = std::move(*user);
  }
  if (!reason.empty()) {
    s.ended_us = now;
    s.end_reason = reason;
    if (auto r = store_.update_session(s); !r) return std::unexpected(r.error());
    if (auto r = record(event(user_actor(s.user), audit::Action::kSessionTimeout,
                              audit::Outcome::kSuccess, reason, s.user),
                        ctx);
        !r) {
      return std::unexpected(r.error());
    }
    return std::unexpected(session_ended());
  }
  // A touch is a durable write: once per kTouchEvery is precise enough for a 15-minute idle
  // limit, and the error is always early (the session ends at most that much sooner).
  if (now - s.last_seen_us >= kTouchEvery) {
    s.last_seen_us = now;
    if (auto r = store_.update_session(s); !r) return std::unexpected(r.error());
  }
  return s;
}

model::Result<Subject> Identity::authenticate(std::string_view token, const RequestContext& ctx) {
  store::UserRecord user;
  auto s = open_session(token, ctx, &user);
  if (!s) return std::unexpected(s.error());
  if (!s->mfa_done) {
    return model::fail(ErrorCode::kForbidden,
                       "set up two-factor authentication before anything else");
  }
  return Subject{user.id, user.system_admin, std::move(user.memberships), s->reauth_us};
}

model::Result<MfaEnrollment> Identity::begin_mfa_enrollment(std::string_view token,
                                                            const RequestContext& ctx) {
  auto s = open_session(token, ctx);
  if (!s) return std::unexpected(s.error());
  auto user = store_.read_user(s->user);
  if (!user) return std::unexpected(user.error());
  if (user->totp_confirmed) {
    return model::fail(
        ErrorCode::kForbidden,
        "two-factor authentication is already set up; an administrator can reset it");
  }
  // Recorded first (fail closed): the new secret replaces any enrollment in progress.
  if (auto r = record(event(user_actor(user->id), audit::Action::kMfaEnroll,
                            audit::Outcome::kSuccess, "totp-enrollment-started", user->id),
                      ctx);
      !r) {
    return std::unexpected(r.error());
  }
  auto secret = crypto::new_totp_secret();
  if (!secret) return std::unexpected(secret.error());
  store::UserChanges c;
  c.totp_secret = std::string(reinterpret_cast<const char*>(secret->data()), secret->size());
  c.totp_confirmed = false;
  auto stored = store_.update_user(user->id, c);
  crypto::wipe(*c.totp_secret);
  if (!stored) return std::unexpected(stored.error());
  return MfaEnrollment{crypto::otpauth_uri(options_.totp_issuer, user->username, *secret),
                       crypto::base32_encode(secret->span())};
}

model::Result<std::vector<std::string>> Identity::finish_mfa_enrollment(std::string_view token,
                                                                        std::string_view code,
                                                                        const RequestContext& ctx) {
  auto s = open_session(token, ctx);
  if (!s) return std::unexpected(s.error());
  auto user = store_.read_user(s->user);
  if (!user) return std::unexpected(user.error());
  if (user->totp_confirmed || user->totp_secret.empty()) {
    return model::fail(ErrorCode::kUsage, "no two-factor enrollment is in progress");
  }
  if (locked(*user, now_us())) return std::unexpected(session_ended());
  auto failure = verify_code(*user, code, false, ctx);
  if (!failure) return std::unexpected(failure.error());
  if (!failure->empty()) {
    if (auto r = count_failure(*user, audit::Action::kMfaFailed, "enroll-" + *failure, ctx); !r) {
      return std::unexpected(r.error());
    }
    return model::fail(ErrorCode::kUnauthenticated,
                       "that code does not match: check the authenticator app's clock and try the "
                       "next code");
  }
  // Recovery codes: 10 random base32 characters each (50 bits), shown once, stored as keyed
  // hashes; high entropy makes a fast hash enough.
  std::vector<std::string> codes, hashes;
  for (int i = 0; i < options_.recovery_codes; ++i) {
    crypto::SecretBytes raw(7);
    if (auto r = crypto::random_bytes({raw.data(), raw.size()}); !r) {
      return std::unexpected(r.error());
    }
    std::string text = normalize_code(crypto::base32_encode(raw.span()).substr(0, 10));
    hashes.push_back(indexer_.index("recovery-code", static_cast<std::uint64_t>(user->id), text));
    codes.push_back(text.substr(0, 5) + "-" + text.substr(5));
  }
  if (auto r = store_.replace_recovery_codes(user->id, hashes); !r) {
    return std::unexpected(r.error());
  }
  // Recorded before the session gains anything (fail closed).
  if (auto r = record(event(user_actor(user->id), audit::Action::kMfaEnroll,
                            audit::Outcome::kSuccess, "totp", user->id),
                      ctx);
      !r) {
    return std::unexpected(r.error());
  }
  auto unlocked = store_.count_successful_login(user->id, now_us());
  if (!unlocked) return std::unexpected(unlocked.error());
  if (!*unlocked) return std::unexpected(session_ended());
  store::UserChanges c;
  c.totp_confirmed = true;
  if (auto r = store_.update_user(user->id, c); !r) return std::unexpected(r.error());
  s->mfa_done = true;
  s->reauth_us = now_us();
  if (auto r = store_.update_session(*s); !r) return std::unexpected(r.error());
  return codes;
}

model::Result<void> Identity::reauthenticate(std::string_view token, std::string_view password,
                                             std::string_view code, const RequestContext& ctx) {
  auto s = open_session(token, ctx);
  if (!s) return std::unexpected(s.error());
  if (!s->mfa_done)
    return model::fail(ErrorCode::kForbidden, "set up two-factor authentication first");
  auto user = store_.read_user(s->user);
  if (!user) return std::unexpected(user.error());
  auto checked = check_credentials(user->username, password, code, ctx, "reauth");
  if (!checked) return std::unexpected(checked.error());
  if (auto r = record(event(user_actor(user->id), audit::Action::kLogin, audit::Outcome::kSuccess,
                            "reauthenticated", user->id),
                      ctx);
      !r) {
    return r;  // fail closed: no fresh reauth without its record
  }
  s->reauth_us = now_us();
  return store_.update_session(*s);
}

model::Result<void> Identity::require_recent_reauth(const Subject& subject) const {
  if (now_us() - subject.reauth_us <= options_.reauth_window.count() * kUs) return {};
  return model::fail(ErrorCode::kForbidden,
                     "this needs your password and code again (re-authenticate, then retry)");
}

model::Result<void> Identity::logout(std::string_view token, const RequestContext& ctx) {
  auto found = store_.find_session(token_hash(token));
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->ended_us != 0) return {};  // already gone: logging out is idempotent
  store::SessionRecord s = std::move(**found);
  s.ended_us = now_us();
  s.end_reason = "logout";
  if (auto r = store_.update_session(s); !r) return r;
  return record(
      event(user_actor(s.user), audit::Action::kLogout, audit::Outcome::kSuccess, "logout", s.user),
      ctx);
}

model::Result<void> Identity::change_password(std::string_view token, std::string_view old_password,
                                              std::string_view new_password,
                                              const RequestContext& ctx) {
  auto s = open_session(token, ctx);
  if (!s) return std::unexpected(s.error());
  // An MFA-complete session that proved the second factor in the last five minutes (a fresh
  // login does), plus the old password: not someone at the person's unlocked screen.
  if (!s->mfa_done) {
    return model::fail(ErrorCode::kForbidden, "set up two-factor authentication first");
  }
  if (auto r = require_recent_reauth(Subject{s->user, false, {}, s->reauth_us}); !r) return r;
  auto user = store_.read_user(s->user);
  if (!user) return std::unexpected(user.error());
  auto checked = check_credentials(user->username, old_password, "", ctx, "password-change",
                                   /*with_code=*/false);
  if (!checked) return std::unexpected(checked.error());
  if (auto r = check_new_password(new_password, {user->username, user->display_name, user->email});
      !r) {
    return r;
  }
  auto hash = crypto::hash_password(new_password, options_.password_params);
  if (!hash) return std::unexpected(hash.error());
  store::UserChanges c;
  c.password_hash = std::move(*hash);
  c.password_changed_us = now_us();
  if (auto r = store_.update_user(user->id, c); !r) return r;
  auto ended = store_.end_user_sessions(user->id, "password-change", now_us());
  if (!ended) return std::unexpected(ended.error());
  return record(event(user_actor(user->id), audit::Action::kUserAdmin, audit::Outcome::kSuccess,
                      "password-changed", user->id),
                ctx);
}

}  // namespace labvault::access
