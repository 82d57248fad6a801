#include "store/codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "store/internal/member_count.hpp"

namespace labvault::store::codec {
namespace {

using namespace labvault::model;

// Rows written with this byte keep decoding forever: a new layout gets a new byte and its own
// decoder, never an edit of this one.
constexpr char kFormatVersion = 0x01;

// Enums are stored as their declaration index, so lab.hpp may only append enumerators. Decoding
// rejects anything past the last one this build knows.
constexpr Sex last(Sex) { return Sex::kOther; }
constexpr ResultStatus last(ResultStatus) { return ResultStatus::kFinalUnchanged; }
constexpr Sensitivity last(Sensitivity) { return Sensitivity::kSexualHealth; }
constexpr ReportStatus last(ReportStatus) { return ReportStatus::kCancelled; }

template <typename T>
concept StoredEnum = std::is_enum_v<T> && requires(T e) {
  last(e);
};

template <typename T, typename U>
concept Is = std::same_as<std::remove_const_t<T>, U>;

// One field list per struct, shared by the writer and the reader so that the two cannot drift
// apart; the names only reach error messages. Members the header leaves out are absent here.
constexpr void fields(Is<Coding> auto& v, auto&& f) {
  f("code", v.code), f("display", v.display), f("system", v.system), f("version", v.version);
}
constexpr void fields(Is<CodeableConcept> auto& v, auto&& f) {
  f("codings", v.codings), f("original_text", v.original_text);
}
constexpr void fields(Is<Identifier> auto& v, auto&& f) {
  f("value", v.value), f("assigning_authority", v.assigning_authority), f("type", v.type);
}
constexpr void fields(Is<HumanName> auto& v, auto&& f) {
  f("family", v.family), f("given", v.given), f("suffix", v.suffix), f("prefix", v.prefix);
  f("use", v.use);
}
constexpr void fields(Is<Address> auto& v, auto&& f) {
  f("lines", v.lines), f("city", v.city), f("state", v.state);
  f("postal_code", v.postal_code), f("country", v.country), f("use", v.use);
}
constexpr void fields(Is<ContactPoint> auto& v, auto&& f) {
  f("value", v.value), f("use", v.use), f("equipment", v.equipment);
}
constexpr void fields(Is<Practitioner> auto& v, auto&& f) {
  f("id", v.id), f("assigning_authority", v.assigning_authority), f("name", v.name);
}
constexpr void fields(Is<Organization> auto& v, auto&& f) { f("name", v.name), f("id", v.id); }
constexpr void fields(Is<Patient> auto& v, auto&& f) {
  f("identifiers", v.identifiers), f("names", v.names), f("birth_date", v.birth_date);
  f("sex", v.sex), f("addresses", v.addresses), f("phones", v.phones);
}
constexpr void fields(Is<Encounter> auto& v, auto&& f) {
  f("patient_class", v.patient_class), f("location", v.location);
  f("visit_number", v.visit_number), f("attending", v.attending), f("admitted", v.admitted);
}
constexpr void fields(Is<Specimen> auto& v, auto&& f) {
  f("id", v.id), f("type", v.type), f("collection_method", v.collection_method);
  f("source_site", v.source_site), f("collected", v.collected), f("received", v.received);
}
constexpr void fields(Is<NumericValue> auto& v, auto&& f) {
  f("text", v.text), f("value", v.value);
}
constexpr void fields(Is<StructuredNumeric> auto& v, auto&& f) {
  f("comparator", v.comparator), f("num1", v.num1), f("separator", v.separator);
  f("num2", v.num2);
}
constexpr void fields(Is<TextValue> auto& v, auto&& f) { f("lines", v.lines); }
constexpr void fields(Is<ReferenceRange> auto& v, auto&& f) {
  f("text", v.text), f("low", v.low), f("high", v.high);
}
constexpr void fields(Is<ObservationVersion> auto& v, auto&& f) {
  f("value", v.value), f("status", v.status), f("observed", v.observed), f("issued", v.issued);
}
constexpr void fields(Is<Observation> auto& v, auto&& f) {
  f("set_id", v.set_id), f("value_type", v.value_type), f("code", v.code);
  f("sub_id", v.sub_id), f("value", v.value), f("unit", v.unit);
  f("reference_range", v.reference_range), f("abnormal_flags", v.abnormal_flags);
  f("status", v.status), f("observed", v.observed), f("issued", v.issued);
  f("performers", v.performers), f("performing_lab", v.performing_lab), f("notes", v.notes);
  f("sensitivity", v.sensitivity);
}
constexpr void fields(Is<Order> auto& v, auto&& f) {
  f("control", v.control), f("placer_order_number", v.placer_order_number);
  f("filler_order_number", v.filler_order_number);
  f("placer_group_number", v.placer_group_number), f("service", v.service);
  f("priority", v.priority), f("ordered", v.ordered);
  f("ordering_provider", v.ordering_provider), f("reason", v.reason);
  f("ask_at_order_entry", v.ask_at_order_entry), f("notes", v.notes);
}
constexpr void fields(Is<Report> auto& v, auto&& f) {
  f("set_id", v.set_id), f("placer_order_number", v.placer_order_number);
  f("filler_order_number", v.filler_order_number), f("service", v.service);
  f("observed", v.observed), f("issued", v.issued);
  f("diagnostic_section", v.diagnostic_section);
  f("result_status_code", v.result_status_code), f("status", v.status);
  f("parent_result_code", v.parent_result_code);
  f("parent_result_sub_id", v.parent_result_sub_id);
  f("parent_result_text", v.parent_result_text);
  f("parent_filler_order_number", v.parent_filler_order_number);
  f("result_interpreters", v.result_interpreters), f("notes", v.notes);
}
constexpr void fields(Is<MessageHeader> auto& v, auto&& f) {
  f("sending_application", v.sending_application), f("sending_facility", v.sending_facility);
  f("receiving_application", v.receiving_application);
  f("receiving_facility", v.receiving_facility), f("sent", v.sent);
  f("message_type", v.message_type), f("trigger_event", v.trigger_event);
  f("control_id", v.control_id), f("processing_id", v.processing_id), f("version", v.version);
}

template <typename T>
concept Struct = requires(T& v) {
  fields(v, [](const char*, auto&) {});
};

// A member added to lab.hpp must join its field list (or be left out here on purpose), else
// the store would silently drop it: count aggregate members against listed fields.
template <Struct T>
consteval bool lists_all_but(size_t left_out) {
  // Never constructed (std::string is not constexpr with every compiler/library pair): the
  // count only names the members.
  union Storage {
    constexpr Storage() {}
    constexpr ~Storage() {}
    T v;
  } storage;
  size_t n = 0;
  fields(storage.v, [&n](const char*, auto&) { ++n; });
  return n + left_out == internal::member_count<T>();
}
static_assert(lists_all_but<Coding>(0) && lists_all_but<CodeableConcept>(0) &&
              lists_all_but<Identifier>(0) && lists_all_but<HumanName>(0) &&
              lists_all_but<Address>(0) && lists_all_but<ContactPoint>(0) &&
              lists_all_but<Practitioner>(0) && lists_all_but<Organization>(0) &&
              lists_all_but<Patient>(0) && lists_all_but<Encounter>(0) &&
              lists_all_but<Specimen>(0) && lists_all_but<NumericValue>(0) &&
              lists_all_but<StructuredNumeric>(0) && lists_all_but<TextValue>(0) &&
              lists_all_but<ReferenceRange>(0) && lists_all_but<ObservationVersion>(0) &&
              lists_all_but<Observation>(1) && lists_all_but<Order>(1) &&
              lists_all_but<Report>(2) && lists_all_but<MessageHeader>(0));
static_assert(internal::member_count<DateTime>() == 9,
              "put/get(DateTime) must store the new member");

// DateTime header byte: the precision (which is also how many of year..second follow) and flags.
constexpr unsigned kPrecisionMask = 0x07;
constexpr unsigned kHasOffset = 0x08;
constexpr unsigned kHasFraction = 0x10;
// Set when a field finer than the precision is non-zero: parsers never produce that, but the
// codec promises decode(encode(x)) == x for every value, so all six fields follow then.
constexpr unsigned kAllFields = 0x20;
constexpr int kDateFields = 6;

template <typename D>
auto date_fields(D& d) {
  return std::array{&d.year, &d.month, &d.day, &d.hour, &d.minute, &d.second};
}

class Writer {
 public:
  explicit Writer(size_t reserve) {
    out_.reserve(reserve);
    out_.push_back(kFormatVersion);
  }
  std::string take() { return std::move(out_); }

