// One lab record -> one FHIR R4 resource, shared by the transaction Bundle writer (references are
// urn:uuid fullUrls) and the server's read API (references are "Type/id"). The caller resolves
// references; these functions only map fields. Private to src/fhir.
#pragma once

#include <string>
#include <vector>

#include "fhir/internal/json_io.hpp"
#include "model/lab.hpp"

namespace labvault::fhir::internal {

[[nodiscard]] OutJson resource(std::string_view type);
// meta.security for the sensitive categories among `observations` (R4 security-labels.html);
// null when none is sensitive.
[[nodiscard]] OutJson security(const std::vector<const model::Observation*>& observations);

// Times without an offset are written in `zone` (minutes east of UTC).
[[nodiscard]] OutJson patient_json(const model::Patient& p, int zone);

struct ObservationRefs {
  std::string patient, encounter, based_on, specimen;  // reference URLs, "" when none
  std::vector<OutJson> performers;                     // Reference objects
  bool ask_at_order_entry = false;  // an AOE answer: not in category "laboratory"
  // Clinically relevant time when OBX-14 is empty: OBR-7, else the specimen's collection
  // (HL7 v2-to-FHIR IG), so results chart at the time they describe, not without one.
  model::DateTime effective_fallback = {};
};
[[nodiscard]] OutJson observation_json(const model::Observation& o, const ObservationRefs& refs,
                                       int zone);

struct OrderRefs {
  std::string patient, encounter;
  OutJson requester = nullptr;  // a Reference object
  std::vector<std::string> supporting_info, specimens;
};
// `related`: the AOE answers and results of the order, whose labels the order carries too.
[[nodiscard]] OutJson order_json(const model::Order& o,
                                 const std::vector<const model::Observation*>& related,
                                 const OrderRefs& refs, int zone);

[[nodiscard]] OutJson specimen_json(const model::Specimen& s, const std::string& patient,
                                    const std::string& request, int zone);

struct ReportRefs {
  std::string patient, encounter, based_on;
  std::vector<OutJson> interpreters;  // Reference objects
  std::vector<std::string> specimens, results;
};
[[nodiscard]] OutJson report_json(const model::Report& rep, const ReportRefs& refs, int zone);

}  // namespace labvault::fhir::internal
