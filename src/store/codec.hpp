// Binary encodings of the model parts that the store seals into one column each. Compact and
// fast (they sit on the ingest path, inside field encryption), versioned by a leading format
// byte so that rows written by older releases keep decoding.
// Invariant: decode(encode(x)) == x for every value; decoding bytes that were not produced by
// encode fails with an Error (never a crash, never PHI in the message).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/lab.hpp"

namespace labvault::store::codec {

// Each part leaves out what the store keeps in its own rows:
// - Order: without `specimens` (specimens table); ask-at-order-entry answers included.
// - Report: without `observations` and `specimens` (their own tables).
// - Observation: without `history` (observation_history table).
[[nodiscard]] std::string encode(const model::Patient& v);
[[nodiscard]] std::string encode(const model::Encounter& v);
[[nodiscard]] std::string encode(const model::Specimen& v);
[[nodiscard]] std::string encode(const model::Order& v);
[[nodiscard]] std::string encode(const model::Report& v);
[[nodiscard]] std::string encode(const model::Observation& v);
[[nodiscard]] std::string encode(const model::ObservationVersion& v);
[[nodiscard]] std::string encode(const model::MessageHeader& v);
[[nodiscard]] std::string encode(const std::vector<std::string>& v);

[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Patient& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Encounter& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Specimen& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Order& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Report& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::Observation& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::ObservationVersion& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, model::MessageHeader& out);
[[nodiscard]] model::Result<void> decode(std::string_view bytes, std::vector<std::string>& out);

}  // namespace labvault::store::codec
