// Sessions, SMART clients, their used assertion ids and access tokens (migration 004): found by
// hashes, never by a token itself.
#include <fmt/format.h>

#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

// Ended sessions are kept this long for the security officer's questions, then dropped.
constexpr std::int64_t kEndedSessionRetentionUs = 90LL * 24 * 3600 * 1'000'000;

}  // namespace

// ---- sessions

namespace {

SessionRecord session_from(Stmt& s) {
  SessionRecord r;
  r.token_hash = std::string(s.blob(0));
  r.user = s.int64(1);
  r.created_us = s.int64(2);
  r.last_seen_us = s.int64(3);
  r.reauth_us = s.int64(4);
  r.mfa_done = s.int64(5) != 0;
  r.ended_us = s.int64(6);
  r.end_reason = std::string(s.text(7));
  return r;
}

}  // namespace

Result<void> SqliteStore::create_session(const SessionRecord& s) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto prune = db_->prepare("DELETE FROM sessions WHERE ended_at != 0 AND ended_at < ?");
    if (!prune) return std::unexpected(prune.error());
    (*prune)->bind(1, s.created_us - kEndedSessionRetentionUs);
    if (auto r = (*prune)->run(); !r) return r;
    auto stmt = db_->prepare(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, reauth_at, "
        "mfa_done) VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind_blob(1, s.token_hash)
        .bind(2, s.user)
        .bind(3, s.created_us)
        .bind(4, s.last_seen_us)
        .bind(5, s.reauth_us)
        .bind(6, s.mfa_done ? 1 : 0);
    return (*stmt)->run();
  });
}

Result<std::optional<SessionRecord>> SqliteStore::find_session(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT token_hash, user_id, created_at, last_seen_at, reauth_at, mfa_done, ended_at, "
      "end_reason FROM sessions WHERE token_hash = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_blob(1, token_hash);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return std::nullopt;
  }
  SessionRecord s = session_from(**stmt);
  (*stmt)->reset();
  return s;
}

Result<void> SqliteStore::update_session(const SessionRecord& s) {
  std::lock_guard lock(mu_);
  // An ended session stays ended: a late touch from a slow request must not reopen it.
  auto stmt = db_->prepare(
      "UPDATE sessions SET last_seen_at = ?, reauth_at = ?, mfa_done = ?, ended_at = ?, "
      "end_reason = ? WHERE token_hash = ? AND ended_at = 0");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)
      ->bind(1, s.last_seen_us)
      .bind(2, s.reauth_us)
      .bind(3, s.mfa_done ? 1 : 0)
      .bind(4, s.ended_us)
      .bind_text(5, s.end_reason)
      .bind_blob(6, s.token_hash);
  auto n = changed_rows(*db_, **stmt);
  if (!n) return std::unexpected(n.error());
  if (*n == 0) return model::fail(ErrorCode::kNotFound, "no such open session");
  return {};
}

Result<int> SqliteStore::end_user_sessions(Id user, std::string_view reason, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at = 0");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, now_us).bind_text(2, reason).bind(3, user);
  return changed_rows(*db_, **stmt);
}

// ---- clients

namespace {

constexpr std::string_view kClientColumns =
    "SELECT id, client_id, lab_id, name, public_keys, scopes, created_at, revoked_at FROM clients";

ClientRecord client_from(Stmt& s) {
  return {s.int64(0),
          std::string(s.text(1)),
          s.int64(2),
          std::string(s.text(3)),
          std::string(s.text(4)),
          std::string(s.text(5)),
          s.int64(6),
          s.int64(7)};
}

}  // namespace

