// A patient's stored record as the FHIR resources the API serves, each already shaped by the
// view the policy chose (the copy holds only what may leave), with the links and search facts
// the read and search routes need. Private to src/api.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "access/policy.hpp"
#include "fhir/search.hpp"
#include "fhir/server.hpp"
#include "store/store.hpp"

namespace labvault::api {

inline constexpr std::string_view kKinds[] = {"Patient", "Observation", "DiagnosticReport",
                                              "ServiceRequest", "Specimen"};
[[nodiscard]] bool is_kind(std::string_view type);

struct Item {
  std::string_view type;  // one of kKinds
  store::Id id = 0, patient = 0;
  std::variant<model::Patient, model::Observation, model::Report, model::Order, model::Specimen>
      data;                 // after the view
  fhir::Withheld withheld;  // what the view took out
  // Links to other resources of the same record.
  store::Id order = 0, specimen = 0;
  std::vector<store::Id> observations, specimens;  // a report's results, a report's or order's
  model::DateTime effective_fallback;              // an observation without its own time
  std::vector<model::Observation> related;         // an order's results (for their labels)
  model::DateTime date;  // the type's date search parameter (date, authored, collected)
};

// The sensitive categories a resource of `type` in `r` would reveal (the policy's facts).
[[nodiscard]] std::set<model::Sensitivity> sensitive_in(const store::PatientRecord& r,
                                                        std::string_view type);

// Every resource of `type` in `r`, shaped by `view` with `masked` categories withheld.
[[nodiscard]] std::vector<Item> items_of(const store::PatientRecord& r, std::string_view type,
                                         const access::View& view,
                                         const std::set<model::Sensitivity>& masked);

[[nodiscard]] std::string render(const Item& item, const fhir::ServerOptions& options);

// Whether `item` satisfies every criterion of `q` except patient and _id (the caller picks the
// records). Withheld fields match nothing: a search must not reveal what a read would not.
[[nodiscard]] bool matches(const Item& item, const fhir::SearchRequest& q, int zone);

}  // namespace labvault::api
