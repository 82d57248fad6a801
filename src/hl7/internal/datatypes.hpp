// HL7 v2 composite data types <-> model values. Readers take a Piece (a field repetition, or a
// component when the type is embedded as subcomponents); writers append with the standard
// delimiters. For every type, read(write(x)) == x for what the model holds.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "hl7/message.hpp"
#include "model/lab.hpp"

namespace labvault::hl7::internal {

// A composite's parts (components of a field, or subcomponents of a component), split once.
class Parts {
 public:
  Parts(Piece piece, bool sub = false) : d_(piece.delimiters()), sub_(sub) {  // NOLINT: implicit
    // Split by hand into uninitialised slots: this runs for every composite field read.
    const std::string_view text = piece.raw();
    const char sep = sub ? d_->subcomponent : d_->component;
    if (text.empty()) return;
    const char* p = text.data();
    const char* end = p + text.size();
    while (count_ < kMax) {
      const char* q = static_cast<const char*>(std::memchr(p, sep, static_cast<size_t>(end - p)));
      if (q == nullptr) q = end;
      items_[count_++] = {p, static_cast<uint32_t>(q - p)};
      if (q == end) break;
      p = q + 1;
    }
  }
  [[nodiscard]] Piece at(int n) const {
    if (n < 1 || n > count_) return Piece({}, d_);
    return Piece(std::string_view(items_[n - 1].data, items_[n - 1].size), d_);
  }
  [[nodiscard]] bool empty_at(int n) const {
    return n < 1 || n > count_ || items_[n - 1].size == 0;
  }
  [[nodiscard]] std::string str(int n) const { return at(n).str(); }
  [[nodiscard]] bool sub() const { return sub_; }

 private:
  static constexpr int kMax = 12;
  struct Slot {
    const char* data;
    uint32_t size;
  };
  Slot items_[kMax];  // only the first count_ are set
  int count_ = 0;
  const Delimiters* d_;
  bool sub_;
};

model::CodeableConcept read_ce(Parts p);  // CE / CWE / CNE
model::Coding read_unit(Parts p);         // CE used for units: first triplet only
model::Identifier read_cx(Parts p);       // CX
model::Identifier read_ei(Parts p);       // EI
model::HumanName read_xpn(Parts p);       // XPN
model::Practitioner read_xcn(Parts p);    // XCN (and CNN when sub = true)
model::Address read_xad(Parts p);         // XAD
model::ContactPoint read_xtn(Parts p);    // XTN
model::Organization read_xon(Parts p);    // XON
std::string read_hd(Parts p);             // HD: namespace id, else universal id

// A field under construction: components (and their subcomponents) set by position, emitted
// with trailing empties dropped. Values are escaped on set.
class FieldWriter {
 public:
  explicit FieldWriter(char sep = '^') : sep_(sep) {}
  FieldWriter& set(int n, std::string_view value);        // escaped
  FieldWriter& set_raw(int n, std::string_view encoded);  // already encoded
  [[nodiscard]] std::string str() const;

 private:
  char sep_;
  std::vector<std::string> parts_;
};

std::string write_ce(const model::CodeableConcept& cc, char sep = '^');
std::string write_unit(const model::Coding& unit);
std::string write_cx(const model::Identifier& id);
std::string write_ei(const model::Identifier& id, char sep = '^');
std::string write_xpn(const model::HumanName& name);
std::string write_xcn(const model::Practitioner& p, char sep = '^');
std::string write_xad(const model::Address& a);
std::string write_xtn(const model::ContactPoint& c);
std::string write_xon(const model::Organization& o);

// Re-encodes raw text of a message using `d` with the standard delimiters; standard delimiter
// characters that are data under `d` are escaped so they cannot become structure.
std::string standardize(std::string_view raw, const Delimiters& d);

// The standard delimiters every writer uses.
inline constexpr Delimiters kStandard{};

}  // namespace labvault::hl7::internal
