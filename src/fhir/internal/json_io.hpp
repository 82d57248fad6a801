// JSON reading and writing for the fhir module, on nlohmann::json, with two things nlohmann
// alone does not give: decimals keep the text they were written with (FHIR R4 datatypes.html
// #decimal: "the precision of the decimal value has significance", so 5.20 must not become 5.2),
// and parsing is bounded in size and depth. Private to src/fhir.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "model/error.hpp"

namespace labvault::fhir::internal {

// Output documents keep insertion order so resourceType comes first, as FHIR examples do.
using OutJson = nlohmann::ordered_json;

// A JSON number written exactly as `text`, which must already be a valid JSON number (see
// json_decimal). Stored as a binary value with a private subtype, which nothing else produces.
[[nodiscard]] OutJson raw_number(std::string_view text);

// `text` as a valid FHIR/JSON decimal ("-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"), fixing
// the spellings HL7 NM allows and JSON does not ("+5", ".5", "5.", "007"); nullopt when `text`
// is not a number at all.
[[nodiscard]] std::optional<std::string> json_decimal(std::string_view text);

// Pretty JSON, two-space indent; invalid UTF-8 in strings is replaced by U+FFFD rather than
// failing, since HL7 input may carry Latin-1 bytes.
[[nodiscard]] std::string write_pretty(const OutJson& document);
// The same without any whitespace (server responses).
[[nodiscard]] std::string write_compact(const OutJson& document);

struct ParsedJson {
  nlohmann::json root;
  // The source text of every number whose member name is "value" (Quantity.value and friends),
  // keyed by its path below the root, e.g. ".entry[3].resource.valueQuantity.value".
  std::unordered_map<std::string, std::string> number_text;
};

// Parses with limits (kMaxJsonBytes, kMaxJsonDepth from fhir.hpp); errors are kParse with a
// message naming the byte offset, never the content.
[[nodiscard]] model::Result<ParsedJson> parse_bounded(std::string_view text);

}  // namespace labvault::fhir::internal
