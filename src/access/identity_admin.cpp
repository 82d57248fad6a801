// Administration of people: who may manage whom (a system admin anyone; a lab admin only people
// wholly inside the labs they administer, never admins), each change audited before it returns.
#include <fmt/format.h>

#include <algorithm>

#include "access/identity.hpp"
#include "access/password_policy.hpp"
#include "access/roles.hpp"
#include "crypto/secret.hpp"
#include "crypto/totp.hpp"

namespace labvault::access {

using model::ErrorCode;

namespace {

bool valid_username(std::string_view u) {
  if (u.empty() || u.size() > 64) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == '@';
  });
}

bool administers(const Subject& admin, store::Id lab) {
  auto role = admin.role_in(lab);
  return role && *role == kLabAdmin;
}

// A one-time password from 20 random base32 characters (100 bits), in groups for reading aloud.
model::Result<std::string> initial_password() {
  crypto::SecretBytes raw(13);
  if (auto r = crypto::random_bytes({raw.data(), raw.size()}); !r)
    return std::unexpected(r.error());
  std::string text = crypto::base32_encode(raw.span()).substr(0, 20);
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return fmt::format("{}-{}-{}-{}", text.substr(0, 5), text.substr(5, 5), text.substr(10, 5),
                     text.substr(15, 5));
}

audit::Event admin_event(std::string actor, std::string detail, store::Id user, store::Id lab = 0) {
  audit::Event e;
  e.actor = std::move(actor);
  e.action = audit::Action::kUserAdmin;
  e.outcome_detail = std::move(detail);
  e.resource = fmt::format("User/{}", user);
  e.lab = lab;
  return e;
}

}  // namespace

model::Result<Subject> Identity::subject_of(std::string_view username) {
  auto found = store_.find_user(normalize_username(username));
  if (!found) return std::unexpected(found.error());
  if (!*found) return model::fail(ErrorCode::kNotFound, "no such user");
  crypto::wipe((*found)->password_hash);
  return Subject{(*found)->id, (*found)->system_admin, std::move((*found)->memberships), 0};
}

model::Result<void> Identity::require_system_admin(const Subject& admin) const {
  if (auto r = require_recent_reauth(admin); !r) return r;
  if (admin.system_admin) return {};
  return model::fail(ErrorCode::kForbidden, "only a system administrator can do this");
}

model::Result<void> Identity::require_admin_of(const Subject& admin, store::Id lab) const {
  if (auto r = require_recent_reauth(admin); !r) return r;
  if (admin.system_admin || administers(admin, lab)) return {};
  return model::fail(ErrorCode::kForbidden,
                     "only a system administrator or this lab's "
                     "administrator can do this");
}

// The person `admin` may change: system admins anyone but themselves; lab admins people whose
// every lab they administer and who administer nothing themselves.
model::Result<store::UserRecord> Identity::managed_user(const Subject& admin,
                                                        std::string_view username) {
  if (auto r = require_recent_reauth(admin); !r) return std::unexpected(r.error());
  auto found = store_.find_user(normalize_username(username));
  if (!found) return std::unexpected(found.error());
  // A lab admin learns nothing about people outside their labs: "not found" for both.
  auto not_found = model::Error{ErrorCode::kNotFound, "no such user in your labs", {}};
  if (!*found) return std::unexpected(not_found);
  store::UserRecord user = std::move(**found);
  if (user.id == admin.user) {
    return model::fail(ErrorCode::kForbidden, "administrators cannot change their own account");
  }
  if (admin.system_admin) return user;
  const bool inside =
      !user.memberships.empty() &&
      std::all_of(user.memberships.begin(), user.memberships.end(),
                  [&](const store::Membership& m) { return administers(admin, m.lab); });
  if (!inside) return std::unexpected(not_found);
  const bool is_admin = user.system_admin ||
                        std::any_of(user.memberships.begin(), user.memberships.end(),
                                    [](const store::Membership& m) { return m.role == kLabAdmin; });
  if (is_admin) {
    return model::fail(ErrorCode::kForbidden, "only a system administrator manages administrators");
  }
  return user;
}

