#include "csv/internal/record_reader.hpp"

#include <fmt/format.h>

namespace labvault::csv::internal {
namespace {

using model::ErrorCode;

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not well formed
// (RFC 3629 4: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  auto cont = [&](std::size_t k) { return k < text.size() && (byte(k) & 0xC0) == 0x80; };
  unsigned char b = byte(i);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char b1 = byte(i + 1);
    if (b == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b == 0xED && b1 >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char b1 = byte(i + 1);
    if (b == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A physical line ends at LF, CRLF or a lone CR (old spreadsheet exports use CR alone).
bool ends_line(std::string_view text, std::size_t i) {
  return text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'));
}

}  // namespace

model::Result<std::string_view> check_encoding(std::string_view text, std::string_view file_name) {
  model::Location where{.file = std::string(file_name)};
  if (text.size() > kMaxFileBytes) {
    return model::fail(ErrorCode::kValueTooLong,
                       fmt::format("file is {} bytes; the limit for one CSV file is {} MiB",
                                   text.size(), kMaxFileBytes >> 20),
                       where);
  }
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
    return model::fail(ErrorCode::kEncoding,
                       "file is UTF-16 (byte-order mark found); save it as UTF-8", where);
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  int line = 1;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\0') {
      where.line = line;
      return model::fail(ErrorCode::kEncoding, "NUL byte in CSV text (is it a binary file?)",
                         where);
    }
    std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      where.line = line;
      return model::fail(ErrorCode::kEncoding,
                         "invalid UTF-8 byte sequence; save the file as UTF-8", where);
    }
    if (n == 1 && ends_line(text, i)) ++line;
    i += n;
  }
  return text;
}

model::Error RecordReader::error(model::ErrorCode code, std::string message, int line,
                                 int column) const {
  return model::Error{code, std::move(message),
                      model::Location{.file = file_, .line = line, .column = column}};
}

model::Result<void> RecordReader::read_quoted(std::string& out, int record_line, int column) {
  int opened_on = line_;
  for (;;) {
    std::size_t quote = text_.find('"', pos_);
    if (quote == std::string_view::npos) {
      return std::unexpected(
          error(ErrorCode::kParse,
                fmt::format("unterminated quoted field: the quote opened on line {} never closes",
                            opened_on),
                record_line, column));
    }
    std::string_view chunk = text_.substr(pos_, quote - pos_);
    if (out.size() + chunk.size() > kMaxFieldBytes) {
      return std::unexpected(
          error(ErrorCode::kValueTooLong,
                fmt::format("field is longer than the limit of {} MiB", kMaxFieldBytes >> 20),
                record_line, column));
    }
    for (std::size_t i = 0; i < chunk.size(); ++i)
      if (ends_line(text_, pos_ + i)) ++line_;
    out.append(chunk);
    pos_ = quote + 1;
    // RFC 4180 2.7: a double quote inside a quoted field is escaped by doubling it.
    if (pos_ < text_.size() && text_[pos_] == '"') {
      out.push_back('"');
      ++pos_;
      continue;
    }
    return {};
  }
}

model::Result<bool> RecordReader::next(Record& record) {
  auto line_break = [&] {
    pos_ += text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n' ? 2 : 1;
    ++line_;
  };
  while (pos_ < text_.size() && (text_[pos_] == '\r' || text_[pos_] == '\n')) line_break();
  if (pos_ >= text_.size()) return false;

  record.line = line_;
  const char stops[] = {delimiter_, '"', '\r', '\n'};
  const std::string_view stop_chars(stops, sizeof stops);
  std::size_t count = 0;
  for (;;) {
    int column = static_cast<int>(count) + 1;
    if (count == kMaxColumns) {
      return std::unexpected(error(ErrorCode::kValueTooLong,
                                   fmt::format("record has more than {} columns", kMaxColumns),
                                   record.line, column));
    }
    if (count == record.fields.size()) record.fields.emplace_back();
    std::string& field = record.fields[count++];
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      if (auto ok = read_quoted(field, record.line, column); !ok)
        return std::unexpected(ok.error());
    } else {
      std::size_t end = text_.find_first_of(stop_chars, pos_);
      if (end == std::string_view::npos) end = text_.size();
      if (end < text_.size() && text_[end] == '"') {
        // RFC 4180 2.5: a field that holds a quote must be quoted as a whole.
        return std::unexpected(error(ErrorCode::kParse,
                                     "double quote inside an unquoted field; quote the whole "
                                     "field and double the inner quote (RFC 4180 2.5, 2.7)",
                                     record.line, column));
      }
      if (end - pos_ > kMaxFieldBytes) {
        return std::unexpected(
            error(ErrorCode::kValueTooLong,
                  fmt::format("field is longer than the limit of {} MiB", kMaxFieldBytes >> 20),
                  record.line, column));
      }
      field.assign(text_.substr(pos_, end - pos_));
      pos_ = end;
    }
    if (pos_ >= text_.size()) break;
    char c = text_[pos_];
    if (c == delimiter_) {
      ++pos_;
      continue;
    }
    if (c == '\r' || c == '\n') {
      line_break();
      break;
    }
    return std::unexpected(error(ErrorCode::kParse,
                                 "expected a delimiter or line end after a closing quote "
                                 "(RFC 4180 2.7)",
                                 record.line, column));
  }
  record.fields.resize(count);
  return true;
}

}  // namespace labvault::csv::internal
