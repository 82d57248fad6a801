// RFC 4180 record splitting for the CSV reader: quoted fields, doubled quotes, delimiters and
// line breaks inside quotes, CRLF or LF line ends. One pass over the input, linear time,
// with the size limits below so that a hostile file cannot exhaust memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::csv::internal {

inline constexpr std::size_t kMaxFileBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxFieldBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxColumns = 512;

// Rejects inputs over kMaxFileBytes, UTF-16, invalid UTF-8 and NUL bytes, and returns the
// text without its UTF-8 byte-order mark. Errors carry the file and line, never bytes.
[[nodiscard]] model::Result<std::string_view> check_encoding(std::string_view text,
                                                             std::string_view file_name);

struct Record {
  std::vector<std::string> fields;
  int line = 0;  // physical line (1-based) where the record starts
};

class RecordReader {
 public:
  RecordReader(std::string_view text, char delimiter, std::string_view file_name)
      : text_(text), delimiter_(delimiter), file_(file_name) {}

  // Reads the next record into `record` (reusing its strings); false at the end of input.
  // Empty lines are skipped: RFC 4180 gives them no meaning and exports often end with one.
  [[nodiscard]] model::Result<bool> next(Record& record);

 private:
  [[nodiscard]] model::Result<void> read_quoted(std::string& out, int record_line, int column);
  [[nodiscard]] model::Error error(model::ErrorCode code, std::string message, int line,
                                   int column) const;

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  char delimiter_;
  std::string file_;
};

}  // namespace labvault::csv::internal
