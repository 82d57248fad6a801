// decide(): lab isolation first (another lab's resource does not exist), then the first rule
// whose every condition holds, then the sensitive categories that stay masked.
#include "access/policy.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace labvault::access {

namespace {

constexpr std::int64_t kMinuteUs = 60'000'000;

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool is_admin_kind(std::string_view kind) {
  return kind == "User" || kind == "Client" || kind == "Config" || kind == "Lab";
}

// SMART v2: read -> r, search -> s, create -> c on the resource type (or "*").
bool scope_allows(const std::vector<std::string>& scopes, std::string_view kind,
                  std::string_view action) {
  char p = action == "read" ? 'r' : action == "search" ? 's' : action == "create" ? 'c' : '\0';
  if (p == '\0') return false;
  for (const std::string& s : scopes) {
    auto dot = s.find('.');
    if (!s.starts_with("system/") || dot == std::string::npos) continue;
    std::string_view type = std::string_view(s).substr(7, dot - 7);
    std::string_view perms = std::string_view(s).substr(dot + 1);
    if ((type == "*" || type == kind) && perms.find(p) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string_view sensitivity_code(model::Sensitivity s) {
  switch (s) {
    case model::Sensitivity::kHiv:
      return "hiv";
    case model::Sensitivity::kGenetic:
      return "genetic";
    case model::Sensitivity::kSubstanceUse:
      return "substance-use";
    case model::Sensitivity::kBehavioralHealth:
      return "behavioral-health";
    case model::Sensitivity::kSexualHealth:
      return "sexual-health";
    case model::Sensitivity::kNone:
      break;
  }
  return "none";
}

std::optional<model::Sensitivity> parse_sensitivity(std::string_view code) {
  using S = model::Sensitivity;
  for (S s : {S::kHiv, S::kGenetic, S::kSubstanceUse, S::kBehavioralHealth, S::kSexualHealth}) {
    if (sensitivity_code(s) == code) return s;
  }
  return std::nullopt;
}

const View* Policy::view(std::string_view name) const {
  for (const View& v : views_) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Decision Policy::decide(const Requester& who, std::string_view action, const Resource& what,
                        const Context& ctx) const {
  Decision d;
  auto deny = [&](std::string reason) {
    d.permit = false;
    d.rule = std::move(reason);
    d.explanation.push_back("deny: " + d.rule);
    return d;
  };
  // System administration: labs, people, clients and configuration anywhere, and no PHI.
  if (who.system_admin && is_admin_kind(what.kind) &&
      (action == "admin" || action == "read" || action == "search")) {
    d.permit = true;
    d.rule = "system-admin-administration";
    d.view = "administrative";
    d.explanation.push_back("permit: system administrator, administrative resource");
    return d;
  }
  // Lab isolation (invariant 6): the roles this requester holds in the resource's lab.
  std::vector<std::string> roles;
  std::string department;
  Id own_patient = 0;
  if (who.is_client) {
    if (who.client_lab == what.lab) roles.push_back("client");
  } else {
    for (const Requester::LabRole& r : who.roles) {
      if (r.lab != what.lab) continue;
      roles.push_back(r.role);
      department = r.department;
      if (r.own_patient != 0) own_patient = r.own_patient;
    }
  }
  if (roles.empty()) {
    d.not_found = true;
    return deny(who.system_admin && !is_admin_kind(what.kind) ? "administrators-read-no-phi"
                                                              : "no-role-in-this-lab");
  }
  const int minute = ctx.local_minutes >= 0
                         ? ctx.local_minutes
                         : static_cast<int>((ctx.now_us / kMinuteUs) % (24 * 60));
  for (const Rule& r : rules_) {
    auto skip = [&](std::string why) {
      d.explanation.push_back(fmt::format("rule {}: {}", r.id, why));
    };
    auto role = std::find_if(roles.begin(), roles.end(),
                             [&](const std::string& x) { return contains(r.roles, x); });
    if (role == roles.end()) {
      skip(fmt::format("role {} not in {}", fmt::join(roles, ","), fmt::join(r.roles, ",")));
      continue;
    }
    if (!contains(r.actions, action)) {
      skip(fmt::format("action {} not in {}", action, fmt::join(r.actions, ",")));
      continue;
    }
    if (!contains(r.kinds, what.kind)) {
      skip(fmt::format("resource {} not in {}", what.kind, fmt::join(r.kinds, ",")));
      continue;
    }
    if (!r.purposes.empty() && !contains(r.purposes, ctx.purpose)) {
      skip(fmt::format("purpose {} not in {}", ctx.purpose, fmt::join(r.purposes, ",")));
      continue;
    }
    if (minute < r.from_minute || minute >= r.to_minute) {
      skip("outside the rule's hours");
      continue;
    }
    bool met = true, by_break_glass = false;
    for (const std::string& need : r.require) {
      if (need == "care-relationship") {
        if (ctx.care_relationship) continue;
        if (r.break_glass_eligible && ctx.break_glass) {
          by_break_glass = true;
          continue;
        }
        skip("no care relationship with this patient (break-glass would stand in)");
      } else if (need == "own-record") {
        if (own_patient != 0 && own_patient == what.patient) continue;
        skip("not the person's own record");
      } else if (need == "same-department") {
        if (!department.empty() && department == what.department) continue;
        skip("not the department of this encounter");
      } else if (need == "scope") {
        if (who.is_client && scope_allows(who.scopes, what.kind, action)) continue;
        skip("no SMART scope grants this");
      } else {
        skip(fmt::format("unknown requirement {}", need));
      }
      met = false;
      break;
    }
    if (!met) continue;
    d.permit = true;
    d.rule = r.id;
    d.view = r.view;
    d.break_glass = by_break_glass;
    for (model::Sensitivity s : what.sensitive) {
      if (!r.sensitive_allowed.contains(s) && !ctx.unmasked.contains(s)) {
        d.masked_categories.insert(s);
      }
    }
    d.explanation.push_back(fmt::format("permit: rule {} (view {}{})", r.id, r.view,
                                        by_break_glass ? ", under break-glass" : ""));
    for (model::Sensitivity s : d.masked_categories) {
      d.explanation.push_back(
          fmt::format("mask: {} (sensitive; not unmasked)", sensitivity_code(s)));
    }
    return d;
  }
  return deny("no-rule-permits");
}

}  // namespace labvault::access
