// FHIR R4 resources -> model records: the inverse of to_fhir.cpp, tolerant of what other
// systems send (absent optional elements, effectivePeriod instead of effectiveDateTime,
// untyped identifiers) and strict about what R4 requires (status and code of results).
#include <fmt/format.h>

#include "fhir/internal/codes.hpp"
#include "fhir/internal/read_resources.hpp"

namespace labvault::fhir::internal {
namespace {

// The first present dateTime among `keys`; "Period" keys read their start.
model::DateTime first_time(const Node& resource, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    Node n = resource[key];
    if (!n.present()) continue;
    return key.ends_with("Period") ? n["start"].date_time() : n.date_time();
  }
  return {};
}

std::vector<std::string> read_notes(const Node& notes) {
  std::vector<std::string> out;
  for (const Node& note : notes.items())
    if (std::string text = note["text"].string(); !text.empty()) out.push_back(std::move(text));
  return out;
}

// Identifiers typed PLAC / FILL (v2-0203), as to_fhir writes them; an untyped one is taken as
// the filler number, the identity a lab gives a report.
void read_order_numbers(const Node& resource, model::Identifier& placer,
                        model::Identifier& filler) {
  std::vector<model::Identifier> untyped;
  for (const Node& node : resource["identifier"].items()) {
    model::Identifier id = read_identifier(node);
    std::string type = std::move(id.type);
    id.type.clear();
    if (type == "PLAC" && placer.value.empty()) {
      placer = std::move(id);
    } else if (type == "FILL" && filler.value.empty()) {
      filler = std::move(id);
    } else if (type.empty()) {
      untyped.push_back(std::move(id));
    }
  }
  if (filler.value.empty() && !untyped.empty()) filler = std::move(untyped.front());
}

model::Practitioner practitioner_at(const Node& reference, const Node& container,
                                    const ResourceIndex& index) {
  auto target = index.resolve(reference, container);
  if (!target || target->type != "Practitioner") return {};
  return read_practitioner(target->node);
}

void unknown_code(const Node& node, std::string_view value_set, std::string_view codes) {
  node.report(model::ErrorCode::kTableValue,
              fmt::format("expected an R4 {} code ({}), found another code", value_set, codes));
}

}  // namespace

model::Patient read_patient(const Node& r) {
  model::Patient p;
  for (const Node& id : r["identifier"].items()) p.identifiers.push_back(read_identifier(id));
  for (const Node& name : r["name"].items()) p.names.push_back(read_name(name));
  p.birth_date = r["birthDate"].date_time();
  for (const Node& extension : r["_birthDate"]["extension"].items()) {
    if (extension["url"].string() == "http://hl7.org/fhir/StructureDefinition/patient-birthTime")
      if (model::DateTime time = extension["valueDateTime"].date_time(); !time.empty())
        p.birth_date = time;
  }
  if (std::string gender = r["gender"].string(); !gender.empty()) {
    auto sex = sex_from_gender(gender);
    if (!sex) unknown_code(r["gender"], "administrative-gender", "male|female|other|unknown");
    p.sex = sex.value_or(model::Sex::kUnknown);
  }
  for (const Node& address : r["address"].items()) p.addresses.push_back(read_address(address));
  for (const Node& telecom : r["telecom"].items()) {
    model::ContactPoint c = read_contact(telecom);
    if (!c.value.empty()) p.phones.push_back(std::move(c));
  }
  return p;
}

model::Encounter read_encounter(const Node& r, const ResourceIndex& index) {
  model::Encounter e;
  Node cls = r["class"];
  e.patient_class = patient_class_from_fhir(cls["system"].string(), cls["code"].string());
  for (const Node& id : r["identifier"].items()) {
    model::Identifier visit = read_identifier(id);
    if (e.visit_number.empty() || visit.type == "VN") e.visit_number = visit.value;
  }
  e.location = r["location"].first()["location"]["display"].string();
  for (const Node& participant : r["participant"].items()) {
    for (const Node& type : participant["type"].items()) {
      if (first_code(type) == "ATND")
        e.attending = practitioner_at(participant["individual"], r, index);
    }
  }
  e.admitted = r["period"]["start"].date_time();
  return e;
}

model::Specimen read_specimen(const Node& r) {
  model::Specimen s;
  s.id = r["accessionIdentifier"]["value"].string();
  if (s.id.empty()) s.id = r["identifier"].first()["value"].string();
  s.type = read_codeable(r["type"]);
  Node collection = r["collection"];
  s.collected = first_time(collection, {"collectedDateTime", "collectedPeriod"});
  s.collection_method = read_codeable(collection["method"]);
  s.source_site = read_codeable(collection["bodySite"]);
  s.received = r["receivedTime"].date_time();
  return s;
}

