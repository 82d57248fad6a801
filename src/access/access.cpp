#include "access/access.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "access/roles.hpp"

namespace labvault::access {

using model::ErrorCode;

namespace {

constexpr std::int64_t kMinuteUs = 60'000'000;

audit::Action audit_action(std::string_view action) {
  using A = audit::Action;
  if (action == "search") return A::kSearch;
  if (action == "create") return A::kCreate;
  if (action == "update") return A::kUpdate;
  if (action == "delete") return A::kDelete;
  if (action == "export") return A::kExport;
  if (action == "unmask") return A::kUnmask;
  if (action == "admin") return A::kUserAdmin;
  return A::kRead;
}

}  // namespace

Requester requester_of(const Subject& person) {
  Requester r;
  r.actor = person.actor();
  r.system_admin = person.system_admin;
  for (const store::Membership& m : person.memberships) {
    r.roles.push_back({m.lab, m.role, m.department});
  }
  return r;
}

Requester requester_of(const ClientPrincipal& client) {
  Requester r;
  r.actor = client.actor();
  r.is_client = true;
  r.client_lab = client.lab;
  r.scopes = client.scopes;
  return r;
}

Access::Access(store::Store& store, audit::Log& log, Identity& identity, Policy policy,
               AccessOptions options)
    : store_(store),
      log_(log),
      identity_(identity),
      policy_(std::move(policy)),
      options_(std::move(options)) {}

model::Result<Requester> Access::requester(const Subject& person) {
  Requester r = requester_of(person);
  for (Requester::LabRole& role : r.roles) {
    if (role.role != "patient") continue;
    auto linked = store_.linked_patient(person.user, role.lab);
    if (!linked) return std::unexpected(linked.error());
    role.own_patient = *linked;
  }
  return r;
}

model::Result<void> Access::link_patient(const Subject& admin, store::Id user, store::Id lab,
                                         store::Id patient, const RequestContext& ctx) {
  if (auto r = identity_.require_admin_of(admin, lab); !r) return r;
  auto person = store_.read_user(user);
  if (!person) return std::unexpected(person.error());
  const bool is_patient =
      std::any_of(person->memberships.begin(), person->memberships.end(),
                  [&](const store::Membership& m) { return m.lab == lab && m.role == "patient"; });
  if (!is_patient) {
    return model::fail(ErrorCode::kUsage, "only a person with the patient role here is linked");
  }
  audit::Event e = request_event(admin.actor(), audit::Action::kUserAdmin, lab, ctx);
  e.patient = patient;
  e.resource = fmt::format("User/{}", user);
  e.outcome_detail = "patient-linked";
  if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  return store_.link_patient(user, lab, patient, admin.actor());
}

model::Result<Context> Access::context_for(store::Id user, const Resource& what,
                                           std::string_view purpose) {
  Context c;
  c.purpose = std::string(purpose);
  c.now_us = options_.clock();
  if (user == 0 || what.patient == 0) return c;
  auto care = store_.has_care_relationship(user, what.lab, what.patient, c.now_us);
  if (!care) return std::unexpected(care.error());
  c.care_relationship = *care;
  auto grants = store_.active_grants(user, what.lab, what.patient, c.now_us);
  if (!grants) return std::unexpected(grants.error());
  for (const store::AccessGrant& g : *grants) {
    if (g.kind == "break-glass") c.break_glass = true;
    if (g.kind == "unmask") {
      if (auto s = parse_sensitivity(g.category)) c.unmasked.insert(*s);
    }
  }
  return c;
}

model::Result<Decision> Access::authorize(const Requester& who, store::Id user,
                                          std::string_view action, const Resource& what,
                                          std::string_view purpose, const RequestContext& ctx) {
  auto c = context_for(user, what, purpose);
  if (!c) return std::unexpected(c.error());
  Decision d = policy_.decide(who, action, what, *c);
  if (!d.permit) {
    // Invariant 4: every denial is on record before the answer leaves.
    audit::Event e = request_event(who.actor, audit_action(action), what.lab, ctx);
    e.outcome = audit::Outcome::kDenied;
    e.outcome_detail = d.rule;
    e.resource = what.kind;
    e.patient = what.patient;
    e.purpose = std::string(purpose);
    if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  }
  return d;
}

model::Result<void> Access::require_role(const Subject& who, store::Id lab,
                                         std::string_view role) const {
  auto held = who.role_in(lab);
  if (held && *held == role) return {};
  return model::fail(ErrorCode::kForbidden, fmt::format("this needs the {} role here", role));
}

// The grant's audit record first (fail closed; it holds the sealed reason), then the grant that
// points at it, lasting `lasts` from now.
model::Result<store::AccessGrant> Access::record_grant(const audit::Event& e, std::string_view kind,
                                                       store::Id user, std::string_view category,
                                                       std::chrono::minutes lasts) {
  auto seq = log_.record(e);
  if (!seq) return std::unexpected(seq.error());
  store::AccessGrant g;
  g.kind = std::string(kind);
  g.user = user;
  g.lab = e.lab;
  g.patient = e.patient;
  g.category = std::string(category);
  g.audit_seq = *seq;
  g.granted_us = options_.clock();
  g.expires_us = g.granted_us + lasts.count() * kMinuteUs;
  auto id = store_.add_grant(g);
  if (!id) return std::unexpected(id.error());
  g.id = *id;
  return g;
}

model::Result<store::AccessGrant> Access::break_glass(const Subject& who, store::Id lab,
                                                      store::Id patient, std::string_view reason,
                                                      const RequestContext& ctx) {
  if (auto r = identity_.require_recent_reauth(who); !r) return std::unexpected(r.error());
  if (reason.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return model::fail(ErrorCode::kUsage, "break-glass needs the reason for the emergency");
  }
  // Only a role whose rule lets break-glass stand in for a care relationship may declare one.
  auto role = who.role_in(lab);
  const bool eligible =
      role && std::any_of(policy_.rules().begin(), policy_.rules().end(), [&](const Rule& r) {
        return r.break_glass_eligible &&
               std::find(r.roles.begin(), r.roles.end(), *role) != r.roles.end();
      });
  if (!eligible) {
    audit::Event e = request_event(who.actor(), audit::Action::kBreakGlass, lab, ctx);
    e.outcome = audit::Outcome::kDenied;
    e.outcome_detail = "role-not-eligible";
    e.patient = patient;
    if (auto r = log_.record(e); !r) return std::unexpected(r.error());
    return model::fail(ErrorCode::kForbidden, "your role cannot declare an emergency here");
  }
  // The record comes first and carries the reason (sealed with the patient's key); it is the
  // privacy officers' alert (severity warning on the SIEM stream) and the review's evidence.
  audit::Event e = request_event(who.actor(), audit::Action::kBreakGlass, lab, ctx);
  e.role = *role;
  e.patient = patient;
  e.resource = fmt::format("Patient/{}", patient);
  e.purpose = "ETREAT";
  e.reason = std::string(reason);
  e.outcome_detail = "break-glass-granted";
  return record_grant(e, "break-glass", who.user, "", options_.break_glass_for);
}

model::Result<store::AccessGrant> Access::unmask(const Subject& who, store::Id lab,
                                                 store::Id patient, model::Sensitivity category,
                                                 std::string_view reason,
                                                 const RequestContext& ctx) {
  if (auto r = identity_.require_recent_reauth(who); !r) return std::unexpected(r.error());
  if (reason.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return model::fail(ErrorCode::kUsage, "unmasking needs a reason");
  }
  // Permitted only where the policy lets this person read the patient's results at all.
  Resource what{"Observation", lab, patient, {category}};
  auto d = authorize(requester_of(who), who.user, "read", what, "TREAT", ctx);
  if (!d) return std::unexpected(d.error());
  if (!d->permit) {
    return d->not_found
               ? model::fail(ErrorCode::kNotFound, "no such patient")
               : model::fail(ErrorCode::kForbidden, "you may not read this patient's results");
  }
  audit::Event e = request_event(who.actor(), audit::Action::kUnmask, lab, ctx);
  e.role = who.role_in(lab).value_or("");
  e.patient = patient;
  e.resource = fmt::format("Patient/{}", patient);
  e.purpose = "TREAT";
  e.reason = std::string(reason);
  e.outcome_detail = fmt::format("unmask-{}", sensitivity_code(category));
  return record_grant(e, "unmask", who.user, sensitivity_code(category), options_.unmask_for);
}

model::Result<store::Id> Access::assign_care(const Subject& admin, store::Id user, store::Id lab,
                                             store::Id patient, std::chrono::hours valid_for,
                                             const RequestContext& ctx) {
  if (auto r = identity_.require_admin_of(admin, lab); !r) return std::unexpected(r.error());
  audit::Event e = request_event(admin.actor(), audit::Action::kUserAdmin, lab, ctx);
  e.patient = patient;
  e.resource = fmt::format("User/{}", user);
  e.outcome_detail = "care-team-assigned";
  if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  const std::int64_t now = options_.clock();
  return store_.add_care_assignment(
      {0, user, lab, patient, now, now + valid_for.count() * 60 * kMinuteUs, admin.actor()});
}

model::Result<std::vector<Review>> Access::reviews(const Subject& officer, store::Id lab, bool all,
                                                   const RequestContext& ctx) {
  if (auto r = require_role(officer, lab, "privacy-officer"); !r) return std::unexpected(r.error());
  auto grants = store_.break_glass_grants(lab, all);
  if (!grants) return std::unexpected(grants.error());
  audit::Event e = request_event(officer.actor(), audit::Action::kSearch, lab, ctx);
  e.resource = "BreakGlassReview";
  e.outcome_detail = "review-queue";
  if (auto r = log_.record(e); !r) return std::unexpected(r.error());
  const std::int64_t cutoff =
      options_.clock() - std::int64_t{options_.review_within_days} * 24 * 60 * kMinuteUs;
  std::vector<Review> out;
  for (store::AccessGrant& g : *grants) {
    const bool escalated = g.reviewed_us == 0 && g.granted_us < cutoff;
    out.push_back({std::move(g), escalated});
  }
  return out;
}

model::Result<void> Access::review(const Subject& officer, store::Id lab, store::Id grant,
                                   std::string_view disposition, const RequestContext& ctx) {
  if (auto r = require_role(officer, lab, "privacy-officer"); !r) return r;
  if (disposition != "justified" && disposition != "unjustified" && disposition != "referred") {
    return model::fail(ErrorCode::kUsage, "the disposition is justified, unjustified or referred");
  }
  if (auto r = store_.review_grant(lab, grant, officer.actor(), disposition, options_.clock());
      !r) {
    return r;
  }
  audit::Event e = request_event(officer.actor(), audit::Action::kUpdate, lab, ctx);
  e.resource = fmt::format("BreakGlassReview/{}", grant);
  e.outcome_detail = fmt::format("reviewed-{}", disposition);
  auto r = log_.record(e);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace labvault::access
