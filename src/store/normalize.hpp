// How values are normalized before they become blind indexes: the same person, order or
// message must give the same bytes whatever the sender's spacing and letter case.
#pragma once

#include <string>
#include <string_view>

#include "model/lab.hpp"

namespace labvault::store {

// Trimmed and upper-cased ASCII; inner spaces kept.
[[nodiscard]] std::string normalize_token(std::string_view s);
// Assigning authority and value, length-prefixed (the identifier type is left out: senders
// disagree on MR vs PI). Without an authority the value is only meaningful to its sender, so
// the sender (MSH-3^MSH-4) stands in: two systems' bare "12345" are not one patient.
[[nodiscard]] std::string normalize_identifier(const model::Identifier& id,
                                               std::string_view sender);
// "FAMILY|FIRSTGIVEN|YYYYMMDD" with letters only in the names; empty when any part is missing.
[[nodiscard]] std::string normalize_name_birth(const model::HumanName& name,
                                               const model::DateTime& birth_date);

}  // namespace labvault::store