model::Result<Identity::Created> Identity::create_by_operator(const NewUser& nu,
                                                              std::string_view actor,
                                                              const RequestContext& ctx) {
  const std::string username = normalize_username(nu.username);
  if (!valid_username(username)) {
    return model::fail(ErrorCode::kUsage,
                       "a username is 1 to 64 letters, digits and . _ - @ (case does not matter)");
  }
  for (const store::Membership& m : nu.memberships) {
    if (!is_role(m.role))
      return model::fail(ErrorCode::kUsage, fmt::format("no role '{}'", m.role));
  }
  auto password = initial_password();
  if (!password) return std::unexpected(password.error());
  auto hash = crypto::hash_password(*password, options_.password_params);
  if (!hash) return std::unexpected(hash.error());
  store::UserRecord u;
  u.username = username;
  u.display_name = nu.display_name;
  u.email = nu.email;
  u.phone = nu.phone;
  u.password_hash = std::move(*hash);
  u.system_admin = nu.system_admin;
  u.memberships = nu.memberships;
  auto id = store_.create_user(u);
  if (!id) return std::unexpected(id.error());
  audit::Event e = admin_event(std::string(actor),
                               nu.system_admin ? "user-added-system-admin" : "user-added", *id);
  e.source_ip = ctx.source_ip;
  e.listener = ctx.listener;
  e.request_id = ctx.request_id;
  std::vector<audit::Event> events{e};
  for (const store::Membership& m : nu.memberships) {
    audit::Event r = admin_event(std::string(actor), "role-" + m.role, *id, m.lab);
    r.source_ip = ctx.source_ip;
    r.listener = ctx.listener;
    r.request_id = ctx.request_id;
    events.push_back(std::move(r));
  }
  if (auto r = log_.record(events); !r) return std::unexpected(r.error());
  return Created{*id, std::move(*password)};
}

model::Result<Identity::Created> Identity::add_user(const Subject& admin, const NewUser& user,
                                                    const RequestContext& ctx) {
  if (auto r = require_recent_reauth(admin); !r) return std::unexpected(r.error());
  if (user.system_admin && !admin.system_admin) {
    return model::fail(ErrorCode::kForbidden,
                       "only a system administrator adds system administrators");
  }
  for (const store::Membership& m : user.memberships) {
    if (auto r = require_admin_of(admin, m.lab); !r) return std::unexpected(r.error());
    if (m.role == kLabAdmin && !admin.system_admin) {
      return model::fail(ErrorCode::kForbidden,
                         "only a system administrator adds lab administrators");
    }
  }
  if (!admin.system_admin && user.memberships.empty()) {
    return model::fail(ErrorCode::kUsage, "give the new user a role in one of your labs");
  }
  return create_by_operator(user, admin.actor(), ctx);
}

model::Result<Identity::Created> Identity::bootstrap_admin(const NewUser& user,
                                                           std::string_view actor,
                                                           const RequestContext& ctx) {
  auto all = store_.list_users(std::nullopt);
  if (!all) return std::unexpected(all.error());
  if (std::any_of(all->begin(), all->end(),
                  [](const store::UserRecord& u) { return u.system_admin; })) {
    return model::fail(ErrorCode::kForbidden,
                       "a system administrator exists: log in as one (--as) to add users");
  }
  NewUser first = user;
  first.system_admin = true;
  return create_by_operator(first, actor, ctx);
}

model::Result<std::vector<UserSummary>> Identity::list_users(const Subject& admin,
                                                             std::optional<store::Id> lab,
                                                             const RequestContext& ctx) {
  if (auto r = require_recent_reauth(admin); !r) return std::unexpected(r.error());
  if (!admin.system_admin) {
    if (!lab) {
      return model::fail(ErrorCode::kUsage, "name the lab (--lab) whose users to list");
    }
    if (auto r = require_admin_of(admin, *lab); !r) return std::unexpected(r.error());
  }
  auto users = store_.list_users(lab);
  if (!users) return std::unexpected(users.error());
  const std::int64_t now = now_us();
  std::vector<UserSummary> out;
  for (store::UserRecord& u : *users) {
    crypto::wipe(u.password_hash);
    // A lab admin sees roles in the labs they administer, nothing of the person's other labs.
    if (!admin.system_admin) {
      std::erase_if(u.memberships,
                    [&](const store::Membership& m) { return !administers(admin, m.lab); });
    }
    out.push_back({u.id, std::move(u.username), std::move(u.display_name), std::move(u.email),
                   std::move(u.phone), u.system_admin, u.totp_confirmed,
                   u.admin_locked || u.locked_until_us > now, std::move(u.memberships)});
  }
  audit::Event e;
  e.actor = admin.actor();
  e.action = audit::Action::kSearch;
  e.resource = "User";
  e.lab = lab.value_or(0);
  e.outcome_detail = "user-list";
  if (auto r = record(e, ctx); !r) return std::unexpected(r.error());
  return out;
}

