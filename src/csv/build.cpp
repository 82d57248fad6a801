// Turns the groups read() gathered into model objects, filling them as an HL7 ORU^R01 with
// the same content would: PID for the patient, ORC + OBR per report, OBX per row, SPM per
// distinct specimen.
#include <fmt/format.h>

#include <cctype>

#include "csv/internal/convert.hpp"
#include "csv/internal/groups.hpp"
#include "csv/internal/values.hpp"

namespace labvault::csv::internal {
namespace {

class Builder {
 public:
  Builder(const Slots& slots, const Mapping& mapping, const DateFormat& dates)
      : slots_(slots), mapping_(mapping), dates_(dates) {}

  const std::string& text(Field f) const { return slots_[static_cast<int>(f)].text; }
  model::DateTime date(Field f) const { return dates_.parse(text(f)).value_or(model::DateTime{}); }

  model::CodeableConcept concept_of(Field code, Field system, Field display) const {
    model::CodeableConcept cc;
    if (text(code).empty() && text(display).empty()) return cc;
    std::string sys = text(system);
    if (sys.empty() && !text(code).empty()) sys = mapping_.default_code_system;
    cc.codings.push_back(model::Coding{text(code), text(display), sys, {}});
    return cc;
  }

  model::Practitioner practitioner(Field id, Field family, Field given) const {
    model::Practitioner p;
    p.id = text(id);
    p.name.family = text(family);
    if (!text(given).empty()) p.name.given.push_back(text(given));
    return p;
  }

 private:
  const Slots& slots_;
  const Mapping& mapping_;
  const DateFormat& dates_;
};

model::Patient build_patient(const PatientGroup& group, const Builder& b) {
  model::Patient p;
  // PID-3: the column holds the medical record number, so the identifier type is MR.
  p.identifiers.push_back(model::Identifier{group.id, b.text(Field::kPatientIdAuthority), "MR"});
  if (!b.text(Field::kPatientFamily).empty() || !b.text(Field::kPatientGiven).empty()) {
    model::HumanName name;
    name.family = b.text(Field::kPatientFamily);
    if (!b.text(Field::kPatientGiven).empty()) name.given.push_back(b.text(Field::kPatientGiven));
    p.names.push_back(std::move(name));
  }
  p.birth_date = b.date(Field::kPatientBirthDate);
  p.sex = parse_sex(b.text(Field::kPatientSex)).value_or(model::Sex::kUnknown);
  if (!b.text(Field::kPatientPhone).empty())
    p.phones.push_back(model::ContactPoint{b.text(Field::kPatientPhone), {}, {}});
  model::Address address;
  if (!b.text(Field::kPatientAddressLine).empty())
    address.lines.push_back(b.text(Field::kPatientAddressLine));
  address.city = b.text(Field::kPatientCity);
  address.state = b.text(Field::kPatientState);
  address.postal_code = b.text(Field::kPatientPostalCode);
  if (address != model::Address{}) p.addresses.push_back(std::move(address));
  return p;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

// Not a security function: an identifier that follows the content, nothing more. Computed on
// the model, not the cells, so writing and reading back a file keeps it.
uint64_t content_digest(const model::LabMessage& m) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator, so ("ab","c") != ("a","bc")
  };
  for (const model::Identifier& id : m.patient.identifiers)
    mix(id.value), mix(id.assigning_authority);
  for (const model::Report& r : m.reports) {
    mix(r.placer_order_number.value), mix(r.filler_order_number.value);
    for (const model::Coding& c : r.service.codings) mix(c.code);
    for (const model::Observation& o : r.observations) {
      for (const model::Coding& c : o.code.codings) mix(c.code);
      if (const auto* n = std::get_if<model::NumericValue>(&o.value)) mix(n->text);
      if (const auto* t = std::get_if<model::TextValue>(&o.value))
        for (const std::string& line : t->lines) mix(line);
      if (const auto* sn = std::get_if<model::StructuredNumeric>(&o.value))
        for (const std::string* part : {&sn->comparator, &sn->num1, &sn->separator, &sn->num2})
          mix(*part);
      if (const auto* cc = std::get_if<model::CodeableConcept>(&o.value))
        for (const model::Coding& c : cc->codings) mix(c.code), mix(c.display);
      mix(model::to_hl7_code(o.status));
      mix(o.observed.to_hl7());
    }
  }
  return h;
}

model::LabMessage build_message(PatientGroup&& group, const Mapping& mapping,
                                const DateFormat& dates, std::string_view /*file_name*/) {
  model::LabMessage m;
  // MSH-10 must be the same when the same results are imported again (so dedupe recognises
  // them) and differ when the content differs, even in a file of the same name: a 64-bit FNV-1a
  // digest of the patient's results. File names stay out of it (they often carry names or MRNs),
  // and "CSV" + 16 hex digits fits MSH-10's 20 characters.
  m.header.message_type = "ORU";
  m.header.trigger_event = "R01";

  m.header.sending_facility = mapping.sending_facility;
  m.patient = build_patient(group, Builder(group.slots, mapping, dates));

  for (std::size_t i = 0; i < group.reports.size(); ++i) {
    ReportGroup& g = group.reports[i];
    Builder b(g.slots, mapping, dates);
    model::Report r;
    r.set_id = std::to_string(i + 1);
    r.placer_order_number.value = b.text(Field::kOrderPlacer);
    r.filler_order_number.value = b.text(Field::kOrderFiller);
    r.service = b.concept_of(Field::kReportCode, Field::kReportCodeSystem, Field::kReportDisplay);
    r.result_status_code = upper(b.text(Field::kReportStatus));
    r.status =
        model::report_status_from_hl7(r.result_status_code).value_or(model::ReportStatus::kFinal);
    r.observed = b.date(Field::kReportObserved);
    r.issued = b.date(Field::kReportIssued);
    r.specimens = std::move(g.specimens);
    // OBR-7 is the specimen collection time when the file has no column of its own for it.
    if (r.observed.empty() && !r.specimens.empty()) r.observed = r.specimens.front().collected;
    r.observations = std::move(g.observations);
    // OBX-19 falls back to the report's time, as for an HL7 OBX without its own.
    for (model::Observation& o : r.observations)
      if (o.issued.empty()) o.issued = r.issued;

    // An ORU's ORC: "RE" (observations to follow) for the same placer/filler pair.
    model::Order order;
    order.control = "RE";
    order.placer_order_number = r.placer_order_number;
    order.filler_order_number = r.filler_order_number;
    order.service = r.service;
    order.ordering_provider = b.practitioner(Field::kOrderProviderId, Field::kOrderProviderFamily,
                                             Field::kOrderProviderGiven);
    m.orders.push_back(std::move(order));
    m.reports.push_back(std::move(r));
  }
  m.header.control_id = fmt::format("CSV{:016X}", content_digest(m));
  return m;
}

}  // namespace labvault::csv::internal