  void varint(uint64_t v) {
    if (v < 0x80) return out_.push_back(static_cast<char>(v));
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }

  void put(const std::string& s) {
    varint(s.size());
    out_.append(s);
  }
  void put(int v) {
    const auto u = static_cast<uint32_t>(v);
    varint((u << 1) ^ (v < 0 ? 0xFFFFFFFFu : 0u));
  }
  void put(double d) {
    const auto bits = std::bit_cast<uint64_t>(d);
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(bits >> (8 * i));
    out_.append(buf, 8);
  }
  template <StoredEnum E>
  void put(E e) {
    varint(static_cast<uint64_t>(std::to_underlying(e)));
  }
  template <typename T>
  void put(const std::optional<T>& v) {
    out_.push_back(v ? 1 : 0);
    if (v) put(*v);
  }
  template <typename T>
  void put(const std::vector<T>& v) {
    varint(v.size());
    for (const T& e : v) put(e);
  }
  void put(std::monostate) {}
  void put(const ObservationValue& v) {
    out_.push_back(static_cast<char>(v.index()));
    std::visit([this](const auto& alt) { this->put(alt); }, v);
  }
  void put(const DateTime& d) {
    const int precision = static_cast<int>(d.precision);
    const auto f = date_fields(d);
    bool all = false;
    for (int i = precision; i < kDateFields; ++i) all |= *f[i] != 0;
    const unsigned head = static_cast<unsigned>(precision) |
                          (d.utc_offset_minutes ? kHasOffset : 0) |
                          (d.fraction.empty() ? 0 : kHasFraction) | (all ? kAllFields : 0);
    out_.push_back(static_cast<char>(head));
    for (int i = 0, n = all ? kDateFields : precision; i < n; ++i) put(*f[i]);
    if (!d.fraction.empty()) put(d.fraction);
    if (d.utc_offset_minutes) put(*d.utc_offset_minutes);
  }
  // Ask-at-order-entry answers are stored inside their Order, so their history has nowhere
  // else to go; only the Observation part itself leaves it to its table.
  void put(const Observation& v) {
    put_fields(v);
    put(v.history);
  }
  template <Struct T>
  void put(const T& v) {
    put_fields(v);
  }
  template <Struct T>
  void put_fields(const T& v) {
    fields(v, [this](const char*, const auto& m) { this->put(m); });
  }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  [[nodiscard]] const std::string& error() const { return error_; }

