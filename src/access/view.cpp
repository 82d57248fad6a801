#include "access/view.hpp"

#include <algorithm>
#include <variant>

namespace labvault::access {

namespace {

// Clears `value` unless the view names `field`; records what it withheld.
class Masker {
 public:
  Masker(const View& view, Withheld& out) : view_(view), out_(out) {}
  template <typename T>
  void keep_if_allowed(std::string_view field, T& value) {
    if (view_.fields.contains(std::string(field))) return;
    if (is_empty(value)) return;
    value = T{};
    out_.emplace(field);
  }
  void withheld(std::string_view field) { out_.emplace(field); }
  [[nodiscard]] bool allows(std::string_view field) const {
    return view_.fields.contains(std::string(field));
  }

 private:
  template <typename T>
  static bool is_empty(const T& v) {
    if constexpr (requires { v.empty(); }) {
      return v.empty();
    } else {
      return v == T{};
    }
  }
  const View& view_;
  Withheld& out_;
};

void mask_observation(Masker& m, const std::set<model::Sensitivity>& masked,
                      model::Observation& o) {
  m.keep_if_allowed("Observation.code", o.code);
  m.keep_if_allowed("Observation.effective", o.observed);
  m.keep_if_allowed("Observation.issued", o.issued);
  m.keep_if_allowed("Observation.performer", o.performers);
  m.keep_if_allowed("Observation.note", o.notes);
  m.keep_if_allowed("Observation.value", o.value);
  m.keep_if_allowed("Observation.interpretation", o.abnormal_flags);
  m.keep_if_allowed("Observation.referenceRange", o.reference_range);
  // Earlier versions carry earlier values: they go wherever the value goes.
  const bool value_hidden =
      std::holds_alternative<std::monostate>(o.value) || masked.contains(o.sensitivity);
  if (masked.contains(o.sensitivity)) {
    // Sensitive and not unmasked: what the result was stays in the store.
    if (!std::holds_alternative<std::monostate>(o.value)) m.withheld("Observation.value");
    o.value = {};
    if (!o.abnormal_flags.empty()) m.withheld("Observation.interpretation");
    o.abnormal_flags.clear();
    if (o.reference_range != model::ReferenceRange{}) m.withheld("Observation.referenceRange");
    o.reference_range = {};
    if (!o.notes.empty()) m.withheld("Observation.note");
    o.notes.clear();
  }
  if (value_hidden && !o.history.empty()) o.history.clear();
}

void mask_specimen(Masker& m, model::Specimen& s) {
  m.keep_if_allowed("Specimen.identifier", s.id);
  m.keep_if_allowed("Specimen.type", s.type);
  m.keep_if_allowed("Specimen.collected", s.collected);
  m.keep_if_allowed("Specimen.received", s.received);
  m.keep_if_allowed("Specimen.type", s.collection_method);
  m.keep_if_allowed("Specimen.type", s.source_site);
}

void mask_report(Masker& m, const std::set<model::Sensitivity>& masked, model::Report& r) {
  m.keep_if_allowed("DiagnosticReport.identifier", r.placer_order_number);
  m.keep_if_allowed("DiagnosticReport.identifier", r.filler_order_number);
  m.keep_if_allowed("DiagnosticReport.code", r.service);
  m.keep_if_allowed("DiagnosticReport.effective", r.observed);
  m.keep_if_allowed("DiagnosticReport.issued", r.issued);
  m.keep_if_allowed("DiagnosticReport.conclusion", r.notes);
  m.keep_if_allowed("DiagnosticReport.performer", r.result_interpreters);
  // A report's conclusion speaks about its results: one masked result masks it too.
  const bool any_masked = std::ranges::any_of(
      r.observations, [&](const model::Observation& o) { return masked.contains(o.sensitivity); });
  if (any_masked && !r.notes.empty()) {
    r.notes.clear();
    m.withheld("DiagnosticReport.conclusion");
  }
  for (model::Observation& o : r.observations) mask_observation(m, masked, o);
  for (model::Specimen& s : r.specimens) mask_specimen(m, s);
}

void mask_order(Masker& m, const std::set<model::Sensitivity>& masked, model::Order& o) {
  m.keep_if_allowed("ServiceRequest.identifier", o.placer_order_number);
  m.keep_if_allowed("ServiceRequest.identifier", o.filler_order_number);
  m.keep_if_allowed("ServiceRequest.identifier", o.placer_group_number);
  m.keep_if_allowed("ServiceRequest.code", o.service);
  m.keep_if_allowed("ServiceRequest.requester", o.ordering_provider);
  m.keep_if_allowed("ServiceRequest.authoredOn", o.ordered);
  m.keep_if_allowed("ServiceRequest.reasonCode", o.reason);
  m.keep_if_allowed("ServiceRequest.note", o.notes);
  // Ask-at-order-entry answers (pregnancy, fasting, ...) are observations about the patient.
  for (model::Observation& a : o.ask_at_order_entry) mask_observation(m, masked, a);
  for (model::Specimen& s : o.specimens) mask_specimen(m, s);
}

void mask_patient(Masker& m, model::Patient& p) {
  m.keep_if_allowed("Patient.identifier", p.identifiers);
  m.keep_if_allowed("Patient.name", p.names);
  m.keep_if_allowed("Patient.birthDate", p.birth_date);
  if (p.sex != model::Sex::kUnknown && !m.allows("Patient.gender")) {
    p.sex = model::Sex::kUnknown;
    m.withheld("Patient.gender");
  }
  m.keep_if_allowed("Patient.address", p.addresses);
  m.keep_if_allowed("Patient.telecom", p.phones);
}

void mask_encounter(Masker& m, model::Encounter& e) {
  m.keep_if_allowed("Encounter.identifier", e.visit_number);
  m.keep_if_allowed("Encounter.class", e.patient_class);
  m.keep_if_allowed("Encounter.location", e.location);
  m.keep_if_allowed("Encounter.location", e.attending);
  m.keep_if_allowed("Encounter.location", e.admitted);
}

}  // namespace

Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    store::PatientRecord& record) {
  Withheld out;
  Masker m(view, out);
  mask_patient(m, record.patient);
  for (model::Encounter& e : record.encounters) mask_encounter(m, e);
  for (store::StoredOrder& o : record.orders) mask_order(m, masked, o.order);
  for (store::StoredReport& r : record.reports) mask_report(m, masked, r.report);
  return out;
}

Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Patient& patient) {
  (void)masked;
  Withheld out;
  Masker m(view, out);
  mask_patient(m, patient);
  return out;
}

Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Report& report) {
  Withheld out;
  Masker m(view, out);
  mask_report(m, masked, report);
  return out;
}

Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Order& order) {
  Withheld out;
  Masker m(view, out);
  mask_order(m, masked, order);
  return out;
}

std::set<model::Sensitivity> sensitive_categories(const model::Report& report) {
  std::set<model::Sensitivity> out;
  for (const model::Observation& o : report.observations) {
    if (o.sensitivity != model::Sensitivity::kNone) out.insert(o.sensitivity);
  }
  return out;
}

std::set<model::Sensitivity> sensitive_categories(const store::PatientRecord& r) {
  std::set<model::Sensitivity> out;
  for (const store::StoredReport& sr : r.reports) out.merge(sensitive_categories(sr.report));
  return out;
}

}  // namespace labvault::access
