#include "fhir/internal/json_io.hpp"

#include <fmt/format.h>

#include <vector>

#include "fhir/fhir.hpp"

namespace labvault::fhir::internal {
namespace {

// Binary subtype marking a raw number; any value works as long as only raw_number() uses it.
constexpr std::uint8_t kRawNumberSubtype = 0x4e;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

// indent < 0: compact (no whitespace at all).
void write(const OutJson& node, int indent, std::string& out) {
  auto newline = [&](int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(level) * 2, ' ');
  };
  switch (node.type()) {
    case OutJson::value_t::object: {
      if (node.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, value] : node.items()) {
        if (!first) out += ',';
        first = false;
        newline(indent + 1);
        out += OutJson(key).dump(-1, ' ', false, OutJson::error_handler_t::replace);
        out += indent < 0 ? ":" : ": ";
        write(value, indent < 0 ? indent : indent + 1, out);
      }
      newline(indent);
      out += '}';
      return;
    }
    case OutJson::value_t::array: {
      if (node.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& value : node) {
        if (!first) out += ',';
        first = false;
        newline(indent + 1);
        write(value, indent < 0 ? indent : indent + 1, out);
      }
      newline(indent);
      out += ']';
      return;
    }
    case OutJson::value_t::binary: {
      const auto& bytes = node.get_binary();
      if (bytes.has_subtype() && bytes.subtype() == kRawNumberSubtype) {
        out.append(bytes.begin(), bytes.end());
        return;
      }
      out += "null";  // no other binary values are ever built
      return;
    }
    default:
      out += node.dump(-1, ' ', false, OutJson::error_handler_t::replace);
  }
}

// A SAX handler that builds a DOM (like nlohmann's own), tracks the path of the current value
// for number_text, and stops at kMaxJsonDepth. nlohmann's parser is iterative, so depth only
// matters for what comes after parsing (recursive walks, destructors).
class BoundedDomBuilder {
 public:
  using json = nlohmann::json;
  explicit BoundedDomBuilder(ParsedJson& out) : out_(out) {}

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  // JSON integers have one spelling, so only decimals need their text kept.
  bool number_integer(json::number_integer_t v) { return add(v); }
  bool number_unsigned(json::number_unsigned_t v) { return add(v); }
  bool number_float(json::number_float_t v, const std::string& s) {
    place(json(v));
    if (path_.ends_with(".value")) out_.number_text[path_] = s;
    return true;
  }
  bool string(std::string& v) { return add(std::move(v)); }
  bool binary(json::binary_t& v) { return add(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool key(std::string& k) {
    path_.resize(frames_.back().path_size);
    path_ += '.';
    path_ += k;
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    error_ = fmt::format("not well-formed JSON near byte {}", position);
    return false;
  }

  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  struct Frame {
    json* container;
    std::size_t path_size;  // length of path_ up to this container
    std::size_t next_index = 0;
  };

  // Places a value in the current container and returns where it now lives.
  json* place(json&& value) {
    if (frames_.empty()) {
      out_.root = std::move(value);
      return &out_.root;
    }
    Frame& top = frames_.back();
    if (top.container->is_array()) {
      path_.resize(top.path_size);
      path_ += fmt::format("[{}]", top.next_index++);
      top.container->push_back(std::move(value));
      return &top.container->back();
    }
    json& slot = (*top.container)[key_];  // a repeated key replaces the earlier value
    slot = std::move(value);
    return &slot;
  }
  bool add(json&& value) {
    place(std::move(value));
    return true;
  }
  bool open(json&& container) {
    if (frames_.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      error_ = fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth);
      return false;
    }
    json* where = place(std::move(container));
    frames_.push_back({where, path_.size()});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }

  ParsedJson& out_;
  std::vector<Frame> frames_;
  std::string path_;
  std::string key_;
  std::string error_;
};

}  // namespace

OutJson raw_number(std::string_view text) {
  return OutJson::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kRawNumberSubtype);
}

std::optional<std::string> json_decimal(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  std::string sign;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    if (s.front() == '-') sign = "-";
    s.remove_prefix(1);
  }
  std::string_view exponent;
  if (auto e = s.find_first_of("eE"); e != std::string_view::npos) {
    exponent = s.substr(e + 1);
    s = s.substr(0, e);
    std::string_view digits = exponent;
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-'))
      digits.remove_prefix(1);
    if (digits.empty() || !all_digits(digits)) return std::nullopt;
  }
  std::string_view integer = s, fraction;
  bool has_point = false;
  if (auto dot = s.find('.'); dot != std::string_view::npos) {
    has_point = true;
    integer = s.substr(0, dot);
    fraction = s.substr(dot + 1);
  }
  if ((integer.empty() && fraction.empty()) || !all_digits(integer) || !all_digits(fraction))
    return std::nullopt;
  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  std::string out = sign + (integer.empty() ? std::string("0") : std::string(integer));
  if (has_point && !fraction.empty()) out += "." + std::string(fraction);
  if (!exponent.empty()) out += "e" + std::string(exponent);
  return out;
}

std::string write_pretty(const OutJson& document) {
  std::string out;
  write(document, 0, out);
  out += '\n';
  return out;
}

std::string write_compact(const OutJson& document) {
  std::string out;
  write(document, -1, out);
  return out;
}

model::Result<ParsedJson> parse_bounded(std::string_view text) {
  if (text.size() > kMaxJsonBytes)
    return model::fail(model::ErrorCode::kParse,
                       fmt::format("JSON larger than {} MiB", kMaxJsonBytes >> 20));
  ParsedJson parsed;
  BoundedDomBuilder builder(parsed);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &builder);
  } catch (const nlohmann::json::exception& e) {
    // Messages of nlohmann parse errors quote the offending token; keep only its id.
    return model::fail(model::ErrorCode::kParse,
                       fmt::format("not well-formed JSON (error {})", e.id));
  }
  if (!ok) {
    return model::fail(model::ErrorCode::kParse,
                       builder.error().empty() ? "not well-formed JSON" : builder.error());
  }
  return parsed;
}

}  // namespace labvault::fhir::internal
