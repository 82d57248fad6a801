// Policies as data: [[rules]] and [views.NAME] from TOML (toml++), checked so that a typo is a
// startup error naming the line, never a silently broader or narrower policy.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "access/policy.hpp"
#include "access/roles.hpp"

namespace labvault::access {

namespace {

using model::ErrorCode;

// default_policy.toml, compiled in (CMake re-runs when it changes).
constexpr std::string_view kDefaultPolicy =
#include "default_policy.inc"
    ;

constexpr std::array<std::string_view, 9> kKinds = {
    "Patient",    "Observation", "DiagnosticReport", "Specimen", "ServiceRequest",
    "AuditEvent", "User",        "Client",           "Config"};
constexpr std::array<std::string_view, 8> kActions = {"read",   "search", "create", "update",
                                                      "delete", "export", "admin",  "unmask"};
constexpr std::array<std::string_view, 4> kRequirements = {"care-relationship", "own-record",
                                                           "scope", "same-department"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

struct Reader {
  std::string_view source;
  model::Error error(const toml::node& at, std::string what) const {
    return {ErrorCode::kConfig,
            std::move(what),
            {.file = std::string(source), .line = static_cast<int>(at.source().begin.line)}};
  }
  // A list of strings, each accepted by `valid`.
  template <typename Valid>
  model::Result<std::vector<std::string>> strings(const toml::table& t, const char* key,
                                                  Valid valid) const {
    std::vector<std::string> out;
    const toml::node* node = t.get(key);
    if (!node) return out;
    const toml::array* a = node->as_array();
    if (!a) return std::unexpected(error(*node, fmt::format("{} must be a list of strings", key)));
    for (const toml::node& item : *a) {
      auto s = item.value<std::string>();
      if (!s) return std::unexpected(error(item, fmt::format("{} must hold strings", key)));
      if (!valid(*s)) {
        return std::unexpected(error(item, fmt::format("{}: '{}' is not known", key, *s)));
      }
      out.push_back(std::move(*s));
    }
    return out;
  }
};

// "HH:MM-HH:MM" -> [from, to) in minutes.
bool parse_hours(std::string_view text, int& from, int& to) {
  int h1, m1, h2, m2;
  if (std::sscanf(std::string(text).c_str(), "%d:%d-%d:%d", &h1, &m1, &h2, &m2) != 4) return false;
  from = h1 * 60 + m1;
  to = h2 * 60 + m2;
  return from >= 0 && to <= 24 * 60 && from < to && m1 < 60 && m2 < 60;
}

model::Result<Rule> read_rule(const Reader& r, const toml::table& t) {
  Rule rule;
  rule.id = t["id"].value_or(std::string());
  if (rule.id.empty()) return std::unexpected(r.error(t, "a rule needs an id"));
  auto roles =
      r.strings(t, "roles", [](std::string_view v) { return is_role(v) || v == "client"; });
  if (!roles) return std::unexpected(roles.error());
  auto actions = r.strings(t, "actions", [](std::string_view v) { return one_of(kActions, v); });
  if (!actions) return std::unexpected(actions.error());
  auto kinds = r.strings(t, "kinds", [](std::string_view v) { return one_of(kKinds, v); });
  if (!kinds) return std::unexpected(kinds.error());
  auto purposes = r.strings(t, "purposes", [](std::string_view v) { return !v.empty(); });
  if (!purposes) return std::unexpected(purposes.error());
  auto require =
      r.strings(t, "require", [](std::string_view v) { return one_of(kRequirements, v); });
  if (!require) return std::unexpected(require.error());
  auto sensitive = r.strings(t, "sensitive",
                             [](std::string_view v) { return parse_sensitivity(v).has_value(); });
  if (!sensitive) return std::unexpected(sensitive.error());
  if (roles->empty() || actions->empty() || kinds->empty()) {
    return std::unexpected(
        r.error(t, fmt::format("rule {} needs roles, actions and kinds", rule.id)));
  }
  rule.roles = std::move(*roles);
  rule.actions = std::move(*actions);
  rule.kinds = std::move(*kinds);
  rule.purposes = std::move(*purposes);
  rule.require = std::move(*require);
  for (const std::string& s : *sensitive) rule.sensitive_allowed.insert(*parse_sensitivity(s));
  rule.view = t["view"].value_or(std::string());
  rule.break_glass_eligible = t["break_glass"].value_or(false);
  if (auto hours = t["hours"].value<std::string>()) {
    if (!parse_hours(*hours, rule.from_minute, rule.to_minute)) {
      return std::unexpected(
          r.error(t, fmt::format("rule {}: hours must be HH:MM-HH:MM", rule.id)));
    }
  }
  return rule;
}

model::Result<Policy> parse_into(Policy base, std::string_view text, std::string_view source,
                                 std::vector<Rule>& rules, std::vector<View>& views) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return model::fail(
        ErrorCode::kConfig, std::string(e.description()),
        {.file = std::string(source), .line = static_cast<int>(e.source().begin.line)});
  }
  Reader reader{source};
  if (const toml::table* vt = table["views"].as_table()) {
    for (const auto& [name, node] : *vt) {
      const toml::table* v = node.as_table();
      if (!v) return std::unexpected(reader.error(node, "a view is a table with fields = [...]"));
      auto fields =
          reader.strings(*v, "fields", [](std::string_view f) { return one_of(kViewFields, f); });
      if (!fields) return std::unexpected(fields.error());
      View view{std::string(name.str()), {fields->begin(), fields->end()}};
      std::erase_if(views, [&](const View& x) { return x.name == view.name; });
      views.push_back(std::move(view));
    }
  }
  if (const toml::node* rn = table.get("rules")) {
    const toml::array* ra = rn->as_array();
    if (!ra) return std::unexpected(reader.error(*rn, "rules is an array of tables: [[rules]]"));
    for (const toml::node& node : *ra) {
      const toml::table* t = node.as_table();
      if (!t) return std::unexpected(reader.error(node, "each [[rules]] entry is a table"));
      auto rule = read_rule(reader, *t);
      if (!rule) return std::unexpected(rule.error());
      auto same =
          std::find_if(rules.begin(), rules.end(), [&](const Rule& x) { return x.id == rule->id; });
      if (same != rules.end()) {
        *same = std::move(*rule);  // an override keeps the default's place in the order
      } else {
        rules.push_back(std::move(*rule));
      }
    }
  }
  for (const Rule& rule : rules) {
    if (std::none_of(views.begin(), views.end(),
                     [&](const View& v) { return v.name == rule.view; })) {
      return model::fail(
          ErrorCode::kConfig,
          fmt::format("rule {} names view '{}', which is not defined", rule.id, rule.view),
          {.file = std::string(source)});
    }
  }
  return base;
}

}  // namespace

model::Result<Policy> Policy::parse(std::string_view toml_text, std::string_view source_name) {
  Policy p;
  auto r = parse_into(Policy{}, toml_text, source_name, p.rules_, p.views_);
  if (!r) return std::unexpected(r.error());
  return p;
}

Policy Policy::defaults() {
  auto p = parse(kDefaultPolicy, "default_policy.toml");
  // The shipped file is checked by the tests; it cannot fail at run time unless edited badly.
  return p ? std::move(*p) : Policy{};
}

model::Result<Policy> Policy::with_overrides(std::string_view toml_text,
                                             std::string_view source_name) {
  Policy p = defaults();
  auto r = parse_into(Policy{}, toml_text, source_name, p.rules_, p.views_);
  if (!r) return std::unexpected(r.error());
  return p;
}

}  // namespace labvault::access
