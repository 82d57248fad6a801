// libFuzzer target for FHIR search requests, which come from any authenticated client in a URL
// or a form body: parse_form and parse_search must answer anything with a request or an Error,
// and whatever they accept must round-trip through query_string (the paging links the server
// writes) to the same request. The first input byte picks the resource type.
// Seeds: fuzz/corpus/search/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fhir/search.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace labvault;
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {"Patient", "Observation", "DiagnosticReport",
                                                "ServiceRequest", "Specimen"};
  const std::string_view type = kTypes[data[0] % 5];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto params = fhir::parse_form(input);
  if (!params) return 0;
  auto request = fhir::parse_search(type, *params);
  if (!request) return 0;
  auto query = fhir::query_string(*request, request->offset);
  if (!query) {
    if (request->identifier.empty()) std::abort();  // only identifiers keep a query out of URLs
    return 0;
  }
  auto again_params = fhir::parse_form(*query);
  if (!again_params) std::abort();
  auto again = fhir::parse_search(type, *again_params);
  if (!again || !(*again == *request)) std::abort();
  return 0;
}
