// libFuzzer target for the store codec: any bytes must decode to a value or an Error, never a
// crash, hang or unbounded allocation. Every input is tried as each stored part; whatever
// decodes must survive encode then decode unchanged and re-encode to the same bytes, so the
// fuzzer also hunts for places where the writer and the reader disagree.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/codec.hpp"

namespace {

using namespace labvault::model;
namespace codec = labvault::store::codec;

// NaN != NaN, so a stored NaN would fail the value comparison although the codec kept its bits.
// Zeroing NaNs on both sides is safe: the byte comparison still catches a NaN that changed.
void forget_nan(double& d) {
  if (std::isnan(d)) d = 0;
}
void forget_nan(ObservationValue& v) {
  if (auto* n = std::get_if<NumericValue>(&v)) forget_nan(n->value);
}
void forget_nan(ObservationVersion& v) { forget_nan(v.value); }
void forget_nan(Observation& o) {
  forget_nan(o.value);
  if (o.reference_range.low) forget_nan(*o.reference_range.low);
  if (o.reference_range.high) forget_nan(*o.reference_range.high);
  for (auto& h : o.history) forget_nan(h);
}
void forget_nan(Order& o) {
  for (auto& a : o.ask_at_order_entry) forget_nan(a);
}
template <typename T>
void forget_nan(T&) {}  // the other parts hold no doubles

template <typename T>
void check(std::string_view bytes) {
  T first;
  if (!codec::decode(bytes, first)) return;
  const std::string encoded = codec::encode(first);
  T again;
  if (!codec::decode(encoded, again)) std::abort();
  if (codec::encode(again) != encoded) std::abort();
  forget_nan(first);
  forget_nan(again);
  if (!(again == first)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check<Patient>(bytes);
  check<Encounter>(bytes);
  check<Specimen>(bytes);
  check<Order>(bytes);
  check<Report>(bytes);
  check<Observation>(bytes);
  check<ObservationVersion>(bytes);
  check<MessageHeader>(bytes);
  check<std::vector<std::string>>(bytes);
  return 0;
}