model::Observation read_observation(const Node& r, const ResourceIndex& index,
                                    bool ask_at_order_entry) {
  model::Observation o;
  if (Node status = r["status"]; status.require()) {
    auto mapped = result_status_from_fhir(status.string(), ask_at_order_entry);
    if (!mapped && status.json()->is_string())
      unknown_code(status, "observation-status",
                   "registered|preliminary|final|amended|corrected|cancelled|entered-in-error|"
                   "unknown");
    o.status = mapped.value_or(model::ResultStatus::kFinal);
  }
  if (r["code"].require()) o.code = read_codeable(r["code"]);
  ObservationValueRead value = read_observation_value(r);
  o.value = std::move(value.value);
  o.value_type = std::move(value.value_type);
  o.unit = std::move(value.unit);
  if (Node range = r["referenceRange"].first(); range.present())
    o.reference_range = read_reference_range(range);
  for (const Node& interpretation : r["interpretation"].items())
    if (std::string flag = first_code(interpretation); !flag.empty())
      o.abnormal_flags.push_back(std::move(flag));
  o.observed = first_time(r, {"effectiveDateTime", "effectivePeriod", "effectiveInstant"});
  o.issued = r["issued"].date_time();
  for (const Node& performer : r["performer"].items()) {
    auto target = index.resolve(performer, r);
    if (!target) continue;
    if (target->type == "Practitioner") o.performers.push_back(read_practitioner(target->node));
    if (target->type == "Organization" && o.performing_lab.empty())
      o.performing_lab = read_organization(target->node);
  }
  o.notes = read_notes(r["note"]);
  // A label a sender put on the result is kept; SensitivityRules may still widen it.
  for (const Node& label : r["meta"]["security"].items()) {
    std::string code = label["code"].string();
    for (auto s :
         {model::Sensitivity::kHiv, model::Sensitivity::kGenetic, model::Sensitivity::kSubstanceUse,
          model::Sensitivity::kBehavioralHealth, model::Sensitivity::kSexualHealth})
      if (o.sensitivity == model::Sensitivity::kNone && security_label(s)->code == code)
        o.sensitivity = s;
  }
  return o;
}

model::Order read_order(const Node& r, const ResourceIndex& index) {
  model::Order o;
  read_order_numbers(r, o.placer_order_number, o.filler_order_number);
  if (Node group = r["requisition"]; group.present()) {
    o.placer_group_number = read_identifier(group);
    o.placer_group_number.type.clear();
  }
  o.control = std::string(order_control_from_fhir(r["status"].string()));
  o.priority = std::string(priority_from_fhir(r["priority"].string()));
  o.service = read_codeable(r["code"]);
  o.ordered = r["authoredOn"].date_time();
  o.ordering_provider = practitioner_at(r["requester"], r, index);
  if (Node reason = r["reasonCode"].first(); reason.present()) o.reason = read_codeable(reason);
  o.notes = read_notes(r["note"]);
  return o;
}

model::Report read_report(const Node& r, const ResourceIndex& index) {
  model::Report rep;
  read_order_numbers(r, rep.placer_order_number, rep.filler_order_number);
  if (Node status = r["status"]; status.require()) {
    auto mapped = report_status_from_fhir(status.string());
    if (!mapped && status.json()->is_string())
      unknown_code(status, "diagnostic-report-status",
                   "registered|partial|preliminary|final|amended|corrected|appended|cancelled|"
                   "entered-in-error|unknown");
    rep.status = mapped.value_or(model::ReportStatus::kFinal);
    rep.result_status_code = std::string(model::to_hl7_code(rep.status));
  }
  for (const Node& category : r["category"].items()) {
    for (const Node& coding : category["coding"].items()) {
      std::string code = coding["code"].string();
      if (coding["system"].string() == kV2_0074 && code != "LAB" && rep.diagnostic_section.empty())
        rep.diagnostic_section = code;
    }
  }
  if (r["code"].require()) rep.service = read_codeable(r["code"]);
  rep.observed = first_time(r, {"effectiveDateTime", "effectivePeriod"});
  rep.issued = r["issued"].date_time();
  for (const Node& interpreter : r["resultsInterpreter"].items()) {
    model::Practitioner p = practitioner_at(interpreter, r, index);
    if (!p.empty()) rep.result_interpreters.push_back(std::move(p));
  }
  // to_fhir writes report notes as the conclusion, one note per line.
  std::string conclusion = r["conclusion"].string();
  for (std::size_t start = 0; start < conclusion.size();) {
    std::size_t end = conclusion.find('\n', start);
    if (end == std::string::npos) end = conclusion.size();
    if (end > start) rep.notes.push_back(conclusion.substr(start, end - start));
    start = end + 1;
  }
  return rep;
}

}  // namespace labvault::fhir::internal
