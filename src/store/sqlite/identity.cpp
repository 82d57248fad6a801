// The identity tables (migration 004): people sealed under the system tenant's key (lab 0),
// sessions, clients, assertion ids and access tokens, all found by hashes or blind indexes.
#include <fmt/format.h>

#include <cstring>

#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

constexpr Id kSystemLab = 0;

// Sealed records hold a few strings: each as a 4-byte little-endian length and its bytes.
std::string pack(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) {
    auto n = static_cast<std::uint32_t>(f.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out.append(f);
  }
  return out;
}

Result<std::vector<std::string>> unpack(std::string_view in, std::size_t count,
                                        std::string_view what) {
  std::vector<std::string> fields;
  while (fields.size() < count) {
    if (in.size() < 4) break;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(4);
    if (in.size() < n) break;
    fields.emplace_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  if (fields.size() != count || !in.empty()) {
    return model::fail(ErrorCode::kStorage, fmt::format("{}: malformed sealed record", what));
  }
  return fields;
}

}  // namespace

std::string SqliteStore::username_index(std::string_view username) const {
  return keyring_.blind_indexer().index("username", 0, username);
}

Result<KeyPtr> SqliteStore::system_key(bool create) {
  auto id = lab_key_id(kSystemLab);
  if (id) return data_key(*id);
  if (id.error().code != ErrorCode::kNotFound || !create) return std::unexpected(id.error());
  return new_data_key(kSystemLab, "lab", 0);
}

Result<UserRecord> SqliteStore::user_from(Stmt& s) {
  UserRecord u;
  u.id = s.int64(0);
  auto profile = open({"users", "profile", u.id, kSystemLab}, s.blob(1));
  if (!profile) return std::unexpected(profile.error());
  auto p = unpack(*profile, 4, "users.profile");
  crypto::wipe(*profile);
  if (!p) return std::unexpected(p.error());
  auto credentials = open({"users", "credentials", u.id, kSystemLab}, s.blob(2));
  if (!credentials) return std::unexpected(credentials.error());
  auto c = unpack(*credentials, 2, "users.credentials");
  crypto::wipe(*credentials);
  if (!c) return std::unexpected(c.error());
  u.username = std::move((*p)[0]);
  u.display_name = std::move((*p)[1]);
  u.email = std::move((*p)[2]);
  u.phone = std::move((*p)[3]);
  u.password_hash = std::move((*c)[0]);
  u.totp_secret = std::move((*c)[1]);
  u.totp_last_step = s.int64(3);
  u.system_admin = s.int64(4) != 0;
  u.failed_logins = static_cast<int>(s.int64(5));
  u.locked_until_us = s.int64(6);
  u.admin_locked = s.int64(7) != 0;
  u.password_changed_us = s.int64(8);
  u.created_us = s.int64(9);
  u.totp_confirmed = s.int64(10) != 0;
  return u;
}

Result<void> SqliteStore::read_memberships(UserRecord& u) {
  auto stmt = db_->prepare(
      "SELECT lab_id, role, department FROM user_labs WHERE user_id = ? ORDER BY lab_id");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, u.id);
  while ((*stmt)->step()) {
    u.memberships.push_back(
        {(*stmt)->int64(0), std::string((*stmt)->text(1)), std::string((*stmt)->text(2))});
  }
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return {};
}

