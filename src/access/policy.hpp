// The policy decision point (DESIGN.md invariants 6 and 7): for every request, permit or deny,
// which view of the data leaves, which fields are masked, and why. Policies are data (rules and
// views in TOML, shipped defaults overridable in the config); deny is the default.
// Invariant: one decision point. Every output path (API responses, exports, deliveries) asks
// decide() and applies its obligations with the view engine (view.hpp); nothing else grants.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/error.hpp"
#include "model/lab.hpp"

namespace labvault::access {

using Id = std::int64_t;

// Who asks, as the policy sees them: a person (roles per lab) or a system (SMART scopes).
struct Requester {
  std::string actor;          // "user:12", "client:ehr-1"
  bool system_admin = false;  // a person flag: administration, no PHI
  struct LabRole {
    Id lab = 0;
    std::string role, department;
    Id own_patient = 0;  // role "patient": the person's own record in this lab, 0 if not linked
  };
  std::vector<LabRole> roles;
  bool is_client = false;
  Id client_lab = 0;                // a client's one lab
  std::vector<std::string> scopes;  // SMART v2 system scopes of a client
};

// What is asked for. Facts only (ids, codes), never PHI.
struct Resource {
  std::string kind;  // Patient, Observation, DiagnosticReport, Specimen, ServiceRequest,
                     // AuditEvent, User, Client, Config
  Id lab = 0;
  Id patient = 0;                          // 0: not about one patient
  std::set<model::Sensitivity> sensitive;  // categories present in what would be released
  std::string department;                  // of the encounter it belongs to (e.g. "ED"), when known
};

// The circumstances: purpose of use (HL7 v3 PurposeOfUse), time, and the grants in force.
struct Context {
  std::string purpose = "TREAT";  // TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PATRQT, ...
  std::int64_t now_us = 0;
  int local_minutes = -1;  // minutes since local midnight for time-of-day windows; -1: now_us
  bool care_relationship = false;         // an active care-team assignment to resource.patient
  bool break_glass = false;               // an active break-glass grant for resource.patient
  std::set<model::Sensitivity> unmasked;  // active just-in-time unmasks for resource.patient
};

struct Decision {
  bool permit = false;
  bool not_found = false;  // answer as if the resource did not exist (another lab's)
  std::string rule;        // the rule that permitted, or the reason code of the denial
  std::string view;        // the field set that may leave
  std::set<model::Sensitivity> masked_categories;  // sensitive categories withheld
  bool break_glass = false;  // permitted only because of break-glass: flag the audit record
  std::vector<std::string> explanation;  // one line per rule considered, for `access explain`
};

// Every field a view can name: what the view engine (view.cpp) knows how to withhold.
inline constexpr std::array<std::string_view, 34> kViewFields = {"Patient.identifier",
                                                                 "Patient.name",
                                                                 "Patient.birthDate",
                                                                 "Patient.gender",
                                                                 "Patient.address",
                                                                 "Patient.telecom",
                                                                 "Encounter.identifier",
                                                                 "Encounter.class",
                                                                 "Encounter.location",
                                                                 "ServiceRequest.identifier",
                                                                 "ServiceRequest.code",
                                                                 "ServiceRequest.requester",
                                                                 "ServiceRequest.authoredOn",
                                                                 "ServiceRequest.reasonCode",
                                                                 "ServiceRequest.note",
                                                                 "DiagnosticReport.identifier",
                                                                 "DiagnosticReport.code",
                                                                 "DiagnosticReport.status",
                                                                 "DiagnosticReport.effective",
                                                                 "DiagnosticReport.issued",
                                                                 "DiagnosticReport.conclusion",
                                                                 "Observation.code",
                                                                 "Observation.status",
                                                                 "Observation.value",
                                                                 "Observation.interpretation",
                                                                 "Observation.referenceRange",
                                                                 "Observation.effective",
                                                                 "Observation.issued",
                                                                 "Observation.performer",
                                                                 "Observation.note",
                                                                 "Specimen.identifier",
                                                                 "Specimen.type",
                                                                 "Specimen.collected",
                                                                 "Specimen.received"};

// A named field set ("Patient.name", "Observation.value", ...): what a view lets leave.
struct View {
  std::string name;
  std::set<std::string> fields;
};

struct Rule {
  std::string id;
  std::vector<std::string> roles;     // role codes; "client" for SMART clients
  std::vector<std::string> actions;   // read, search, create, export, admin, ...
  std::vector<std::string> kinds;     // resource kinds
  std::vector<std::string> purposes;  // empty: any
  std::vector<std::string> require;   // care-relationship, own-record, scope, same-department
  std::string view;                   // the view applied when this rule permits
  std::set<model::Sensitivity> sensitive_allowed;  // categories shown without an unmask
  int from_minute = 0, to_minute = 24 * 60;        // time-of-day window [from, to)
  bool break_glass_eligible = false;  // a break-glass grant stands in for "care-relationship"
};

class Policy {
 public:
  // The shipped defaults (secure: every PHI read needs a role, a purpose and, for clinicians,
  // a care relationship; sensitive categories masked for everyone; admins read no PHI).
  [[nodiscard]] static Policy defaults();
  // Rules and views from TOML text ([[rules]] and [views.NAME]); kConfig errors name the line.
  [[nodiscard]] static model::Result<Policy> parse(std::string_view toml_text,
                                                   std::string_view source_name);
  // The defaults with `overrides` applied: a rule or view of the same id replaces the default.
  [[nodiscard]] static model::Result<Policy> with_overrides(std::string_view toml_text,
                                                            std::string_view source_name);

  [[nodiscard]] Decision decide(const Requester& who, std::string_view action, const Resource& what,
                                const Context& ctx) const;
  [[nodiscard]] const View* view(std::string_view name) const;
  [[nodiscard]] const std::vector<Rule>& rules() const { return rules_; }
  [[nodiscard]] const std::vector<View>& views() const { return views_; }

 private:
  std::vector<Rule> rules_;
  std::vector<View> views_;
};

[[nodiscard]] std::string_view sensitivity_code(model::Sensitivity s);  // "hiv", "genetic", ...
[[nodiscard]] std::optional<model::Sensitivity> parse_sensitivity(std::string_view code);

}  // namespace labvault::access
