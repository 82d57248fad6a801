// FHIR R4 resources -> model records, one function per resource. Links between resources that
// decide where a record goes (DiagnosticReport.result, ServiceRequest.supportingInfo, subject)
// are followed by from_fhir.cpp; these functions resolve only Practitioner/Organization
// references. Private to src/fhir.
#pragma once

#include "fhir/internal/read_types.hpp"
#include "model/lab.hpp"

namespace labvault::fhir::internal {

[[nodiscard]] model::Patient read_patient(const Node& patient);
[[nodiscard]] model::Encounter read_encounter(const Node& encounter, const ResourceIndex& index);
[[nodiscard]] model::Specimen read_specimen(const Node& specimen);
// `ask_at_order_entry` decides what status "unknown" maps to (see result_status_from_fhir).
[[nodiscard]] model::Observation read_observation(const Node& observation,
                                                  const ResourceIndex& index,
                                                  bool ask_at_order_entry);
// Without the AOE answers (supportingInfo), which the caller reads.
[[nodiscard]] model::Order read_order(const Node& service_request, const ResourceIndex& index);
// Without observations and specimens, which the caller reads.
[[nodiscard]] model::Report read_report(const Node& diagnostic_report, const ResourceIndex& index);

}  // namespace labvault::fhir::internal
