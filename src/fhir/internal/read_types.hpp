// FHIR R4 data types -> model values, the inverse of write_types.hpp, plus a ResourceIndex that
// resolves references inside one input document. Private to src/fhir.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fhir/internal/reader.hpp"
#include "model/lab.hpp"

namespace labvault::fhir::internal {

[[nodiscard]] model::Coding read_coding(const Node& coding);
// A concept that carries only the data-absent-reason extension reads as empty.
[[nodiscard]] model::CodeableConcept read_codeable(const Node& cc);
// The first code of cc.coding (any system), else cc.text.
[[nodiscard]] std::string first_code(const Node& cc);
[[nodiscard]] model::Identifier read_identifier(const Node& identifier);
[[nodiscard]] model::HumanName read_name(const Node& name);
[[nodiscard]] model::Address read_address(const Node& address);
[[nodiscard]] model::ContactPoint read_contact(const Node& contact);
[[nodiscard]] model::Practitioner read_practitioner(const Node& practitioner);
[[nodiscard]] model::Organization read_organization(const Node& organization);

struct ObservationValueRead {
  model::ObservationValue value;
  std::string value_type;  // HL7 OBX-2 that carries this value: NM, SN, ST, TX, CWE
  model::Coding unit;
};
// Observation.value[x] (R4 observation.html#value); value_type is empty when there is no value.
[[nodiscard]] ObservationValueRead read_observation_value(const Node& observation);
[[nodiscard]] model::ReferenceRange read_reference_range(const Node& range);

struct Resolved {
  Node node;
  std::string type;                  // resourceType of the target
  std::optional<std::size_t> index;  // position in ResourceIndex; nullopt for contained ones
};

// The resources of one input, found by Bundle.entry.fullUrl, by "Type/id" (also when written as
// an absolute URL or with /_history/n, R4 references.html#literal) or, for "#id", among the
// referring resource's contained resources.
class ResourceIndex {
 public:
  struct Entry {
    Node node;
    std::string type;
  };
  void add(const Node& resource, const std::string& full_url);
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
  // `reference` is a Reference element; `container` the resource holding it. nullopt when the
  // target is not in the input (it may live on a server), which is not an error.
  [[nodiscard]] std::optional<Resolved> resolve(const Node& reference, const Node& container) const;

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> by_key_;
};

}  // namespace labvault::fhir::internal
