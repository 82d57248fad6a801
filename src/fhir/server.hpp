// Stored lab records -> the FHIR R4 resources a server returns (Patient/12, Observation/40...),
// after the access policy's view was applied. Resources are compact JSON text so that the API
// assembles Bundles without parsing them again.
// Invariant (DESIGN.md 7): what a view withheld is gone from the resource, which then carries the
// security label REDACTED; a withheld Observation value is replaced by dataAbsentReason "masked".
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "model/lab.hpp"

namespace labvault::fhir {

using Withheld = std::set<std::string>;  // view field paths, e.g. "Observation.value"

struct ServerOptions {
  int default_utc_offset_minutes = 0;  // for stored times that carry no offset
};

[[nodiscard]] std::string patient_resource(std::int64_t id, const model::Patient& patient,
                                           const Withheld& withheld, const ServerOptions& o = {});

struct ObservationLinks {
  std::int64_t patient = 0, order = 0, specimen = 0;  // 0: none
  model::DateTime effective_fallback;  // the report's time when the observation has none
};
[[nodiscard]] std::string observation_resource(std::int64_t id, const model::Observation& o,
                                               const ObservationLinks& links,
                                               const Withheld& withheld,
                                               const ServerOptions& opts = {});

struct ReportLinks {
  std::int64_t patient = 0, order = 0;
  std::span<const std::int64_t> observations, specimens;  // parallel to the report's vectors
};
[[nodiscard]] std::string report_resource(std::int64_t id, const model::Report& report,
                                          const ReportLinks& links, const Withheld& withheld,
                                          const ServerOptions& opts = {});

// `related`: the results filed under the order, whose sensitivity labels it carries.
[[nodiscard]] std::string order_resource(std::int64_t id, const model::Order& order,
                                         std::int64_t patient,
                                         std::span<const std::int64_t> specimens,
                                         const std::vector<const model::Observation*>& related,
                                         const Withheld& withheld, const ServerOptions& opts = {});

[[nodiscard]] std::string specimen_resource(std::int64_t id, const model::Specimen& specimen,
                                            std::int64_t patient, std::int64_t order,
                                            const Withheld& withheld,
                                            const ServerOptions& opts = {});

// What the server writes, for matching search tokens (R4 search.html#token) against records.
struct TokenValue {
  std::string system, code;
};
[[nodiscard]] std::vector<TokenValue> code_tokens(const model::CodeableConcept& cc);
[[nodiscard]] TokenValue identifier_token(const model::Identifier& identifier);
// Identifier.system -> the assigning authority the store indexes identifiers under.
[[nodiscard]] std::string identifier_authority(std::string_view system);
[[nodiscard]] std::string_view observation_status(const model::Observation& o);
[[nodiscard]] std::string_view report_status(const model::Report& r);
[[nodiscard]] std::string_view order_status(const model::Order& o);
// Observation.category and DiagnosticReport.category as written.
[[nodiscard]] TokenValue observation_category();
[[nodiscard]] std::vector<TokenValue> report_categories(const model::Report& r);

struct BundleEntry {
  std::string full_url;  // absolute: base + "/Observation/40"
  std::string resource;  // compact JSON
  bool include = false;  // search.mode "include" (else "match")
};
struct BundleLink {
  std::string relation, url;  // self, next, previous
};
// A searchset Bundle; `total` is the number of matches across all pages.
[[nodiscard]] std::string searchset(std::span<const BundleEntry> entries,
                                    std::optional<std::int64_t> total,
                                    std::span<const BundleLink> links);

// A transaction-response Bundle: one entry per created resource ("201 Created", location).
[[nodiscard]] std::string transaction_response(std::span<const std::string> locations);

}  // namespace labvault::fhir
