// libFuzzer target for the FHIR JSON reader: from_json must answer any input with messages or
// an Error, in bounded time and memory, and whatever it accepts must convert back to a Bundle
// that it accepts again (what labvault emits, it can read).
// Seeds: fuzz/corpus/fhir/ (bundles written by to_bundle, a searchset, single resources).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fhir/fhir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace labvault;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto messages = fhir::from_json(input);
  if (!messages) {
    (void)fhir::operation_outcome({&messages.error(), 1});
    return 0;
  }
  auto bundle = fhir::to_bundle(*messages, fhir::Options{});
  if (!bundle) std::abort();  // only an invalid Options value may fail
  auto again = fhir::from_json(*bundle);
  if (!again || again->size() != messages->size()) std::abort();
  return 0;
}