Result<Id> SqliteStore::create_client(const ClientRecord& c) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<Id> {
    if (auto r = lab_exists(c.lab); !r) return std::unexpected(r.error());
    auto exists = db_->prepare("SELECT 1 FROM clients WHERE client_id = ?");
    if (!exists) return std::unexpected(exists.error());
    (*exists)->bind_text(1, c.client_id);
    if ((*exists)->step()) {
      (*exists)->reset();
      return model::fail(ErrorCode::kDuplicate,
                         fmt::format("client '{}' already exists", c.client_id));
    }
    auto id = next_id("clients");
    if (!id) return std::unexpected(id.error());
    auto stmt = db_->prepare(
        "INSERT INTO clients (id, client_id, lab_id, name, public_keys, scopes, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind(1, *id)
        .bind_text(2, c.client_id)
        .bind(3, c.lab)
        .bind_text(4, c.name)
        .bind_text(5, c.public_keys)
        .bind_text(6, c.scopes)
        .bind(7, clock_());
    if (auto r = (*stmt)->run(); !r) return std::unexpected(r.error());
    return *id;
  });
}

Result<std::optional<ClientRecord>> SqliteStore::find_client(std::string_view client_id) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(std::string(kClientColumns) + " WHERE client_id = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_text(1, client_id);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return std::nullopt;
  }
  ClientRecord c = client_from(**stmt);
  (*stmt)->reset();
  return c;
}

Result<std::vector<ClientRecord>> SqliteStore::list_clients(std::optional<Id> lab) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(lab ? std::string(kClientColumns) + " WHERE lab_id = ? ORDER BY id"
                               : std::string(kClientColumns) + " ORDER BY id");
  if (!stmt) return std::unexpected(stmt.error());
  if (lab) (*stmt)->bind(1, *lab);
  std::vector<ClientRecord> clients;
  while ((*stmt)->step()) clients.push_back(client_from(**stmt));
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return clients;
}

Result<void> SqliteStore::revoke_client(Id client, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare("UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, now_us).bind(2, client);
    if (auto r = (*stmt)->run(); !r) return r;
    // Its live tokens die with it.
    auto tokens = db_->prepare("DELETE FROM access_tokens WHERE client_id = ?");
    if (!tokens) return std::unexpected(tokens.error());
    (*tokens)->bind(1, client);
    return (*tokens)->run();
  });
}

Result<bool> SqliteStore::use_assertion_id(Id client, std::string_view jti_hash,
                                           std::int64_t expires_us, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<bool> {
    auto prune = db_->prepare("DELETE FROM client_assertions WHERE expires_at <= ?");
    if (!prune) return std::unexpected(prune.error());
    (*prune)->bind(1, now_us);
    if (auto r = (*prune)->run(); !r) return std::unexpected(r.error());
    auto stmt = db_->prepare(
        "INSERT INTO client_assertions (client_id, jti_hash, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, client).bind_blob(2, jti_hash).bind(3, expires_us);
    auto n = changed_rows(*db_, **stmt);
    if (!n) return std::unexpected(n.error());
    return *n == 1;
  });
}

Result<void> SqliteStore::create_access_token(const AccessTokenRecord& t) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto prune = db_->prepare("DELETE FROM access_tokens WHERE expires_at <= ?");
    if (!prune) return std::unexpected(prune.error());
    (*prune)->bind(1, t.issued_us);
    if (auto r = (*prune)->run(); !r) return r;
    auto stmt = db_->prepare(
        "INSERT INTO access_tokens (token_hash, client_id, lab_id, scopes, issued_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind_blob(1, t.token_hash)
        .bind(2, t.client)
        .bind(3, t.lab)
        .bind_text(4, t.scopes)
        .bind(5, t.issued_us)
        .bind(6, t.expires_us);
    return (*stmt)->run();
  });
}

Result<std::optional<AccessTokenRecord>> SqliteStore::find_access_token(
    std::string_view token_hash) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT token_hash, client_id, lab_id, scopes, issued_at, expires_at FROM access_tokens "
      "WHERE token_hash = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_blob(1, token_hash);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return std::nullopt;
  }
  Stmt& s = **stmt;
  AccessTokenRecord t{std::string(s.blob(0)), s.int64(1), s.int64(2),
                      std::string(s.text(3)), s.int64(4), s.int64(5)};
  (*stmt)->reset();
  return t;
}

}  // namespace labvault::store::sqlite::internal
