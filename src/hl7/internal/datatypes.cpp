#include "hl7/internal/datatypes.hpp"

#include <algorithm>

namespace labvault::hl7::internal {
namespace {

bool looks_like_oid(std::string_view s) {
  return !s.empty() &&
         std::ranges::all_of(s, [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
         s.find('.') != std::string_view::npos;
}

std::string escaped(std::string_view v) {
  std::string out;
  append_escaped(out, v, kStandard);
  return out;
}

std::string join(const std::vector<std::string>& parts, size_t from, std::string_view sep) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (i > from) out += sep;
    out += parts[i];
  }
  return out;
}

}  // namespace

model::CodeableConcept read_ce(Parts p) {
  model::CodeableConcept cc;
  for (int first : {1, 4}) {
    if (p.empty_at(first) && p.empty_at(first + 1)) continue;  // most CEs have one triplet
    model::Coding c{p.str(first), p.str(first + 1), p.str(first + 2), p.str(first == 1 ? 7 : 8)};
    if (!c.code.empty() || !c.display.empty()) cc.codings.push_back(std::move(c));
  }
  cc.original_text = p.str(9);
  return cc;
}

model::Coding read_unit(Parts p) { return {p.str(1), p.str(2), p.str(3), {}}; }

model::Identifier read_cx(Parts p) {
  Piece authority = p.at(4);
  std::string ns = authority.subcomponent(1).str();
  return {p.str(1), ns.empty() ? authority.subcomponent(2).str() : ns, p.str(5)};
}

model::Identifier read_ei(Parts p) {
  std::string ns = p.str(2);
  return {p.str(1), ns.empty() ? p.str(3) : ns, {}};
}

namespace {
// XPN and XCN share the name layout, starting at a different component: family (FN, its first
// subcomponent), given, middle, suffix, prefix.
model::HumanName read_name(const Parts& p, int family) {
  model::HumanName n;
  n.family = p.sub() ? p.str(family) : p.at(family).subcomponent(1).str();
  for (int i : {family + 1, family + 2}) {
    std::string g = p.str(i);
    if (!g.empty()) n.given.push_back(std::move(g));
  }
  n.suffix = p.str(family + 3);
  n.prefix = p.str(family + 4);
  return n;
}
}  // namespace

model::HumanName read_xpn(Parts p) {
  model::HumanName n = read_name(p, 1);
  n.use = p.str(7);
  return n;
}

model::Practitioner read_xcn(Parts p) {
  model::Practitioner pr;
  pr.id = p.str(1);
  pr.name = read_name(p, 2);
  if (p.sub()) {
    pr.assigning_authority = p.str(9).empty() ? p.str(10) : p.str(9);
  } else {
    Piece hd = p.at(9);
    std::string ns = hd.subcomponent(1).str();
    pr.assigning_authority = ns.empty() ? hd.subcomponent(2).str() : ns;
  }
  return pr;
}

model::Address read_xad(Parts p) {
  model::Address a;
  for (std::string line : {p.at(1).subcomponent(1).str(), p.str(2)})
    if (!line.empty()) a.lines.push_back(std::move(line));
  a.city = p.str(3);
  a.state = p.str(4);
  a.postal_code = p.str(5);
  a.country = p.str(6);
  a.use = p.str(7);
  return a;
}

model::ContactPoint read_xtn(Parts p) {
  model::ContactPoint c;
  c.value = p.str(1);
  if (c.value.empty()) c.value = p.str(4);  // email
  if (c.value.empty()) {
    // v2.5 XTN: country code, area code and local number in separate components.
    std::string country = p.str(5), area = p.str(6), local = p.str(7), ext = p.str(8);
    if (!country.empty()) c.value += "+" + country + " ";
    if (!area.empty()) c.value += area + " ";
    c.value += local;
    if (!ext.empty()) c.value += " x" + ext;
    while (!c.value.empty() && c.value.back() == ' ') c.value.pop_back();
  }
  c.use = p.str(2);
  c.equipment = p.str(3);
  return c;
}

model::Organization read_xon(Parts p) {
  std::string id = p.str(10);
  return {p.str(1), id.empty() ? p.str(3) : id};
}

std::string read_hd(Parts p) {
  std::string ns = p.str(1);
  return ns.empty() ? p.str(2) : ns;
}

FieldWriter& FieldWriter::set(int n, std::string_view value) { return set_raw(n, escaped(value)); }

FieldWriter& FieldWriter::set_raw(int n, std::string_view encoded) {
  if (encoded.empty()) return *this;
  if (parts_.size() < static_cast<size_t>(n)) parts_.resize(n);
  parts_[n - 1] = std::string(encoded);
  return *this;
}

std::string FieldWriter::str() const {
  std::string out;
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i) out += sep_;
    out += parts_[i];
  }
  return out;
}

