// The date_format of a mapping: how date and time cells are spelled. HL7 DTM and ISO 8601
// keep the precision the cell has; a strftime-like pattern may stop early (a birth date in a
// "%m/%d/%Y %H:%M" column) so that one format serves every date column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/datetime.hpp"
#include "model/error.hpp"

namespace labvault::csv::internal {

class DateFormat {
 public:
  // "hl7", "iso" or a pattern of %Y %m %d %H %M %S %f %I %p %z %% and literal text. The
  // error message says what is wrong with the pattern (it carries no location).
  [[nodiscard]] static model::Result<DateFormat> compile(std::string_view spec);

  // Parses one cell (already trimmed); empty text gives an empty DateTime. The error message
  // names the format, never the text.
  [[nodiscard]] model::Result<model::DateTime> parse(std::string_view text) const;
  // Writes `dt` with as much of the format as its precision fills; read back by parse().
  [[nodiscard]] std::string format(const model::DateTime& dt) const;

 private:
  enum class Kind { kHl7, kIso, kPattern };
  struct Token {
    char directive = 0;  // Y m d H M S f I p z, or 0 for literal text
    std::string literal;
  };

  [[nodiscard]] model::Result<model::DateTime> parse_iso(std::string_view text) const;
  [[nodiscard]] model::Result<model::DateTime> parse_pattern(std::string_view text) const;
  [[nodiscard]] std::string format_iso(const model::DateTime& dt) const;
  [[nodiscard]] std::string format_pattern(const model::DateTime& dt) const;
  [[nodiscard]] model::Error mismatch(std::string_view why = {}) const;

  Kind kind_ = Kind::kHl7;
  std::string spec_;
  std::vector<Token> tokens_;
};

// Month, day, hour, minute, second and UTC offset ranges; `true` when `dt` is a real time.
[[nodiscard]] bool in_range(const model::DateTime& dt);

}  // namespace labvault::csv::internal
