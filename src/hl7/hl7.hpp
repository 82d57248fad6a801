// HL7 v2 (2.3 - 2.5.1) lab messages to and from the canonical model: ORU^R01 and OML^O21 in,
// ORU^R01 out, and the ACK a receiver owes for any input, however broken. Errors name the
// segment, field and problem, never the value (values are PHI).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/file.hpp"
#include "hl7/message.hpp"
#include "model/lab.hpp"

namespace labvault::hl7 {

// The MSH-12 versions labvault reads: 2.3, 2.3.1, 2.4, 2.5, 2.5.1.
[[nodiscard]] bool is_supported_version(std::string_view version);

// Maps a parsed ORU^R01 or OML^O21 to the model; fails with the first problem found.
[[nodiscard]] Result<model::LabMessage> to_model(const Message& message);

// Every problem of the message (empty when it maps cleanly), for `labvault validate` and for
// the ERR segments of an ACK. Bounded: stops after kMaxProblems.
inline constexpr size_t kMaxProblems = 100;
[[nodiscard]] std::vector<Error> validate(const Message& message);

// Parses one message's text and maps it: the whole path a single MLLP frame takes.
[[nodiscard]] Result<model::LabMessage> parse_to_model(std::string_view text,
                                                       std::string_view file = {});

// Writes the model as an ORU^R01 v2.5.1 with standard delimiters (|^~\&) and CR segment ends.
// Orders without a report (from OML^O21) become ORC/OBR groups without results; their
// ask-at-order-entry answers become OBX with OBX-29 = QST.
[[nodiscard]] std::string to_oru_r01(const model::LabMessage& message);

enum class AckCode { kAccept, kError, kReject };  // MSA-1 AA, AE, AR

struct AckOptions {
  std::string sending_application = "LABVAULT";
  std::string sending_facility;
  std::string control_id;  // MSH-10 of the ACK itself
  model::DateTime now;
};

// AA when `errors` is empty; AR when an error concerns the header (version, message type,
// processing id, encoding), else AE. `original` may be any bytes: fields that cannot be read
// from it are left empty, and the ACK is still well-formed (HL7 v2.5.1 2.9, ERR 3.4.5).
[[nodiscard]] AckCode ack_code_for(std::span<const Error> errors);
[[nodiscard]] std::string make_ack(std::string_view original, std::span<const Error> errors,
                                   const AckOptions& options);

// HL7 table 0357 code for an error (100 segment sequence ... 207 internal error).
[[nodiscard]] int hl7_error_code(model::ErrorCode code);
[[nodiscard]] std::string_view hl7_error_text(int hl7_code);

}  // namespace labvault::hl7
