#include "model/error.hpp"

#include <fmt/format.h>

namespace labvault::model {

std::string Location::to_string() const {
  std::string out = file;
  if (line > 0) out += fmt::format("{}{}", out.empty() ? "line " : ":", line);
  std::string where;
  if (!segment.empty()) {
    where = segment;
    if (segment_index > 0) where += fmt::format("[{}]", segment_index);
    if (field > 0) {
      where += fmt::format("-{}", field);
      if (repetition > 1) where += fmt::format("({})", repetition);
      if (component > 0) where += fmt::format(".{}", component);
      if (subcomponent > 0) where += fmt::format(".{}", subcomponent);
    }
  } else if (!column_name.empty() || column > 0) {
    where = column_name.empty() ? fmt::format("column {}", column)
                                : fmt::format("column {} '{}'", column, column_name);
  } else if (!json_path.empty()) {
    where = json_path;
  }
  if (!where.empty()) out += out.empty() ? where : ": " + where;
  return out;
}

std::string Error::to_string() const {
  std::string where = location.to_string();
  return where.empty() ? message : where + ": " + message;
}

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParse:
      return "parse error";
    case ErrorCode::kEncoding:
      return "encoding error";
    case ErrorCode::kSegmentSequence:
      return "segment sequence error";
    case ErrorCode::kRequiredFieldMissing:
      return "required field missing";
    case ErrorCode::kDataType:
      return "data type error";
    case ErrorCode::kTableValue:
      return "table value not found";
    case ErrorCode::kValueTooLong:
      return "value too long";
    case ErrorCode::kUnsupportedMessageType:
      return "unsupported message type";
    case ErrorCode::kUnsupportedEvent:
      return "unsupported event code";
    case ErrorCode::kUnsupportedProcessingId:
      return "unsupported processing id";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported version id";
    case ErrorCode::kDuplicate:
      return "duplicate key identifier";
    case ErrorCode::kInternal:
      return "internal error";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kUsage:
      return "usage error";
    case ErrorCode::kConfig:
      return "configuration error";
    case ErrorCode::kCrypto:
      return "cryptographic check failed";
    case ErrorCode::kKey:
      return "key error";
    case ErrorCode::kStorage:
      return "storage error";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kUnauthenticated:
      return "not authenticated";
    case ErrorCode::kForbidden:
      return "forbidden";
  }
  return "error";
}

}  // namespace labvault::model
