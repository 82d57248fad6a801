// One FHIR request's view of the store: patient records read once, one policy decision per
// patient and resource kind (each denial is audited by Access::authorize), and what was released
// to whom, recorded at the end in one audit batch. Private to src/api.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "api/internal/impl.hpp"
#include "api/internal/items.hpp"

namespace labvault::api {

class FhirCall {
 public:
  FhirCall(Api::Impl& api, Call& call, const Principal& who, store::Id lab);

  [[nodiscard]] model::Result<const store::PatientRecord*> record(store::Id patient);
  // The decision for `kind` in this record (cached); a denial is already on record.
  [[nodiscard]] model::Result<const access::Decision*> decide(const store::PatientRecord& r,
                                                              std::string_view kind,
                                                              std::string_view action);
  // The record's resources of `kind` under the decision's view; kForbidden or kNotFound (another
  // lab) when the policy denies.
  [[nodiscard]] model::Result<std::vector<Item>> items(const store::PatientRecord& r,
                                                       std::string_view kind,
                                                       std::string_view action);
  // The resource as JSON; remembers it was released (for record_releases).
  [[nodiscard]] std::string render(const Item& item);
  // _include and _revinclude of `page` (R4 search.html#include), each under its own decision;
  // kinds the requester may not see are left out.
  [[nodiscard]] model::Result<std::vector<Item>> includes(const fhir::SearchRequest& q,
                                                          std::span<const Item> page);
  // One audit record per patient and kind released, before the response leaves (fail closed);
  // one "no-match" record of `empty_kind` when nothing was released.
  [[nodiscard]] model::Result<void> record_releases(audit::Action action, std::string_view resource,
                                                    std::string_view empty_kind);

  [[nodiscard]] std::string purpose() const;
  [[nodiscard]] std::string role() const;

 private:
  using Key = std::pair<store::Id, std::string>;  // patient, kind
  Api::Impl& api_;
  Call& call_;
  const Principal& who_;
  store::Id lab_;
  std::map<store::Id, store::PatientRecord> records_;
  std::map<Key, access::Decision> decisions_;
  std::map<Key, fhir::Withheld> released_;
};

}  // namespace labvault::api
