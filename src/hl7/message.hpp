// Zero-copy HL7 v2 message: segments and fields are string_views into the caller's buffer,
// which must outlive the Message. Parsing is one linear pass; components, repetitions and
// subcomponents are split lazily on access, and escape sequences are decoded only when a value
// is copied out (unescape), so reading a few fields of a large message stays cheap.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::hl7 {

using model::Error;
using model::Result;

// HL7 v2.5.1 2.5.4: the delimiters a message declares in MSH-1 and MSH-2.
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};

// A piece of a field (a field, repetition, component or subcomponent) with the delimiters
// needed to split it further. Positions are 1-based as in the standard; asking for a position
// past the end gives an empty piece, never an error, because HL7 drops trailing empties.
class Piece {
 public:
  Piece() = default;
  Piece(std::string_view text, const Delimiters* d) : text_(text), d_(d) {}

  [[nodiscard]] std::string_view raw() const { return text_; }
  [[nodiscard]] bool empty() const { return text_.empty(); }
  [[nodiscard]] Piece repetition(int n) const { return split(d_->repetition, n); }
  [[nodiscard]] Piece component(int n) const { return split(d_->component, n); }
  [[nodiscard]] Piece subcomponent(int n) const { return split(d_->subcomponent, n); }
  [[nodiscard]] int repetition_count() const { return count(d_->repetition); }
  // Visits every repetition once, left to right: a field may hold thousands, and indexing each
  // with repetition(r) would rescan from the start every time.
  template <typename Visit>
  void for_each_repetition(Visit&& visit) const {
    if (text_.empty()) return;
    size_t begin = 0;
    for (;;) {
      const size_t end = text_.find(d_->repetition, begin);
      visit(Piece(text_.substr(begin, end == std::string_view::npos ? end : end - begin), d_));
      if (end == std::string_view::npos) return;
      begin = end + 1;
    }
  }
  [[nodiscard]] const Delimiters* delimiters() const { return d_; }
  // HL7 v2.5.1 2.7: the value with escape sequences decoded. Most values hold no escape, so
  // that case is a scan and one copy, inline.
  [[nodiscard]] std::string str() const {
    if (is_null()) return {};
    for (char c : text_)
      if (c == d_->escape) return unescaped();
    return std::string(text_);
  }
  // HL7 "" means "delete this value"; the model treats it as empty.
  [[nodiscard]] bool is_null() const { return text_ == "\"\""; }

 private:
  [[nodiscard]] Piece split(char sep, int n) const;
  [[nodiscard]] int count(char sep) const;
  [[nodiscard]] std::string unescaped() const;
  std::string_view text_;
  const Delimiters* d_ = nullptr;
};

class Message;

// One message is refused above this size (offsets are 32-bit, and no lab message comes near).
inline constexpr size_t kMaxMessageBytes = size_t{64} << 20;

class Segment {
 public:
  Segment(const Message* m, uint32_t index) : m_(m), index_(index) {}
  [[nodiscard]] std::string_view id() const;
  // Field n in HL7 numbering: for MSH, field(1) is the field separator and field(2) the
  // encoding characters.
  [[nodiscard]] Piece field(int n) const;
  [[nodiscard]] int field_count() const;  // highest field number present
  [[nodiscard]] int line() const;         // 1-based line of the segment in the file
  [[nodiscard]] std::string_view raw() const;
  [[nodiscard]] uint32_t index() const { return index_; }

 private:
  const Message* m_;
  uint32_t index_;
};

class Message {
 public:
  // Parses one message: `text` starts with MSH and holds its segments separated by CR, LF or
  // CRLF. `first_line` is the file line of the MSH, for error locations. Fails on a malformed
  // MSH header or segment id; field contents are checked by the mapping, not here.
  [[nodiscard]] static Result<Message> parse(std::string_view text, int first_line = 1,
                                             std::string_view file = {});

  [[nodiscard]] const Delimiters& delimiters() const { return delims_; }
  [[nodiscard]] size_t segment_count() const { return segments_.size(); }
  [[nodiscard]] Segment segment(size_t i) const { return Segment(this, static_cast<uint32_t>(i)); }
  [[nodiscard]] Segment msh() const { return segment(0); }
  [[nodiscard]] std::string_view text() const { return text_; }

 private:
  friend class Segment;
  struct SegmentRecord {
    uint32_t first_field;  // index into fields_ of the segment id
    uint32_t field_count;  // including the id
    uint32_t line;
    uint32_t begin, end;  // byte range in text_
  };
  std::string_view text_;
  Delimiters delims_;
  std::vector<SegmentRecord> segments_;
  std::vector<std::string_view> fields_;
};

// HL7 v2.5.1 2.7: escape delimiter characters, line breaks (\.br\) and control bytes (\Xhh\)
// so that `value` can be placed in a field, component or subcomponent.
void append_escaped(std::string& out, std::string_view value, const Delimiters& d);
[[nodiscard]] std::string unescape(std::string_view raw, const Delimiters& d);

}  // namespace labvault::hl7
