// write(): LabMessages -> CSV, one row per observation (RFC 4180: CRLF line ends, fields
// quoted when they hold the delimiter, a quote or a line break, inner quotes doubled).
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "csv/csv.hpp"
#include "csv/internal/convert.hpp"
#include "csv/internal/date_format.hpp"
#include "csv/internal/values.hpp"

namespace labvault::csv {
namespace {

using internal::DateFormat;

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

// The coding a code column carries: the one in the mapping's default system when there is
// one (a LOINC column should get the LOINC code, not a local one listed first), else the first.
const model::Coding* pick(const model::CodeableConcept& cc, const Mapping& mapping) {
  if (cc.codings.empty()) return nullptr;
  auto it = std::ranges::find(cc.codings, mapping.default_code_system, &model::Coding::system);
  return it != cc.codings.end() ? &*it : &cc.codings.front();
}

std::string value_text(const model::ObservationValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(const model::NumericValue& v) const {
      return v.text.empty() ? fmt::format("{}", v.value) : v.text;
    }
    std::string operator()(const model::StructuredNumeric& v) const {
      return internal::format_structured_numeric(v);
    }
    std::string operator()(const model::TextValue& v) const { return join(v.lines, "\n"); }
    std::string operator()(const model::CodeableConcept& v) const {
      return internal::format_coded_value(v);
    }
  };
  return std::visit(Visitor{}, value);
}

// What one row is about; the writer reads every column's text from here.
struct Row {
  const model::LabMessage& message;
  const model::Report& report;
  const model::Order* order;
  const model::Specimen* specimen;
  const model::Observation& obs;
};

class Writer {
 public:
  Writer(const Mapping& mapping, DateFormat dates) : mapping_(mapping), dates_(std::move(dates)) {}

  std::string cell(Field f, const Row& row) const {
    const model::Patient& p = row.message.patient;
    const model::Identifier* id = nullptr;
    if (!p.identifiers.empty()) {
      auto mr = std::ranges::find(p.identifiers, "MR", &model::Identifier::type);
      id = mr != p.identifiers.end() ? &*mr : &p.identifiers.front();
    }
    const model::HumanName* name = p.names.empty() ? nullptr : &p.names.front();
    const model::Address* address = p.addresses.empty() ? nullptr : &p.addresses.front();
    const model::Practitioner* provider = row.order ? &row.order->ordering_provider : nullptr;
    const model::Coding* service = pick(row.report.service, mapping_);
    const model::Coding* code = pick(row.obs.code, mapping_);
    const model::Specimen* s = row.specimen;
    switch (f) {
      case Field::kPatientId:
        return id ? id->value : "";
      case Field::kPatientIdAuthority:
        return id ? id->assigning_authority : "";
      case Field::kPatientFamily:
        return name ? name->family : "";
      case Field::kPatientGiven:
        return name ? join(name->given, " ") : "";
      case Field::kPatientBirthDate:
        return dates_.format(p.birth_date);
      case Field::kPatientSex:
        return std::string(model::to_hl7_code(p.sex));
      case Field::kPatientPhone:
        return p.phones.empty() ? "" : p.phones.front().value;
      case Field::kPatientAddressLine:
        return address ? join(address->lines, ", ") : "";
      case Field::kPatientCity:
        return address ? address->city : "";
      case Field::kPatientState:
        return address ? address->state : "";
      case Field::kPatientPostalCode:
        return address ? address->postal_code : "";
      case Field::kOrderPlacer:
        return row.report.placer_order_number.value;
      case Field::kOrderFiller:
        return row.report.filler_order_number.value;
      case Field::kOrderProviderId:
        return provider ? provider->id : "";
      case Field::kOrderProviderFamily:
        return provider ? provider->name.family : "";
      case Field::kOrderProviderGiven:
        return provider ? join(provider->name.given, " ") : "";
      case Field::kReportCode:
        return service ? service->code : "";
      case Field::kReportCodeSystem:
        return service ? service->system : "";
      case Field::kReportDisplay:
        return service ? service->display : "";
      case Field::kReportStatus:
        if (!row.report.result_status_code.empty()) return row.report.result_status_code;
        if (row.report.status == model::ReportStatus::kFinal) return "";
        return std::string(model::to_hl7_code(row.report.status));
      case Field::kReportObserved:
        return dates_.format(row.report.observed);
      case Field::kReportIssued:
        return dates_.format(row.report.issued);
      case Field::kSpecimenId:
        return s ? s->id : "";
      case Field::kSpecimenType:
        return s ? internal::format_coded_value(s->type) : "";
      case Field::kSpecimenCollected:
        return s ? dates_.format(s->collected) : "";
      case Field::kSpecimenReceived:
        return s ? dates_.format(s->received) : "";
      case Field::kObsCode:
        return code ? code->code : "";
      case Field::kObsCodeSystem:
        return code ? code->system : "";
      case Field::kObsDisplay:
        return code ? code->display : "";
      case Field::kObsValue:
        return value_text(row.obs.value);
      case Field::kObsValueType:
        return row.obs.value_type;
      case Field::kObsUnit:
        return row.obs.unit.code.empty() ? row.obs.unit.display : row.obs.unit.code;
      case Field::kObsReferenceRange:
        return internal::format_reference_range(row.obs.reference_range);
      case Field::kObsFlags:
        return join(row.obs.abnormal_flags, "~");
      case Field::kObsStatus:
        return std::string(model::to_hl7_code(row.obs.status));
      case Field::kObsObserved:
        return dates_.format(row.obs.observed);
      case Field::kObsIssued:
        return dates_.format(row.obs.issued);
      case Field::kObsNote:
        return join(row.obs.notes, "\n");
    }
    return {};
  }

