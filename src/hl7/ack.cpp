// HL7 v2.5.1 acknowledgments (2.9 original mode): MSH + MSA + one ERR per problem.
// Must work for any bytes, so the original header is read leniently and never trusted.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "hl7/hl7.hpp"
#include "hl7/internal/datatypes.hpp"

namespace labvault::hl7 {
namespace {

using model::ErrorCode;

// What the ACK needs from the original MSH, read without the strict parser.
struct OriginalHeader {
  Delimiters d;
  std::string sending_application, sending_facility, receiving_application, receiving_facility;
  std::string trigger_event, control_id, processing_id, version;
};

OriginalHeader read_header(std::string_view bytes) {
  OriginalHeader h;
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  size_t end = bytes.find_first_of("\r\n");
  std::string_view msh = bytes.substr(0, end);
  if (msh.size() < 8 || !msh.starts_with("MSH")) return h;
  auto ok = [](char c) {
    return c > 0x20 && c < 0x7f && !std::isalnum(static_cast<unsigned char>(c));
  };
  Delimiters d{msh[3], msh[4], msh[5], msh[6], msh[7]};
  if (!ok(d.field) || !ok(d.component) || !ok(d.repetition) || !ok(d.escape) || !ok(d.subcomponent))
    return h;
  std::string distinct{d.field, d.component, d.repetition, d.escape, d.subcomponent};
  std::ranges::sort(distinct);
  if (std::ranges::adjacent_find(distinct) != distinct.end()) return h;
  h.d = d;
  std::vector<std::string_view> fields;  // fields[k] = MSH-(k+1) for k >= 1
  size_t pos = 0;
  while (fields.size() < 13) {
    size_t next = msh.find(d.field, pos);
    fields.push_back(msh.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  auto field = [&](int n) -> Piece {
    size_t k = static_cast<size_t>(n - 1);
    return k < fields.size() ? Piece(fields[k], &h.d) : Piece({}, &h.d);
  };
  // Only identifiers go back: these are routing fields, not PHI, and they stay short.
  auto clip = [](std::string s) { return s.size() > 199 ? s.substr(0, 199) : s; };
  h.sending_application = clip(internal::read_hd({field(3)}));
  h.sending_facility = clip(internal::read_hd({field(4)}));
  h.receiving_application = clip(internal::read_hd({field(5)}));
  h.receiving_facility = clip(internal::read_hd({field(6)}));
  h.trigger_event = clip(field(9).component(2).str());
  h.control_id = clip(field(10).str());
  h.processing_id = clip(field(11).component(1).str());
  h.version = clip(field(12).component(1).str());
  return h;
}

bool is_header_problem(ErrorCode c) {
  return c == ErrorCode::kUnsupportedMessageType || c == ErrorCode::kUnsupportedEvent ||
         c == ErrorCode::kUnsupportedProcessingId || c == ErrorCode::kUnsupportedVersion ||
         c == ErrorCode::kEncoding || c == ErrorCode::kParse;
}

}  // namespace

int hl7_error_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSegmentSequence:
      return 100;
    case ErrorCode::kRequiredFieldMissing:
      return 101;
    case ErrorCode::kDataType:
      return 102;
    case ErrorCode::kEncoding:
      return 102;
    case ErrorCode::kTableValue:
      return 103;
    case ErrorCode::kValueTooLong:
      return 104;
    case ErrorCode::kUnsupportedMessageType:
      return 200;
    case ErrorCode::kUnsupportedEvent:
      return 201;
    case ErrorCode::kUnsupportedProcessingId:
      return 202;
    case ErrorCode::kUnsupportedVersion:
      return 203;
    case ErrorCode::kDuplicate:
      return 205;
    case ErrorCode::kParse:
      return 100;
    default:
      return 207;
  }
}

// HL7 table 0357: the text that goes with each code in ERR-3.2.
std::string_view hl7_error_text(int code) {
  switch (code) {
    case 100:
      return "Segment sequence error";
    case 101:
      return "Required field missing";
    case 102:
      return "Data type error";
    case 103:
      return "Table value not found";
    case 104:
      return "Value too long";
    case 200:
      return "Unsupported message type";
    case 201:
      return "Unsupported event code";
    case 202:
      return "Unsupported processing id";
    case 203:
      return "Unsupported version id";
    case 205:
      return "Duplicate key identifier";
    default:
      return "Application internal error";
  }
}

AckCode ack_code_for(std::span<const Error> errors) {
  if (errors.empty()) return AckCode::kAccept;
  return std::ranges::any_of(errors, [](const Error& e) { return is_header_problem(e.code); })
             ? AckCode::kReject
             : AckCode::kError;
}

std::string make_ack(std::string_view original, std::span<const Error> errors,
                     const AckOptions& options) {
  const OriginalHeader h = read_header(original);
  auto esc = [](std::string_view v) {
    std::string out;
    append_escaped(out, v, internal::kStandard);
    return out;
  };
  std::string version = is_supported_version(h.version) ? h.version : "2.5.1";
  std::string processing =
      h.processing_id == "P" || h.processing_id == "T" || h.processing_id == "D" ? h.processing_id
                                                                                 : "P";
  std::string out;
  out.reserve(256 + errors.size() * 128);
  out += fmt::format(
      "MSH|^~\\&|{}|{}|{}|{}|{}||ACK^{}^ACK|{}|{}|{}\r", esc(options.sending_application),
      esc(options.sending_facility.empty() ? h.receiving_facility : options.sending_facility),
      esc(h.sending_application), esc(h.sending_facility), options.now.to_hl7(),
      esc(h.trigger_event), esc(options.control_id), processing, version);
  AckCode code = ack_code_for(errors);
  out += fmt::format("MSA|{}|{}\r",
                     code == AckCode::kAccept  ? "AA"
                     : code == AckCode::kError ? "AE"
                                               : "AR",
                     esc(h.control_id));
  // ERR-2 error location (ERL), ERR-3 HL7 error code (CWE, table 0357), ERR-4 severity
  // (table 0516), ERR-8 user message. Capped so a pathological message gets a bounded ACK.
  size_t n = std::min<size_t>(errors.size(), 25);
  for (size_t i = 0; i < n; ++i) {
    const Error& e = errors[i];
    const model::Location& l = e.location;
    std::string erl;
    if (!l.segment.empty()) {
      internal::FieldWriter w;
      w.set(1, l.segment).set(2, std::to_string(std::max(l.segment_index, 1)));
      if (l.field > 0) w.set(3, std::to_string(l.field));
      if (l.field > 0 && l.repetition > 0) w.set(4, std::to_string(l.repetition));
      if (l.component > 0)
        w.set(4, std::to_string(std::max(l.repetition, 1))).set(5, std::to_string(l.component));
      if (l.subcomponent > 0) w.set(6, std::to_string(l.subcomponent));
      erl = w.str();
    }
    const int hl7_code = hl7_error_code(e.code);
    // Before v2.5 ERR had only ERR-1 (ELD: segment^sequence^field^code&text&table); a 2.3/2.4
    // receiver reads that, a 2.5+ receiver reads ERR-2..8.
    std::string eld;
    if (version < "2.5")
      eld = fmt::format("{}^{}^{}^{}&{}&HL70357", esc(l.segment),
                        l.segment.empty() ? 0 : std::max(l.segment_index, 1), l.field, hl7_code,
                        hl7_error_text(hl7_code));
    out += fmt::format("ERR|{}|{}|{}^{}^HL70357|E||||{}\r", eld, erl, hl7_code,
                       hl7_error_text(hl7_code), esc(e.message));
  }
  return out;
}

}  // namespace labvault::hl7
