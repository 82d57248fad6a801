// model -> ORU^R01 v2.5.1. Field positions follow the mapping in to_model.cpp so that reading
// the output back gives the same model.
#include <fmt/format.h>

#include "hl7/hl7.hpp"
#include "hl7/internal/datatypes.hpp"

namespace labvault::hl7 {
namespace {

using internal::FieldWriter;

// One segment: fields set by position (already encoded), trailing empties dropped.
class SegmentWriter {
 public:
  explicit SegmentWriter(std::string_view id) : id_(id) {}
  SegmentWriter& raw(int n, std::string value) {
    if (value.empty()) return *this;
    if (fields_.size() < static_cast<size_t>(n)) fields_.resize(n);
    fields_[n - 1] = std::move(value);
    return *this;
  }
  SegmentWriter& text(int n, std::string_view value) {
    std::string out;
    append_escaped(out, value, internal::kStandard);
    return raw(n, std::move(out));
  }
  void append_to(std::string& out) const {
    out += id_;
    for (const std::string& f : fields_) {
      out += '|';
      out += f;
    }
    out += '\r';
  }

 private:
  std::string_view id_;
  std::vector<std::string> fields_;
};

template <typename T, typename F>
std::string repeated(const std::vector<T>& items, F&& write) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += '~';
    out += write(items[i]);
  }
  return out;
}

std::string lines_escaped(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '~';
    append_escaped(out, lines[i], internal::kStandard);
  }
  return out;
}

std::string value_field(const model::Observation& o) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, model::NumericValue>) {
          return FieldWriter().set(1, v.text).str();
        } else if constexpr (std::is_same_v<T, model::StructuredNumeric>) {
          return FieldWriter()
              .set(1, v.comparator)
              .set(2, v.num1)
              .set(3, v.separator)
              .set(4, v.num2)
              .str();
        } else if constexpr (std::is_same_v<T, model::CodeableConcept>) {
          return internal::write_ce(v);
        } else if constexpr (std::is_same_v<T, model::TextValue>) {
          if (o.value_type == "ST" || o.value_type == "TX" || o.value_type == "FT" ||
              o.value_type.empty())
            return lines_escaped(v.lines);
          std::string out;  // composite types were kept encoded with standard delimiters
          for (size_t i = 0; i < v.lines.size(); ++i) out += (i ? "~" : "") + v.lines[i];
          return out;
        } else {
          return {};
        }
      },
      o.value);
}

void write_notes(std::string& out, const std::vector<std::string>& notes) {
  int i = 0;
  for (const std::string& n : notes)
    SegmentWriter("NTE").raw(1, std::to_string(++i)).text(3, n).append_to(out);
}

void write_obx(std::string& out, const model::Observation& o, int set_id, bool aoe) {
  SegmentWriter s("OBX");
  s.raw(1, o.set_id.empty() ? std::to_string(set_id) : FieldWriter().set(1, o.set_id).str());
  s.text(2, o.value_type);
  s.raw(3, internal::write_ce(o.code));
  s.text(4, o.sub_id);
  s.raw(5, value_field(o));
  s.raw(6, internal::write_unit(o.unit));
  s.text(7, o.reference_range.text);
  s.raw(8, lines_escaped(o.abnormal_flags));
  s.raw(11, std::string(model::to_hl7_code(o.status)));
  s.raw(14, o.observed.to_hl7());
  s.raw(16, repeated(o.performers, [](auto& p) { return internal::write_xcn(p); }));
  s.raw(19, o.issued.to_hl7());
  s.raw(23, internal::write_xon(o.performing_lab));
  if (aoe) s.raw(29, "QST");
  s.append_to(out);
  write_notes(out, o.notes);
}

void write_spm(std::string& out, const model::Specimen& sp, int set_id) {
  SegmentWriter s("SPM");
  s.raw(1, std::to_string(set_id));
  if (!sp.id.empty()) s.raw(2, "^" + internal::write_ei({sp.id, {}, {}}, '&'));
  s.raw(4, internal::write_ce(sp.type));
  s.raw(7, internal::write_ce(sp.collection_method));
  s.raw(8, internal::write_ce(sp.source_site));
  s.raw(17, sp.collected.to_hl7());
  s.raw(18, sp.received.to_hl7());
  s.append_to(out);
}

}  // namespace