Result<void> SqliteStore::write_credentials(Id user, std::string_view password_hash,
                                            std::string_view totp_secret) {
  auto key = system_key(true);
  if (!key) return std::unexpected(key.error());
  std::string plain = pack({password_hash, totp_secret});
  std::string sealed;
  auto r = seal_into(sealed, **key, {"users", "credentials", user, kSystemLab}, plain);
  crypto::wipe(plain);
  if (!r) return r;
  auto stmt = db_->prepare("UPDATE users SET credentials = ? WHERE id = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_blob(1, sealed).bind(2, user);
  return (*stmt)->run();
}

namespace {
constexpr std::string_view kUserColumns =
    "SELECT id, profile, credentials, totp_last_step, system_admin, failed_logins, locked_until, "
    "admin_locked, password_changed_at, created_at, totp_confirmed FROM users";
}

Result<Id> SqliteStore::create_user(const UserRecord& user) {
  std::lock_guard lock(mu_);
  if (user.username.empty()) return model::fail(ErrorCode::kUsage, "a user needs a username");
  return in_transaction(*this, [&]() -> Result<Id> {
    std::string index = username_index(user.username);
    auto exists = db_->prepare("SELECT 1 FROM users WHERE username_index = ?");
    if (!exists) return std::unexpected(exists.error());
    (*exists)->bind_blob(1, index);
    if ((*exists)->step()) {
      (*exists)->reset();
      return model::fail(ErrorCode::kDuplicate, "that username is taken");
    }
    auto key = system_key(true);
    if (!key) return std::unexpected(key.error());
    auto id = next_id("users");
    if (!id) return std::unexpected(id.error());
    std::string plain = pack({user.username, user.display_name, user.email, user.phone});
    std::string profile;
    auto sealed = seal_into(profile, **key, {"users", "profile", *id, kSystemLab}, plain);
    crypto::wipe(plain);
    if (!sealed) return std::unexpected(sealed.error());
    auto insert = db_->prepare(
        "INSERT INTO users (id, username_index, profile, credentials, system_admin, "
        "password_changed_at, created_at) VALUES (?, ?, ?, x'', ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    std::int64_t now = clock_();
    (*insert)
        ->bind(1, *id)
        .bind_blob(2, index)
        .bind_blob(3, profile)
        .bind(4, user.system_admin ? 1 : 0)
        .bind(5, user.password_changed_us ? user.password_changed_us : now)
        .bind(6, now);
    if (auto r = (*insert)->run(); !r) return std::unexpected(r.error());
    if (auto r = write_credentials(*id, user.password_hash, user.totp_secret); !r) {
      return std::unexpected(r.error());
    }
    for (const Membership& m : user.memberships) {
      if (auto r = lab_exists(m.lab); !r) return std::unexpected(r.error());
      auto add = db_->prepare(
          "INSERT INTO user_labs (user_id, lab_id, role, department) VALUES (?, ?, ?, ?)");
      if (!add) return std::unexpected(add.error());
      (*add)->bind(1, *id).bind(2, m.lab).bind_text(3, m.role).bind_text(4, m.department);
      if (auto r = (*add)->run(); !r) return std::unexpected(r.error());
    }
    return *id;
  });
}

Result<std::optional<UserRecord>> SqliteStore::find_user(std::string_view username) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  auto stmt = db_->prepare(std::string(kUserColumns) + " WHERE username_index = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_blob(1, username_index(username));
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return std::nullopt;
  }
  auto user = user_from(**stmt);
  (*stmt)->reset();
  if (!user) return std::unexpected(user.error());
  if (auto r = read_memberships(*user); !r) return std::unexpected(r.error());
  return std::optional<UserRecord>(std::move(*user));
}

Result<UserRecord> SqliteStore::read_user(Id id) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  auto user = user_by_id(id);
  if (!user) return std::unexpected(user.error());
  if (auto r = read_memberships(*user); !r) return std::unexpected(r.error());
  return user;
}

Result<UserRecord> SqliteStore::user_by_id(Id id) {
  auto stmt = db_->prepare(std::string(kUserColumns) + " WHERE id = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, id);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return model::fail(ErrorCode::kNotFound, fmt::format("user {} not found", id));
  }
  auto user = user_from(**stmt);
  (*stmt)->reset();
  return user;
}

Result<std::vector<UserRecord>> SqliteStore::list_users(std::optional<Id> lab) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  auto stmt = db_->prepare(
      lab ? std::string(kUserColumns) +
                " WHERE id IN (SELECT user_id FROM user_labs WHERE lab_id = ?) ORDER BY id"
          : std::string(kUserColumns) + " ORDER BY id");
  if (!stmt) return std::unexpected(stmt.error());
  if (lab) (*stmt)->bind(1, *lab);
  std::vector<UserRecord> users;
  while ((*stmt)->step()) {
    auto user = user_from(**stmt);
    if (!user) {
      (*stmt)->reset();
      return std::unexpected(user.error());
    }
    users.push_back(std::move(*user));
  }
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  for (UserRecord& u : users) {
    if (auto r = read_memberships(u); !r) return std::unexpected(r.error());
  }
  return users;
}