  void append_field(std::string& out, std::string_view text) const {
    std::string guarded;
    if (internal::needs_formula_guard(text)) {
      guarded = "'" + std::string(text);
      text = guarded;
    }
    // RFC 4180 2.6: fields holding the delimiter, a quote or a line break are quoted;
    // 2.7: a quote inside is doubled.
    const char specials[] = {mapping_.delimiter, '"', '\r', '\n'};
    if (text.find_first_of(std::string_view(specials, sizeof specials)) == std::string_view::npos) {
      out += text;
      return;
    }
    out += '"';
    for (char c : text) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }

  void append_row(std::string& out, const std::vector<std::string>& cells) const {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += mapping_.delimiter;
      append_field(out, cells[i]);
    }
    out += "\r\n";  // RFC 4180 2.1
  }

 private:
  const Mapping& mapping_;
  DateFormat dates_;
};

// The ORC of a report: the one at the same position when its numbers match (read() and HL7
// both pair them so), else the one with the same placer and filler numbers, else the same
// filler number alone.
const model::Order* order_of(const model::LabMessage& m, std::size_t report_index) {
  const model::Report& r = m.reports[report_index];
  auto same = [&](const model::Order& o) {
    return o.filler_order_number.value == r.filler_order_number.value &&
           o.placer_order_number.value == r.placer_order_number.value;
  };
  if (report_index < m.orders.size() && same(m.orders[report_index]))
    return &m.orders[report_index];
  if (auto it = std::ranges::find_if(m.orders, same); it != m.orders.end()) return &*it;
  if (!r.filler_order_number.value.empty()) {
    auto it = std::ranges::find(m.orders, r.filler_order_number.value,
                                [](const model::Order& o) { return o.filler_order_number.value; });
    if (it != m.orders.end()) return &*it;
  }
  return report_index < m.orders.size() ? &m.orders[report_index] : nullptr;
}

}  // namespace

std::string write(std::span<const model::LabMessage> messages, const Mapping& mapping) {
  // A Mapping from parse_mapping() always has a valid date_format; one built by hand with a
  // bad pattern falls back to HL7 dates rather than losing them.
  auto dates = DateFormat::compile(mapping.date_format);
  Writer writer(mapping, dates ? std::move(*dates) : *DateFormat::compile("hl7"));

  std::vector<std::pair<Field, std::size_t>> slots;  // field -> position in the row
  std::size_t width = 0;
  for (std::size_t i = 0; i < mapping.columns.size(); ++i) {
    const ColumnMapping& c = mapping.columns[i];
    std::size_t at = mapping.header ? i : static_cast<std::size_t>(std::max(c.number, 1) - 1);
    slots.emplace_back(c.field, at);
    width = std::max(width, at + 1);
  }
  std::vector<std::string> cells(width);
  std::string out;
  if (mapping.header) {
    for (std::size_t i = 0; i < mapping.columns.size(); ++i) cells[i] = mapping.columns[i].name;
    writer.append_row(out, cells);
  }
  for (const model::LabMessage& m : messages) {
    for (std::size_t ri = 0; ri < m.reports.size(); ++ri) {
      const model::Report& r = m.reports[ri];
      const model::Order* order = order_of(m, ri);
      for (std::size_t oi = 0; oi < r.observations.size(); ++oi) {
        // The model does not link an observation to its specimen. One specimen goes on every
        // row; with several, row k names specimen k so that read() rebuilds the same list.
        const model::Specimen* specimen = nullptr;
        if (r.specimens.size() == 1) specimen = &r.specimens.front();
        if (r.specimens.size() > 1 && oi < r.specimens.size()) specimen = &r.specimens[oi];
        Row row{m, r, order, specimen, r.observations[oi]};
        std::ranges::fill(cells, std::string{});
        for (const auto& [field, at] : slots) cells[at] = writer.cell(field, row);
        writer.append_row(out, cells);
      }
    }
  }
  return out;
}

}  // namespace labvault::csv