std::string to_oru_r01(const model::LabMessage& m) {
  std::string out;
  out.reserve(4096);
  const model::MessageHeader& h = m.header;
  // Always 2.5.1: the output uses 2.5.1 structures (SPM, OBX-23, OBX-29) whatever the input was.
  const std::string version = "2.5.1";
  SegmentWriter msh("MSH");
  msh.raw(1, "^~\\&");  // MSH-2; MSH-1 is the '|' after "MSH"
  msh.text(2, h.sending_application).text(3, h.sending_facility);
  msh.text(4, h.receiving_application).text(5, h.receiving_facility);
  msh.raw(6, h.sent.to_hl7());
  msh.raw(8, "ORU^R01^ORU_R01");
  msh.text(9, h.control_id);
  msh.text(10, h.processing_id.empty() ? "P" : h.processing_id);
  msh.raw(11, version);
  msh.append_to(out);

  const model::Patient& p = m.patient;
  SegmentWriter pid("PID");
  pid.raw(1, "1");
  pid.raw(3, repeated(p.identifiers, [](auto& id) { return internal::write_cx(id); }));
  pid.raw(5, repeated(p.names, [](auto& n) { return internal::write_xpn(n); }));
  pid.raw(7, p.birth_date.to_hl7());
  if (p.sex != model::Sex::kUnknown) pid.raw(8, std::string(model::to_hl7_code(p.sex)));
  pid.raw(11, repeated(p.addresses, [](auto& a) { return internal::write_xad(a); }));
  pid.raw(13, repeated(p.phones, [](auto& c) { return internal::write_xtn(c); }));
  pid.append_to(out);
  write_notes(out, m.patient_notes);

  const model::Encounter& e = m.encounter;
  if (!e.empty() || !e.attending.empty() || !e.admitted.empty()) {
    SegmentWriter pv1("PV1");
    pv1.raw(1, "1").text(2, e.patient_class).text(3, e.location);
    pv1.raw(7, internal::write_xcn(e.attending))
        .text(19, e.visit_number)
        .raw(44, e.admitted.to_hl7());
    pv1.append_to(out);
  }

  size_t groups = std::max(m.orders.size(), m.reports.size());
  int obr_set_id = 0;
  for (size_t i = 0; i < groups; ++i) {
    const model::Order* o = i < m.orders.size() ? &m.orders[i] : nullptr;
    const model::Report* r = i < m.reports.size() ? &m.reports[i] : nullptr;
    // An OML^O21 order group may be a bare ORC; ORU^R01 has no place for one without an OBR.
    if (!r && o->service.empty()) continue;
    // ORC only when the order carries something OBR cannot: an ORU without ORC reads back the
    // same order from OBR alone.
    if (o &&
        (!o->control.empty() || !o->placer_group_number.value.empty() || !o->ordered.empty())) {
      SegmentWriter orc("ORC");
      orc.text(1, "RE");  // ORU^R01: observations to follow, whatever the order's original control
      orc.raw(2, internal::write_ei(o->placer_order_number));
      orc.raw(3, internal::write_ei(o->filler_order_number));
      orc.raw(4, internal::write_ei(o->placer_group_number));
      orc.raw(9, o->ordered.to_hl7());
      orc.raw(12, internal::write_xcn(o->ordering_provider));
      orc.append_to(out);
    }
    SegmentWriter obr("OBR");
    ++obr_set_id;
    obr.raw(1, r && !r->set_id.empty() ? FieldWriter().set(1, r->set_id).str()
                                       : std::to_string(obr_set_id));
    obr.raw(2, internal::write_ei(r ? r->placer_order_number : o->placer_order_number));
    obr.raw(3, internal::write_ei(r ? r->filler_order_number : o->filler_order_number));
    obr.raw(4, internal::write_ce(r ? r->service : o->service));
    if (o) {
      obr.text(5, o->priority);
      obr.raw(16, internal::write_xcn(o->ordering_provider));
      obr.raw(31, internal::write_ce(o->reason));
    }
    if (r) {
      obr.raw(7, r->observed.to_hl7());
      obr.raw(22, r->issued.to_hl7());
      obr.text(24, r->diagnostic_section);
      obr.text(25, r->result_status_code);
      FieldWriter parent;
      parent.set_raw(1, internal::write_ce(r->parent_result_code, '&'));
      parent.set(2, r->parent_result_sub_id).set(3, r->parent_result_text);
      obr.raw(26, parent.str());
      if (!r->parent_filler_order_number.value.empty())
        obr.raw(29, "^" + internal::write_ei(r->parent_filler_order_number, '&'));
      obr.raw(32, repeated(r->result_interpreters,
                           [](auto& x) { return internal::write_xcn(x, '&'); }));
    }
    obr.append_to(out);
    if (r)
      write_notes(out, r->notes);
    else if (o)
      write_notes(out, o->notes);
    int set_id = 0;
    if (o)
      for (const model::Observation& aoe : o->ask_at_order_entry)
        write_obx(out, aoe, ++set_id, true);
    if (r)
      for (const model::Observation& obs : r->observations) write_obx(out, obs, ++set_id, false);
    int spm_id = 0;
    if (o)
      for (const model::Specimen& s : o->specimens) write_spm(out, s, ++spm_id);
    if (r)
      for (const model::Specimen& s : r->specimens) write_spm(out, s, ++spm_id);
  }
  for (const std::string& z : m.extra_segments) out += z + '\r';
  return out;
}

}  // namespace labvault::hl7
