// `labvault user` and `labvault client`: administration of people and SMART backend-services
// clients. The administrator proves who they are (--as, then password and code on standard
// input, or prompted without echo on a terminal) exactly as at a login; the first system
// administrator is created without --as by whoever holds the keyring and config.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "access/clients.hpp"
#include "access/identity.hpp"
#include "cli/admin_session.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "crypto/secret.hpp"

namespace labvault::cli {

using model::ErrorCode;

namespace {

struct IdentityArgs {
  std::filesystem::path config;
  std::string as;
  std::string username, name, email, phone;
  std::vector<std::string> lab_roles;  // "LAB:role"
  bool system_admin = false;
  std::string lab, role, department;
  std::string client_id, client_name, scopes;
  std::filesystem::path public_keys;
};

int run_user_add(const IdentityArgs& args) {
  auto s = start(args.config, args.as, !args.as.empty());
  if (!s) return fail(s.error());
  access::NewUser user{args.username, args.name, args.email, args.phone, args.system_admin, {}};
  for (const std::string& lr : args.lab_roles) {
    auto colon = lr.find(':');
    if (colon == std::string::npos) {
      return fail({ErrorCode::kUsage, fmt::format("--role '{}' is not LAB:ROLE", lr), {}});
    }
    auto lab = lab_id(*(*s)->opened.store, lr.substr(0, colon));
    if (!lab) return fail(lab.error());
    // LAB:ROLE or LAB:ROLE:DEPARTMENT
    std::string role = lr.substr(colon + 1), department;
    if (auto second = role.find(':'); second != std::string::npos) {
      department = role.substr(second + 1);
      role.resize(second);
    }
    user.memberships.push_back({*lab, role, department});
  }
  auto created = (*s)->admin ? (*s)->identity->add_user(*(*s)->admin, user, (*s)->ctx)
                 : args.system_admin
                     ? (*s)->identity->bootstrap_admin(user, cli_actor(), (*s)->ctx)
                     : model::Result<access::Identity::Created>(std::unexpected(model::Error{
                           ErrorCode::kUsage,
                           "say which administrator you are (--as), or add the first system "
                           "administrator with --system-admin",
                           {}}));
  if (!created) return fail(created.error());
  fmt::print("added user {} (id {})\none-time password: {}\n",
             access::Identity::normalize_username(args.username), created->id,
             created->initial_password);
  fmt::print(
      "they set up two-factor authentication at their first login, then change the password\n");
  return kExitOk;
}

int run_user_list(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = optional_lab(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  auto users = (*s)->identity->list_users(*(*s)->admin, *lab, (*s)->ctx);
  if (!users) return fail(users.error());
  auto labs = (*s)->opened.store->list_labs();
  if (!labs) return fail(labs.error());
  auto lab_code = [&](store::Id id) {
    for (const auto& l : *labs) {
      if (l.id == id) return l.code;
    }
    return std::to_string(id);
  };
  for (const access::UserSummary& u : *users) {
    std::vector<std::string> roles;
    for (const auto& m : u.memberships) roles.push_back(lab_code(m.lab) + ":" + m.role);
    fmt::print("{:>4}  {:<24} {:<24} {}{}{}{}\n", u.id, u.username, u.display_name,
               fmt::join(roles, " "), u.system_admin ? " system-admin" : "",
               u.mfa_enrolled ? "" : " (no MFA yet)", u.locked ? " LOCKED" : "");
  }
  fmt::print("{} users\n", users->size());
  return kExitOk;
}

int run_user_change(const IdentityArgs& args, std::string_view what) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  access::Identity& id = *(*s)->identity;
  const access::Subject& admin = *(*s)->admin;
  model::Result<void> r;
  if (what == "lock") {
    r = id.lock(admin, args.username, (*s)->ctx);
  } else if (what == "unlock") {
    r = id.unlock(admin, args.username, (*s)->ctx);
  } else if (what == "reset-mfa") {
    r = id.reset_mfa(admin, args.username, (*s)->ctx);
  } else {
    auto lab = lab_id(*(*s)->opened.store, args.lab);
    if (!lab) return fail(lab.error());
    r = id.set_role(admin, args.username, *lab, args.role == "none" ? "" : args.role, (*s)->ctx,
                    args.department);
  }
  if (!r) return fail(r.error());
  fmt::print("{}: done for {}\n", what, access::Identity::normalize_username(args.username));
  return kExitOk;
}

// Self-service: the person named by --as, with their password (and code) on standard input.
int run_user_enroll(const IdentityArgs& args) {
  auto s = start(args.config, args.as, false);
  if (!s) return fail(s.error());
  std::string password = read_secret("password: ");
  auto login = (*s)->identity->login(args.as, password, "", (*s)->ctx);
  crypto::wipe(password);
  if (!login) return fail(login.error());
  (*s)->token = login->token;
  if (!login->mfa_enrollment_required) {
    return fail({ErrorCode::kForbidden,
                 "two-factor authentication is already set up; an administrator can reset it",
                 {}});
  }
  auto e = (*s)->identity->begin_mfa_enrollment(login->token, (*s)->ctx);
  if (!e) return fail(e.error());
  fmt::print(
      "add this to your authenticator app (scan it as a QR code, or type the secret):\n"
      "  {}\n  secret: {}\nthen confirm with: labvault user confirm --config FILE --as {}\n",
      e->otpauth_uri, e->secret_base32, access::Identity::normalize_username(args.as));
  return kExitOk;
}

int run_user_confirm(const IdentityArgs& args) {
  auto s = start(args.config, args.as, false);
  if (!s) return fail(s.error());
  std::string password = read_secret("password: ");
  std::string code = read_secret("code from the app: ");
  auto login = (*s)->identity->login(args.as, password, "", (*s)->ctx);
  crypto::wipe(password);
  if (!login) return fail(login.error());
  (*s)->token = login->token;
  auto codes = (*s)->identity->finish_mfa_enrollment(login->token, code, (*s)->ctx);
  if (!codes) return fail(codes.error());
  fmt::print(
      "two-factor authentication is set up. Recovery codes (each works once in place of a "
      "code; keep them offline):\n");
  for (const std::string& c : *codes) fmt::print("  {}\n", c);
  return kExitOk;
}

int run_user_passwd(const IdentityArgs& args) {
  auto s = start(args.config, args.as, false);
  if (!s) return fail(s.error());
  std::string password = read_secret("password: ");
  std::string code = read_secret("two-factor code: ");
  std::string fresh = read_secret("new password: ");
  auto login = (*s)->identity->login(args.as, password, code, (*s)->ctx);
  if (login) {
    (*s)->token = login->token;
    auto changed = (*s)->identity->change_password(login->token, password, fresh, (*s)->ctx);
    crypto::wipe(password);
    crypto::wipe(fresh);
    if (!changed) return fail(changed.error());
    (*s)->token.clear();  // the change ended every session, this one too
    fmt::print("password changed; every session of {} has ended\n",
               access::Identity::normalize_username(args.as));
    return kExitOk;
  }
  crypto::wipe(password);
  crypto::wipe(fresh);
  return fail(login.error());
}

int run_client_add(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = lab_id(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  std::ifstream in(args.public_keys);
  if (!in) {
    return fail(
        {ErrorCode::kIo, "cannot read the public key file", {.file = args.public_keys.string()}});
  }
  std::string keys((std::istreambuf_iterator<char>(in)), {});
  auto id = (*s)->clients->add(
      *(*s)->admin, {args.client_id, *lab, args.client_name, keys, args.scopes}, (*s)->ctx);
  if (!id) return fail(id.error());
  fmt::print("registered client {} for lab {} with scopes: {}\n", args.client_id, args.lab,
             args.scopes);
  return kExitOk;
}

int run_client_list(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto lab = optional_lab(*(*s)->opened.store, args.lab);
  if (!lab) return fail(lab.error());
  auto clients = (*s)->clients->list(*(*s)->admin, *lab, (*s)->ctx);
  if (!clients) return fail(clients.error());
  for (const store::ClientRecord& c : *clients) {
    fmt::print("{:<24} lab {:<6} {:<28} {}{}\n", c.client_id, c.lab, c.name, c.scopes,
               c.revoked_us ? " REVOKED" : "");
  }
  fmt::print("{} clients\n", clients->size());
  return kExitOk;
}

int run_lab_add(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  if (auto r = (*s)->identity->require_system_admin(*(*s)->admin); !r) return fail(r.error());
  auto lab = (*s)->opened.store->create_lab(args.lab, args.client_name);
  if (!lab) return fail(lab.error());
  audit::Event e{.lab = lab->id,
                 .actor = (*s)->admin->actor(),
                 .role = "system-admin",
                 .action = audit::Action::kConfigChange,
                 .resource = fmt::format("Lab/{}", lab->id),
                 .listener = "cli",
                 .outcome_detail = "lab-created"};
  if (auto r = (*s)->opened.audit->record(e); !r) return fail(r.error());
  fmt::print("added lab {} (id {})\n", lab->code, lab->id);
  return kExitOk;
}

int run_lab_list(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  auto labs = (*s)->opened.store->list_labs();
  if (!labs) return fail(labs.error());
  for (const store::LabInfo& l : *labs) {
    if (!(*s)->admin->system_admin && !(*s)->admin->role_in(l.id)) continue;
    fmt::print("{:>4}  {:<12} {}\n", l.id, l.code, l.name);
  }
  return kExitOk;
}

int run_client_revoke(const IdentityArgs& args) {
  auto s = start(args.config, args.as, true);
  if (!s) return fail(s.error());
  if (auto r = (*s)->clients->revoke(*(*s)->admin, args.client_id, (*s)->ctx); !r) {
    return fail(r.error());
  }
  fmt::print("revoked client {}; its tokens no longer work\n", args.client_id);
  return kExitOk;
}

}  // namespace

std::function<std::optional<int>()> add_identity_commands(CLI::App& app) {
  auto args = std::make_shared<IdentityArgs>();
  auto common = [&](CLI::App* sub, bool admin) {
    sub->add_option("--config", args->config, "labvault.toml written by labvault init")->required();
    auto* as = sub->add_option("--as", args->as,
                               "Your administrator username; password and two-factor code are "
                               "read from standard input");
    if (admin) as->required();
  };
  CLI::App* user =
      app.add_subcommand("user", "People: add, list, lock, unlock, reset-mfa, set-role");
  user->require_subcommand(1);
  CLI::App* ua = user->add_subcommand("add", "Add a person; prints a one-time password");
  common(ua, false);
  ua->add_option("--username", args->username, "Login name (letters, digits, . _ - @)")->required();
  ua->add_option("--name", args->name, "Display name");
  ua->add_option("--email", args->email, "Email address");
  ua->add_option("--phone", args->phone, "Phone number");
  ua->add_option("--role", args->lab_roles,
                 "LAB:ROLE[:DEPARTMENT], repeatable (e.g. DEMO:ordering-provider:ED)");
  ua->add_flag("--system-admin", args->system_admin,
               "A system administrator (the first one needs no --as)");
  CLI::App* ul = user->add_subcommand("list", "List people (a lab admin: of one lab)");
  common(ul, true);
  ul->add_option("--lab", args->lab, "Lab code");
  std::vector<std::pair<CLI::App*, std::string>> changes;
  for (const char* what : {"lock", "unlock", "reset-mfa"}) {
    CLI::App* sub = user->add_subcommand(what, fmt::format("{} a person's account", what));
    common(sub, true);
    sub->add_option("--username", args->username, "Whose account")->required();
    changes.emplace_back(sub, what);
  }
  CLI::App* us =
      user->add_subcommand("set-role", "Give a person a role in a lab (none removes it)");
  common(us, true);
  us->add_option("--username", args->username, "Whose role")->required();
  us->add_option("--lab", args->lab, "Lab code")->required();
  us->add_option("--role", args->role, "Role, or none")->required();
  us->add_option("--department", args->department, "Department in that lab (e.g. ED)");
  changes.emplace_back(us, "set-role");

  std::vector<std::pair<CLI::App*, int (*)(const IdentityArgs&)>> self;
  for (auto [name, help, run] :
       {std::tuple{"enroll", "Start your two-factor setup (password on standard input)",
                   &run_user_enroll},
        std::tuple{"confirm", "Finish it with a code from the app; prints recovery codes",
                   &run_user_confirm},
        std::tuple{"passwd", "Change your password (password, code, new password on stdin)",
                   &run_user_passwd}}) {
    CLI::App* sub = user->add_subcommand(name, help);
    sub->add_option("--config", args->config, "labvault.toml written by labvault init")->required();
    sub->add_option("--as", args->as, "Your username")->required();
    self.emplace_back(sub, run);
  }

  CLI::App* lab = app.add_subcommand("lab", "Labs (tenants): add, list");
  lab->require_subcommand(1);
  CLI::App* la = lab->add_subcommand("add", "Add a lab (system administrators)");
  common(la, true);
  la->add_option("--code", args->lab, "Short code, e.g. NORTH")->required();
  la->add_option("--name", args->client_name, "The laboratory's name")->required();
  CLI::App* ll = lab->add_subcommand("list", "List labs (yours, for a lab admin)");
  common(ll, true);

  CLI::App* client =
      app.add_subcommand("client", "SMART backend-services clients: add, list, revoke");
  client->require_subcommand(1);
  CLI::App* ca = client->add_subcommand("add", "Register a system with its public keys");
  common(ca, true);
  ca->add_option("--id", args->client_id, "client_id (the assertion's iss and sub)")->required();
  ca->add_option("--lab", args->lab, "The one lab its tokens reach")->required();
  ca->add_option("--name", args->client_name, "The system's name");
  ca->add_option("--public-key", args->public_keys, "PEM public key(s) or JWKS file")
      ->required()
      ->check(CLI::ExistingFile);
  ca->add_option("--scopes", args->scopes, "SMART v2 scopes, e.g. \"system/Observation.rs\"")
      ->required();
  CLI::App* cl = client->add_subcommand("list", "List clients");
  common(cl, true);
  cl->add_option("--lab", args->lab, "Lab code");
  CLI::App* cr = client->add_subcommand("revoke", "Revoke a client and its tokens");
  common(cr, true);
  cr->add_option("--id", args->client_id, "client_id")->required();

  return [=]() -> std::optional<int> {
    if (ua->parsed()) return run_user_add(*args);
    if (ul->parsed()) return run_user_list(*args);
    for (const auto& [sub, what] : changes) {
      if (sub->parsed()) return run_user_change(*args, what);
    }
    for (const auto& [sub, run] : self) {
      if (sub->parsed()) return run(*args);
    }
    if (la->parsed()) return run_lab_add(*args);
    if (ll->parsed()) return run_lab_list(*args);
    if (ca->parsed()) return run_client_add(*args);
    if (cl->parsed()) return run_client_list(*args);
    if (cr->parsed()) return run_client_revoke(*args);
    return std::nullopt;
  };
}

}  // namespace labvault::cli
