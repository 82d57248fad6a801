#include "hl7/file.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "hl7/internal/scan.hpp"

namespace labvault::hl7 {
namespace {

using model::ErrorCode;

struct Line {
  std::string_view text;
  int number;
  size_t begin;
};

// Field n (1-based, n >= 1) of a batch header/trailer segment, which uses the same numbering
// as MSH: field 1 is the separator itself.
std::string_view header_field(std::string_view seg, int n) {
  if (seg.size() < 4) return {};
  char fs = seg[3];
  size_t begin = 4;
  for (int i = 2; i < n; ++i) {
    size_t next = seg.find(fs, begin);
    if (next == std::string_view::npos) return {};
    begin = next + 1;
  }
  size_t end = seg.find(fs, begin);
  return seg.substr(begin, end == std::string_view::npos ? end : end - begin);
}

// BTS-1 / FTS-1 are numbers; a trailer field n counts from the segment id like other segments.
std::string_view trailer_field(std::string_view seg, char fs, int n) {
  size_t begin = 0;
  for (int i = 0; i < n; ++i) {
    size_t next = seg.find(fs, begin);
    if (next == std::string_view::npos) return {};
    begin = next + 1;
  }
  size_t end = seg.find(fs, begin);
  return seg.substr(begin, end == std::string_view::npos ? end : end - begin);
}

}  // namespace

model::Result<SplitFile> split_file(std::string_view bytes, std::string_view file) {
  auto loc = [&](int line, std::string_view seg = {}, int field = 0) {
    model::Location l;
    l.file = std::string(file);
    l.line = line;
    l.segment = std::string(seg);
    l.field = field;
    return l;
  };
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF"))
    return model::fail(ErrorCode::kEncoding, "file is UTF-16; HL7 v2 input must be ASCII or UTF-8",
                       loc(1));
  // Say what the file is before how it is broken: a stream captured with its MLLP envelope,
  // or something that is not HL7 at all.
  if (!bytes.empty() && bytes[0] == '\x0b')
    return model::fail(ErrorCode::kEncoding,
                       "file starts with the MLLP start byte 0x0B; strip the MLLP envelope "
                       "(0x0B ... 0x1C 0x0D) before importing",
                       loc(1));
  std::string_view head = bytes.substr(std::min(bytes.size(), bytes.find_first_not_of("\r\n")));
  if (!head.starts_with("MSH") && !head.starts_with("FHS") && !head.starts_with("BHS"))
    return model::fail(ErrorCode::kParse, "file does not start with an MSH, FHS or BHS segment",
                       loc(1));

  // One pass: find segment ends (CR, LF or CRLF) and reject bytes HL7 text cannot hold.
  SplitFile out;
  std::vector<Line> lines;
  lines.reserve(bytes.size() / 48 + 4);
  std::optional<model::Error> error;
  size_t begin = 0;
  int number = 1;
  internal::for_each_control(bytes, [&](size_t i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r' || c == '\n') {
      if (i > begin) lines.push_back({bytes.substr(begin, i - begin), number, begin});
      if (!(c == '\n' && i > 0 && bytes[i - 1] == '\r')) ++number;
      begin = i + 1;
    } else if (c == 0) {
      error = model::Error{ErrorCode::kEncoding,
                           "NUL byte: input looks like UTF-16 or binary, expected ASCII or UTF-8",
                           loc(number)};
    } else if (c == 0x0b || c == 0x1c) {
      error = model::Error{ErrorCode::kEncoding,
                           fmt::format("MLLP framing byte 0x{:02X} in a file; strip the MLLP "
                                       "envelope (0x0B ... 0x1C 0x0D) before importing",
                                       c),
                           loc(number)};
    }
    return !error;  // other control bytes (tab...) are data
  });
  if (error) return std::unexpected(std::move(*error));
  if (bytes.size() > begin)
    lines.push_back({bytes.substr(begin, bytes.size() - begin), number, begin});
  if (lines.empty()) return model::fail(ErrorCode::kParse, "file holds no HL7 segments", loc(1));
  char fs = lines[0].text.size() > 3 ? lines[0].text[3] : '|';
  int batches = 0, messages_in_batch = 0;
  bool in_batch = false;
  size_t msg_begin = std::string_view::npos;
  int msg_line = 0;
  auto close_message = [&](size_t end) {
    if (msg_begin == std::string_view::npos) return;
    out.messages.push_back({bytes.substr(msg_begin, end - msg_begin), msg_line});
    msg_begin = std::string_view::npos;
  };
  for (const Line& l : lines) {
    std::string_view id = l.text.substr(0, std::min<size_t>(3, l.text.size()));
    if (id == "MSH") {
      close_message(l.begin);
      msg_begin = l.begin;
      msg_line = l.number;
      if (in_batch) ++messages_in_batch;
    } else if (id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS") {
      close_message(l.begin);
      out.batch = true;
      if (id == "FHS" || id == "BHS") {
        if (l.text.size() > 3) fs = l.text[3];
        if (header_field(l.text, 2).size() < 4)
          return model::fail(ErrorCode::kRequiredFieldMissing,
                             fmt::format("{}-2 must hold 4 encoding characters", id),
                             loc(l.number, id, 2));
      }
      if (id == "BHS") {
        in_batch = true;
        messages_in_batch = 0;
        ++batches;
      } else if (id == "BTS") {
        std::string_view count = trailer_field(l.text, fs, 1);
        int declared = 0;
        if (!count.empty()) {
          auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), declared);
          if (ec != std::errc() || p != count.data() + count.size())
            return model::fail(ErrorCode::kDataType, "BTS-1 batch message count is not a number",
                               loc(l.number, "BTS", 1));
          if (declared != messages_in_batch)
            return model::fail(ErrorCode::kSegmentSequence,
                               fmt::format("BTS-1 says the batch holds {} messages, found {}",
                                           declared, messages_in_batch),
                               loc(l.number, "BTS", 1));
        }
        in_batch = false;
      } else if (id == "FTS") {
        std::string_view count = trailer_field(l.text, fs, 1);
        int declared = 0;
        if (!count.empty()) {
          auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), declared);
          if (ec != std::errc() || p != count.data() + count.size())
            return model::fail(ErrorCode::kDataType, "FTS-1 file batch count is not a number",
                               loc(l.number, "FTS", 1));
          if (declared != batches)
            return model::fail(
                ErrorCode::kSegmentSequence,
                fmt::format("FTS-1 says the file holds {} batches, found {}", declared, batches),
                loc(l.number, "FTS", 1));
        }
      }
    } else if (msg_begin == std::string_view::npos) {
      return model::fail(ErrorCode::kSegmentSequence,
                         "segment outside a message: expected MSH before it", loc(l.number));
    }
  }
  close_message(bytes.size());
  if (in_batch)
    return model::fail(ErrorCode::kSegmentSequence, "batch has a BHS but no closing BTS",
                       loc(lines.back().number));
  if (out.messages.empty())
    return model::fail(ErrorCode::kSegmentSequence, "file holds no MSH message",
                       loc(lines.front().number));
  return out;
}

}  // namespace labvault::hl7