  // Every failure goes through here: the first one wins, and parking the cursor at the end
  // makes every later read fail fast without a check at each call site.
  void fail(std::string_view what) {
    if (!ok()) return;
    error_ = what;
    if (depth_ > 0) {
      error_ += " at ";
      for (int i = 0; i < std::min(depth_, kMaxDepth); ++i) {
        const Frame& fr = frames_[i];
        if (fr.name == nullptr) {
          error_ += '[' + std::to_string(fr.index) + ']';
        } else {
          if (i > 0) error_ += '.';
          error_ += fr.name;
        }
      }
    }
    p_ = end_;
  }

  // Names the field being read for error messages; an index frame has a null name.
  class Scope {
   public:
    Scope(Reader& r, const char* name, size_t index = 0) : r_(r) {
      if (r_.depth_ < kMaxDepth) r_.frames_[r_.depth_] = {name, index};
      ++r_.depth_;
    }
    ~Scope() { --r_.depth_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Reader& r_;
  };

  uint8_t byte() {
    if (p_ == end_) {
      fail("truncated");
      return 0;
    }
    return *p_++;
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) {
        fail("truncated");
        return 0;
      }
      const uint64_t b = *p_++;
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) break;
      v |= (b & 0x7F) << shift;
      if (b < 0x80) return v;
    }
    fail("malformed varint");
    return 0;
  }