std::string write_ce(const model::CodeableConcept& cc, char sep) {
  FieldWriter w(sep);
  for (size_t i = 0; i < std::min<size_t>(cc.codings.size(), 2); ++i) {
    const model::Coding& c = cc.codings[i];
    int first = i == 0 ? 1 : 4;
    w.set(first, c.code).set(first + 1, c.display).set(first + 2, c.system);
    w.set(i == 0 ? 7 : 8, c.version);
  }
  w.set(9, cc.original_text);
  return w.str();
}

std::string write_unit(const model::Coding& unit) {
  return FieldWriter().set(1, unit.code).set(2, unit.display).set(3, unit.system).str();
}

std::string write_cx(const model::Identifier& id) {
  FieldWriter w;
  w.set(1, id.value).set(5, id.type);
  if (looks_like_oid(id.assigning_authority))
    w.set_raw(4, "&" + escaped(id.assigning_authority) + "&ISO");
  else
    w.set(4, id.assigning_authority);
  return w.str();
}

std::string write_ei(const model::Identifier& id, char sep) {
  FieldWriter w(sep);
  w.set(1, id.value);
  if (looks_like_oid(id.assigning_authority))
    w.set(3, id.assigning_authority).set(4, "ISO");
  else
    w.set(2, id.assigning_authority);
  return w.str();
}

std::string write_xpn(const model::HumanName& n) {
  FieldWriter w;
  w.set(1, n.family);
  if (!n.given.empty()) w.set(2, n.given[0]);
  if (n.given.size() > 1) w.set(3, join(n.given, 1, " "));
  return w.set(4, n.suffix).set(5, n.prefix).set(7, n.use).str();
}

std::string write_xcn(const model::Practitioner& p, char sep) {
  FieldWriter w(sep);
  w.set(1, p.id).set(2, p.name.family);
  if (!p.name.given.empty()) w.set(3, p.name.given[0]);
  if (p.name.given.size() > 1) w.set(4, join(p.name.given, 1, " "));
  w.set(5, p.name.suffix).set(6, p.name.prefix);
  if (sep == '^' && looks_like_oid(p.assigning_authority))
    w.set_raw(9, "&" + escaped(p.assigning_authority) + "&ISO");
  else
    w.set(9, p.assigning_authority);
  return w.str();
}

std::string write_xad(const model::Address& a) {
  FieldWriter w;
  if (!a.lines.empty()) w.set(1, a.lines[0]);
  if (a.lines.size() > 1) w.set(2, join(a.lines, 1, ", "));
  return w.set(3, a.city)
      .set(4, a.state)
      .set(5, a.postal_code)
      .set(6, a.country)
      .set(7, a.use)
      .str();
}

std::string write_xtn(const model::ContactPoint& c) {
  return FieldWriter().set(1, c.value).set(2, c.use).set(3, c.equipment).str();
}

std::string write_xon(const model::Organization& o) {
  return FieldWriter().set(1, o.name).set(10, o.id).str();
}

// Re-encodes a segment or value with the standard delimiters |^~\&. A standard delimiter that
// is plain data in this message (legal when the sender chose other delimiters) is escaped, so
// it cannot turn into structure.
std::string standardize(std::string_view raw, const Delimiters& d) {
  const Delimiters& k = internal::kStandard;
  if (d.field == k.field && d.component == k.component && d.repetition == k.repetition &&
      d.escape == k.escape && d.subcomponent == k.subcomponent)
    return std::string(raw);
  std::string s;
  s.reserve(raw.size() + 8);
  auto escaped = [&](char code) { s += '\\', s += code, s += '\\'; };
  for (char c : raw) {
    if (c == d.field)
      s += '|';
    else if (c == d.component)
      s += '^';
    else if (c == d.repetition)
      s += '~';
    else if (c == d.escape)
      s += '\\';
    else if (c == d.subcomponent)
      s += '&';
    else if (c == '|')
      escaped('F');
    else if (c == '^')
      escaped('S');
    else if (c == '~')
      escaped('R');
    else if (c == '\\')
      escaped('E');
    else if (c == '&')
      escaped('T');
    else
      s += c;
  }
  return s;
}

}  // namespace labvault::hl7::internal
