// Splits a file or stream of HL7 v2 into messages: a bare message, several messages back to
// back, or a batch file (FHS/BHS ... BTS/FTS, HL7 v2.5.1 2.10.3) whose trailer counts are
// checked. Views point into the caller's buffer.
#pragma once

#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::hl7 {

struct MessageText {
  std::string_view text;  // from MSH up to the next message or batch segment
  int first_line = 1;     // file line of the MSH
};

struct SplitFile {
  std::vector<MessageText> messages;
  bool batch = false;  // FHS or BHS present
};

// Rejects bytes that cannot be HL7 v2 in ASCII/UTF-8 (UTF-16, NUL, MLLP framing bytes) and
// batch envelopes whose counts disagree with their content. A UTF-8 byte-order mark is skipped.
[[nodiscard]] model::Result<SplitFile> split_file(std::string_view bytes,
                                                  std::string_view file = {});

}  // namespace labvault::hl7