  void get(std::string& s) {
    const uint64_t n = varint();
    if (n > remaining()) return fail("length exceeds the remaining bytes");
    s.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
  }
  void get(int& v) {
    const uint64_t z = varint();
    if (z > 0xFFFFFFFFu) return fail("integer out of range");
    const auto u = static_cast<uint32_t>(z);
    v = static_cast<int>((u >> 1) ^ (0u - (u & 1)));
  }
  void get(double& d) {
    if (remaining() < 8) return fail("truncated");
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= uint64_t{p_[i]} << (8 * i);
    p_ += 8;
    d = std::bit_cast<double>(bits);
  }
  template <StoredEnum E>
  void get(E& e) {
    const uint64_t v = varint();
    if (v > static_cast<uint64_t>(std::to_underlying(last(E{})))) return fail("invalid enum value");
    e = static_cast<E>(v);
  }
  template <typename T>
  void get(std::optional<T>& v) {
    const uint8_t present = byte();
    if (present > 1) return fail("invalid presence flag");
    v.reset();
    if (present == 1) get(v.emplace());
  }
  template <typename T>
  void get(std::vector<T>& v) {
    const uint64_t n = varint();
    // Every element takes at least one byte, so a larger count is corrupt; checking it first
    // keeps a forged count from reserving gigabytes.
    if (n > remaining()) return fail("count exceeds the remaining bytes");
    v.clear();
    if constexpr (std::is_same_v<T, std::string>) v.reserve(n);
    for (size_t i = 0; i < n && ok(); ++i) {
      Scope scope(*this, nullptr, i);
      get(v.emplace_back());
    }
  }
  void get(std::monostate&) {}
  void get(ObservationValue& v) {
    const uint8_t kind = byte();
    if (kind >= std::variant_size_v<ObservationValue>) return fail("invalid value kind");
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((kind == I ? get(v.emplace<I>()) : void()), ...);
    }
    (std::make_index_sequence<std::variant_size_v<ObservationValue>>{});
  }
  void get(DateTime& d) {
    const unsigned head = byte();
    const unsigned precision = head & kPrecisionMask;
    if ((head & ~(kPrecisionMask | kHasOffset | kHasFraction | kAllFields)) != 0 ||
        precision > static_cast<unsigned>(DateTime::Precision::kSecond))
      return fail("invalid DateTime header");
    d = DateTime{};
    d.precision = static_cast<DateTime::Precision>(precision);
    const auto f = date_fields(d);
    static constexpr const char* kNames[] = {"year", "month", "day", "hour", "minute", "second"};
    const int n = (head & kAllFields) != 0 ? kDateFields : static_cast<int>(precision);
    for (int i = 0; i < n; ++i) field(kNames[i], *f[i]);
    if ((head & kHasFraction) != 0) field("fraction", d.fraction);
    if ((head & kHasOffset) != 0) field("utc_offset_minutes", d.utc_offset_minutes.emplace());
  }
  void get(Observation& v) {
    get_fields(v);
    field("history", v.history);
  }
  template <Struct T>
  void get(T& v) {
    get_fields(v);
  }
  template <Struct T>
  void get_fields(T& v) {
    fields(v, [this](const char* name, auto& m) { this->field(name, m); });
  }
  template <typename T>
  void field(const char* name, T& m) {
    Scope scope(*this, name);
    get(m);
  }

 private:
  struct Frame {
    const char* name;
    size_t index;
  };
  // The deepest path (Order > ask_at_order_entry[i] > history[j] > value > codings[k] > code)
  // has 8 frames; anything deeper is counted but not named.
  static constexpr int kMaxDepth = 12;

  const unsigned char* p_;
  const unsigned char* end_;
  std::string error_;
  std::array<Frame, kMaxDepth> frames_{};
  int depth_ = 0;
};

