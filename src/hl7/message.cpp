#include "hl7/message.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cstring>
#include <optional>

#include "hl7/internal/scan.hpp"

namespace labvault::hl7 {
namespace {

using model::ErrorCode;
using model::Location;

bool is_delimiter_char(unsigned char c) {
  // Printable ASCII that is not a letter, digit or space: anything else would be ambiguous
  // with data or segment ids.
  return c > 0x20 && c < 0x7f && !std::isalnum(c);
}

bool is_segment_id(std::string_view id) {
  if (id.size() != 3) return false;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return upper(id[0]) && (upper(id[1]) || digit(id[1])) && (upper(id[2]) || digit(id[2]));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

// Hand-written scans: pieces are short, and a libc call per piece costs more than the loop.
Piece Piece::split(char sep, int n) const {
  const char* p = text_.data();
  const char* end = p + text_.size();
  for (int i = 1; i < n; ++i) {
    while (p < end && *p != sep) ++p;
    if (p == end) return Piece({}, d_);
    ++p;
  }
  const char* q = p;
  while (q < end && *q != sep) ++q;
  return Piece(std::string_view(p, static_cast<size_t>(q - p)), d_);
}

int Piece::count(char sep) const {
  if (text_.empty()) return 0;
  int n = 1;
  for (char c : text_) n += c == sep;
  return n;
}

std::string Piece::unescaped() const { return unescape(text_, *d_); }

std::string_view Segment::id() const { return m_->fields_[m_->segments_[index_].first_field]; }

Piece Segment::field(int n) const {
  const auto& rec = m_->segments_[index_];
  const bool msh = index_ == 0;  // parse() guarantees MSH is segment 0 and only there
  if (msh && n == 1) return Piece(m_->text_.substr(rec.begin + 3, 1), &m_->delims_);
  uint32_t k = msh ? static_cast<uint32_t>(n - 1) : static_cast<uint32_t>(n);
  if (n < 1 || k >= rec.field_count) return Piece({}, &m_->delims_);
  return Piece(m_->fields_[rec.first_field + k], &m_->delims_);
}

int Segment::field_count() const {
  const auto& rec = m_->segments_[index_];
  return index_ == 0 ? static_cast<int>(rec.field_count) : static_cast<int>(rec.field_count) - 1;
}

int Segment::line() const { return static_cast<int>(m_->segments_[index_].line); }

std::string_view Segment::raw() const {
  const auto& rec = m_->segments_[index_];
  return m_->text_.substr(rec.begin, rec.end - rec.begin);
}

Result<Message> Message::parse(std::string_view text, int first_line, std::string_view file) {
  auto where = [&](int line, std::string_view seg = {}, int field = 0) {
    Location loc;
    loc.file = std::string(file);
    loc.line = line;
    loc.segment = std::string(seg);
    loc.field = field;
    return loc;
  };
  Message m;
  m.text_ = text;
  if (text.size() > kMaxMessageBytes)
    return model::fail(ErrorCode::kValueTooLong,
                       fmt::format("message is larger than {} MiB", kMaxMessageBytes >> 20),
                       where(first_line));
  if (text.size() < 4 || text.substr(0, 3) != "MSH")
    return model::fail(ErrorCode::kParse, "message does not start with an MSH segment",
                       where(first_line));
  // HL7 v2.5.1 2.5.4: MSH-1 is the field separator, MSH-2 the four encoding characters
  // (component, repetition, escape, subcomponent); v2.7 adds an optional fifth (truncation).
  const unsigned char fs = static_cast<unsigned char>(text[3]);
  if (!is_delimiter_char(fs))
    return model::fail(ErrorCode::kParse,
                       "MSH-1 field separator must be a printable character that is not a "
                       "letter, digit or space",
                       where(first_line, "MSH", 1));
  size_t enc_end = 4;
  while (enc_end < text.size() && text[enc_end] != static_cast<char>(fs) && text[enc_end] != '\r' &&
         text[enc_end] != '\n')
    ++enc_end;
  std::string_view enc = text.substr(4, enc_end - 4);
  if (enc.size() != 4 && enc.size() != 5)
    return model::fail(ErrorCode::kRequiredFieldMissing,
                       fmt::format("MSH-2 must hold 4 encoding characters, found {}", enc.size()),
                       where(first_line, "MSH", 2));
  for (size_t i = 0; i < enc.size(); ++i) {
    if (!is_delimiter_char(static_cast<unsigned char>(enc[i])))
      return model::fail(ErrorCode::kDataType,
                         fmt::format("MSH-2 encoding character {} is a letter, digit, space or "
                                     "control byte",
                                     i + 1),
                         where(first_line, "MSH", 2));
    if (std::memchr(enc.data(), enc[i], i) != nullptr)
      return model::fail(ErrorCode::kDataType,
                         fmt::format("MSH-2 encoding character {} repeats an earlier one", i + 1),
                         where(first_line, "MSH", 2));
  }
  m.delims_ = {static_cast<char>(fs), enc[0], enc[1], enc[2], enc[3]};

  m.fields_.reserve(text.size() / 6 + 8);
  m.segments_.reserve(text.size() / 64 + 4);
  const char sep = static_cast<char>(fs);
  const size_t n = text.size();
  size_t seg_begin = 0, field_begin = 0;
  uint32_t first_field = 0;
  uint32_t line = static_cast<uint32_t>(first_line);
  bool in_segment = true;  // false between a terminator and the next segment's first byte
  std::optional<Error> error;

  // Closes the segment that ends at `end` (exclusive); false (with `error` set) when its id is bad.
  auto close_segment = [&](size_t end) {
    m.fields_.push_back(text.substr(field_begin, end - field_begin));
    const auto count = static_cast<uint32_t>(m.fields_.size()) - first_field;
    std::string_view id = m.fields_[first_field];
    if (!is_segment_id(id)) {
      error = Error{ErrorCode::kParse,
                    fmt::format("segment {} does not start with a 3-character segment id "
                                "([A-Z][A-Z0-9][A-Z0-9]) followed by the field separator",
                                m.segments_.size() + 1),
                    where(static_cast<int>(line))};
      return false;
    }
    if (m.segments_.empty() ? id != "MSH" : id == "MSH") {
      error = Error{ErrorCode::kSegmentSequence, "MSH must be the first and only header",
                    where(static_cast<int>(line), id)};
      return false;
    }
    m.segments_.push_back(
        {first_field, count, line, static_cast<uint32_t>(seg_begin), static_cast<uint32_t>(end)});
    return true;
  };
  auto open_segment = [&](size_t begin) {
    seg_begin = field_begin = begin;
    first_field = static_cast<uint32_t>(m.fields_.size());
    in_segment = true;
  };

  auto is_crlf_tail = [&](size_t pos) {
    return text[pos] == '\n' && pos > 0 && text[pos - 1] == '\r';
  };
  internal::for_each_match(
      text, sep, '\r', '\n', [&](size_t pos) __attribute__((always_inline)) {
        const char c = text[pos];
        if (!in_segment) {
          if (c == sep) {
            open_segment(seg_begin);  // seg_begin is just past the last terminator
          } else {
            // A line without any field separator is still a segment (its id gets checked).
            if (pos > seg_begin) {
              open_segment(seg_begin);
              if (!close_segment(pos)) return false;
              in_segment = false;
            }
            if (!is_crlf_tail(pos)) ++line;
            seg_begin = pos + 1;
            return true;
          }
        }
        if (c == sep) {
          m.fields_.push_back(text.substr(field_begin, pos - field_begin));
          field_begin = pos + 1;
          return true;
        }
        if (!close_segment(pos)) return false;
        if (!is_crlf_tail(pos)) ++line;
        in_segment = false;
        seg_begin = pos + 1;
        return true;
      });
  if (error) return std::unexpected(std::move(*error));
  if (!in_segment && seg_begin < n) open_segment(seg_begin);
  if (in_segment && !close_segment(n)) return std::unexpected(std::move(*error));
  return m;
}

std::string unescape(std::string_view raw, const Delimiters& d) {
  size_t esc = raw.find(d.escape);
  if (esc == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  size_t pos = 0;
  while (esc != std::string_view::npos) {
    out.append(raw.substr(pos, esc - pos));
    size_t close = raw.find(d.escape, esc + 1);
    if (close == std::string_view::npos) {  // a lone escape character is kept as data
      pos = esc;
      break;
    }
    std::string_view seq = raw.substr(esc + 1, close - esc - 1);
    pos = close + 1;
    if (seq == "F")
      out += d.field;
    else if (seq == "S")
      out += d.component;
    else if (seq == "T")
      out += d.subcomponent;
    else if (seq == "R")
      out += d.repetition;
    else if (seq == "E")
      out += d.escape;
    else if (seq == ".br" || seq.starts_with(".sp"))
      out += '\n';
    else if (seq == "H" || seq == "N" || seq.starts_with(".in") || seq.starts_with(".ti") ||
             seq.starts_with(".sk") || seq == ".ce" || seq == ".fi" || seq == ".nf")
      ;  // highlighting and formatting hints carry no data (2.7.2, 2.7.6)
    else if (seq.size() > 1 && seq[0] == 'X' && seq.size() % 2 == 1) {
      bool ok = true;
      std::string bytes;
      for (size_t k = 1; k + 1 < seq.size(); k += 2) {
        int hi = hex_value(seq[k]), lo = hex_value(seq[k + 1]);
        if (hi < 0 || lo < 0)
          ok = false;
        else
          bytes += static_cast<char>(hi * 16 + lo);
      }
      if (ok)
        out += bytes;
      else
        out.append(raw.substr(esc, close - esc + 1));
    } else if (seq.size() > 0 && (seq[0] == 'C' || seq[0] == 'M')) {
      ;  // character set switches: the model holds UTF-8 text already
    } else {
      out.append(raw.substr(esc, close - esc + 1));  // \Zxx\ and unknown: keep verbatim
    }
    esc = raw.find(d.escape, pos);
  }
  out.append(raw.substr(pos));
  return out;
}

void append_escaped(std::string& out, std::string_view value, const Delimiters& d) {
  auto seq = [&](std::string_view code) {
    out += d.escape;
    out += code;
    out += d.escape;
  };
  for (char c : value) {
    if (c == d.field)
      seq("F");
    else if (c == d.component)
      seq("S");
    else if (c == d.subcomponent)
      seq("T");
    else if (c == d.repetition)
      seq("R");
    else if (c == d.escape)
      seq("E");
    else if (c == '\n')
      seq(".br");
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      seq(fmt::format("X{:02X}", static_cast<unsigned char>(c)));
    else
      out += c;
  }
}

}  // namespace labvault::hl7
