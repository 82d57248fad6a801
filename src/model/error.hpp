// The one error type of labvault: what went wrong, where, and a code callers can act on.
// Invariant: a message never carries PHI (no field values from a message, only names,
// positions and expectations), so an Error is safe to log, print and put in an ACK.
#pragma once

#include <expected>
#include <string>

namespace labvault::model {

enum class ErrorCode {
  kParse,                    // bytes are not a well-formed message/document
  kEncoding,                 // wrong character encoding or framing bytes
  kSegmentSequence,          // HL7 table 0357 code 100
  kRequiredFieldMissing,     // 101
  kDataType,                 // 102
  kTableValue,               // 103
  kValueTooLong,             // 104
  kUnsupportedMessageType,   // 200
  kUnsupportedEvent,         // 201
  kUnsupportedProcessingId,  // 202
  kUnsupportedVersion,       // 203
  kDuplicate,                // 205
  kInternal,                 // 207
  kIo,
  kUsage,
  kConfig,
  kCrypto,    // a ciphertext failed authentication or is malformed (tampered, moved, wrong key)
  kKey,       // a key is missing, shredded, or the keyring is unusable (permissions, format)
  kStorage,   // the database refused or failed an operation
  kNotFound,  // no such record (also what another lab's record looks like)
  kUnauthenticated,  // who is asking is not established (bad credentials, expired session)
  kForbidden,        // established, but not allowed to do this
};

// Where a problem is. Every member is optional (0 or empty means "not known"); to_string
// prints only what is set, e.g. "lab.hl7:4: OBX[2]-11.1" or "results.csv:7: column 'value'".
struct Location {
  std::string file;
  int line = 0;    // 1-based line (HL7: segment line in the file; CSV: record line)
  int column = 0;  // CSV column, 1-based
  std::string column_name;
  std::string segment;    // HL7 segment id, e.g. "OBX"
  int segment_index = 0;  // 1-based occurrence of that segment id in the message
  int field = 0;          // HL7 field position, 1-based (MSH-1 is the field separator)
  int repetition = 0;     // 1-based
  int component = 0;      // 1-based
  int subcomponent = 0;   // 1-based
  std::string json_path;  // FHIR: e.g. "Bundle.entry[2].resource.valueQuantity.value"

  [[nodiscard]] std::string to_string() const;
  bool operator==(const Location&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::kParse;
  std::string message;
  Location location;

  // "<location>: <message>" or just the message when no location is known.
  [[nodiscard]] std::string to_string() const;
};

template <typename T>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(ErrorCode code, std::string message,
                                                 Location location = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(location)});
}

[[nodiscard]] std::string_view to_string(ErrorCode code);

}  // namespace labvault::model