template <typename T>
std::string encode_part(const T& v, size_t reserve) {
  Writer w(reserve);
  w.put_fields(v);
  return w.take();
}

// `out` is replaced only on success, so a failed decode never leaves a half-filled value
// (members the part leaves out come back empty).
template <typename T, typename Read>
Result<void> decode_part(std::string_view bytes, std::string_view part, T& out, Read read) {
  Reader r(bytes);
  T v{};
  if (bytes.empty()) {
    r.fail("empty");
  } else if (const uint8_t version = r.byte(); version != kFormatVersion) {
    r.fail("unsupported format version " + std::to_string(version));
  }
  if (r.ok()) read(r, v);
  if (r.ok() && r.remaining() != 0)
    r.fail("unexpected bytes after the last field (" + std::to_string(r.remaining()) + ")");
  if (!r.ok()) return fail(ErrorCode::kParse, "stored " + std::string(part) + ": " + r.error());
  out = std::move(v);
  return {};
}

template <typename T>
Result<void> decode_struct(std::string_view bytes, std::string_view part, T& out) {
  return decode_part(bytes, part, out, [](Reader& r, T& v) { r.get_fields(v); });
}

}  // namespace

// Reserve sizes are a little above what typical parts from the HL7 test data encode to, so
// the common case allocates once.
std::string encode(const Patient& v) { return encode_part(v, 192); }
std::string encode(const Encounter& v) { return encode_part(v, 96); }
std::string encode(const Specimen& v) { return encode_part(v, 192); }
std::string encode(const Order& v) { return encode_part(v, 256); }
std::string encode(const Report& v) { return encode_part(v, 256); }
std::string encode(const Observation& v) { return encode_part(v, 256); }
std::string encode(const ObservationVersion& v) { return encode_part(v, 64); }
std::string encode(const MessageHeader& v) { return encode_part(v, 128); }
std::string encode(const std::vector<std::string>& v) {
  size_t size = 1 + 10;
  for (const auto& s : v) size += s.size() + 2;
  Writer w(size);
  w.put(v);
  return w.take();
}

Result<void> decode(std::string_view bytes, Patient& out) {
  return decode_struct(bytes, "Patient", out);
}
Result<void> decode(std::string_view bytes, Encounter& out) {
  return decode_struct(bytes, "Encounter", out);
}
Result<void> decode(std::string_view bytes, Specimen& out) {
  return decode_struct(bytes, "Specimen", out);
}
Result<void> decode(std::string_view bytes, Order& out) {
  return decode_struct(bytes, "Order", out);
}
Result<void> decode(std::string_view bytes, Report& out) {
  return decode_struct(bytes, "Report", out);
}
Result<void> decode(std::string_view bytes, Observation& out) {
  return decode_struct(bytes, "Observation", out);
}
Result<void> decode(std::string_view bytes, ObservationVersion& out) {
  return decode_struct(bytes, "ObservationVersion", out);
}
Result<void> decode(std::string_view bytes, MessageHeader& out) {
  return decode_struct(bytes, "MessageHeader", out);
}
Result<void> decode(std::string_view bytes, std::vector<std::string>& out) {
  return decode_part(bytes, "string list", out,
                     [](Reader& r, std::vector<std::string>& v) { r.get(v); });
}

}  // namespace labvault::store::codec