model::Result<void> Identity::lock(const Subject& admin, std::string_view username,
                                   const RequestContext& ctx) {
  auto user = managed_user(admin, username);
  if (!user) return std::unexpected(user.error());
  store::UserChanges c;
  c.admin_locked = true;
  if (auto r = store_.update_user(user->id, c); !r) return r;
  if (auto r = store_.end_user_sessions(user->id, "locked", now_us()); !r) {
    return std::unexpected(r.error());
  }
  audit::Event e = admin_event(admin.actor(), "locked-by-admin", user->id);
  e.action = audit::Action::kLockout;
  return record(e, ctx);
}

model::Result<void> Identity::unlock(const Subject& admin, std::string_view username,
                                     const RequestContext& ctx) {
  auto user = managed_user(admin, username);
  if (!user) return std::unexpected(user.error());
  store::UserChanges c;
  c.admin_locked = false;
  c.failed_logins = 0;
  c.locked_until_us = 0;
  if (auto r = store_.update_user(user->id, c); !r) return r;
  return record(admin_event(admin.actor(), "unlocked", user->id), ctx);
}

model::Result<void> Identity::reset_mfa(const Subject& admin, std::string_view username,
                                        const RequestContext& ctx) {
  auto user = managed_user(admin, username);
  if (!user) return std::unexpected(user.error());
  // Sessions end first: a failure half way leaves a person who must log in again, never an
  // MFA-complete session of a person without MFA.
  if (auto r = store_.end_user_sessions(user->id, "mfa-reset", now_us()); !r) {
    return std::unexpected(r.error());
  }
  store::UserChanges c;
  c.totp_secret = "";
  c.totp_confirmed = false;
  if (auto r = store_.update_user(user->id, c); !r) return r;
  if (auto r = store_.replace_recovery_codes(user->id, {}); !r) return r;
  return record(admin_event(admin.actor(), "mfa-reset", user->id), ctx);
}

model::Result<void> Identity::set_role(const Subject& admin, std::string_view username,
                                       store::Id lab, std::string_view role,
                                       const RequestContext& ctx, std::string_view department) {
  if (!role.empty() && !is_role(role)) {
    return model::fail(ErrorCode::kUsage, fmt::format("no role '{}'", role));
  }
  if (auto r = require_admin_of(admin, lab); !r) return r;
  if (role == kLabAdmin && !admin.system_admin) {
    return model::fail(ErrorCode::kForbidden,
                       "only a system administrator makes lab administrators");
  }
  store::Id user_id = 0;
  if (admin.system_admin) {
    auto found = store_.find_user(normalize_username(username));
    if (!found) return std::unexpected(found.error());
    if (!*found) return model::fail(ErrorCode::kNotFound, "no such user");
    user_id = (*found)->id;
    if (user_id == admin.user) {
      return model::fail(ErrorCode::kForbidden, "administrators cannot change their own account");
    }
  } else {
    // A lab admin may add anyone already in one of their labs, or change their own lab's roles.
    auto user = managed_user(admin, username);
    if (!user) return std::unexpected(user.error());
    user_id = user->id;
  }
  if (auto r = store_.set_membership(user_id, lab, role, department); !r) return r;
  return record(
      admin_event(admin.actor(), role.empty() ? "role-removed" : "role-" + std::string(role),
                  user_id, lab),
      ctx);
}

}  // namespace labvault::access