Result<void> SqliteStore::update_user(Id id, const UserChanges& c) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    if (c.password_hash || c.totp_secret) {
      auto user = user_by_id(id);
      if (!user) return std::unexpected(user.error());
      auto r = write_credentials(id, c.password_hash.value_or(user->password_hash),
                                 c.totp_secret.value_or(user->totp_secret));
      crypto::wipe(user->password_hash);
      crypto::wipe(user->totp_secret);
      if (!r) return r;
    }
    auto set = [&](std::string_view column, std::optional<std::int64_t> v) -> Result<void> {
      if (!v) return {};
      // Column names come from this function's callers below, never from input.
      auto stmt = db_->prepare(fmt::format("UPDATE users SET {} = ? WHERE id = ?", column));
      if (!stmt) return std::unexpected(stmt.error());
      (*stmt)->bind(1, *v).bind(2, id);
      auto n = changed_rows(*db_, **stmt);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) return model::fail(ErrorCode::kNotFound, fmt::format("user {} not found", id));
      return {};
    };
    auto flag = [](std::optional<bool> b) -> std::optional<std::int64_t> {
      if (!b) return std::nullopt;
      return *b ? 1 : 0;
    };
    std::optional<std::int64_t> failed;
    if (c.failed_logins) failed = *c.failed_logins;
    for (auto r :
         {set("totp_last_step", c.totp_last_step), set("admin_locked", flag(c.admin_locked)),
          set("system_admin", flag(c.system_admin)), set("totp_confirmed", flag(c.totp_confirmed)),
          set("failed_logins", failed), set("locked_until", c.locked_until_us),
          set("password_changed_at", c.password_changed_us)}) {
      if (!r) return r;
    }
    return {};
  });
}

Result<void> SqliteStore::set_membership(Id user, Id lab, std::string_view role,
                                         std::string_view department) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    if (auto r = lab_exists(lab); !r) return std::unexpected(r.error());
    auto stmt = db_->prepare(
        role.empty() ? "DELETE FROM user_labs WHERE user_id = ? AND lab_id = ?"
                     : "INSERT INTO user_labs (user_id, lab_id, role, department) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, lab_id) DO UPDATE SET "
                       "role = excluded.role, department = excluded.department");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, user).bind(2, lab);
    if (!role.empty()) (*stmt)->bind_text(3, role).bind_text(4, department);
    return (*stmt)->run();
  });
}

Result<int> SqliteStore::count_failed_login(Id user, int max_failures, std::int64_t lock_until_us,
                                            std::int64_t now_us) {
  std::lock_guard lock(mu_);
  // One statement, so that concurrent attempts can neither lose a count nor slip past a lock.
  auto stmt = db_->prepare(
      "UPDATE users SET "
      "failed_logins = CASE WHEN locked_until != 0 THEN 1 ELSE failed_logins + 1 END, "
      "locked_until = CASE WHEN (CASE WHEN locked_until != 0 THEN 1 ELSE failed_logins + 1 END) "
      ">= ?1 THEN ?2 ELSE 0 END "
      "WHERE id = ?3 AND admin_locked = 0 AND locked_until <= ?4 RETURNING failed_logins");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, max_failures).bind(2, lock_until_us).bind(3, user).bind(4, now_us);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return 0;  // locked (or no such user): nothing counted
  }
  int count = static_cast<int>((*stmt)->int64(0));
  (*stmt)->reset();
  return count;
}

Result<bool> SqliteStore::count_successful_login(Id user, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "UPDATE users SET failed_logins = 0, locked_until = 0 "
      "WHERE id = ? AND admin_locked = 0 AND locked_until <= ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, user).bind(2, now_us);
  auto n = changed_rows(*db_, **stmt);
  if (!n) return std::unexpected(n.error());
  return *n == 1;
}

Result<bool> SqliteStore::accept_totp_step(Id user, std::int64_t step) {
  std::lock_guard lock(mu_);
  auto stmt =
      db_->prepare("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, step).bind(2, user).bind(3, step);
  auto n = changed_rows(*db_, **stmt);
  if (!n) return std::unexpected(n.error());
  return *n == 1;
}

Result<void> SqliteStore::replace_recovery_codes(Id user, const std::vector<std::string>& hashes) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto clear = db_->prepare("DELETE FROM recovery_codes WHERE user_id = ?");
    if (!clear) return std::unexpected(clear.error());
    (*clear)->bind(1, user);
    if (auto r = (*clear)->run(); !r) return r;
    for (const std::string& h : hashes) {
      auto add = db_->prepare("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)");
      if (!add) return std::unexpected(add.error());
      (*add)->bind(1, user).bind_blob(2, h);
      if (auto r = (*add)->run(); !r) return r;
    }
    return {};
  });
}

Result<bool> SqliteStore::use_recovery_code(Id user, std::string_view hash, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at = 0");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, now_us).bind(2, user).bind_blob(3, hash);
  auto n = changed_rows(*db_, **stmt);
  if (!n) return std::unexpected(n.error());
  return *n == 1;
}

}  // namespace labvault::store::sqlite::internal
