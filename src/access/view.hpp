// The view engine: applies a decision's obligations to model data before anything is
// serialized. Fields the view does not name are removed; observations of a masked sensitive
// category lose their value, interpretation, range, notes and correction history.
// Invariant: every output path (API, export, delivery) runs its data through apply_view with the
// decision it got from Policy::decide; what it returns is what was withheld (for the audit
// record's masked_fields and FHIR's data-absent-reason "masked").
#pragma once

#include <set>
#include <string>

#include "access/policy.hpp"
#include "store/store.hpp"

namespace labvault::access {

// The withheld field paths, e.g. {"Patient.address", "Observation.value"}.
using Withheld = std::set<std::string>;

Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    store::PatientRecord& record);
Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Patient& patient);
Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Report& report);
Withheld apply_view(const View& view, const std::set<model::Sensitivity>& masked,
                    model::Order& order);

// The sensitive categories present in a report (what Resource::sensitive should say).
[[nodiscard]] std::set<model::Sensitivity> sensitive_categories(const model::Report& report);
[[nodiscard]] std::set<model::Sensitivity> sensitive_categories(const store::PatientRecord& r);

}  // namespace labvault::access
