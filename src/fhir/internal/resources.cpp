#include "fhir/internal/resources.hpp"

#include <algorithm>

#include "fhir/internal/codes.hpp"
#include "fhir/internal/write_types.hpp"

namespace labvault::fhir::internal {

namespace {

OutJson notes_json(const std::vector<std::string>& notes) {
  OutJson out = nullptr;
  for (const std::string& note : notes)
    if (!note.empty()) out.push_back({{"text", note}});  // Annotation.text is markdown
  return out;
}

}  // namespace

OutJson resource(std::string_view type) {
  OutJson r = OutJson::object();
  r["resourceType"] = type;
  return r;
}

OutJson security(const std::vector<const model::Observation*>& observations) {
  OutJson labels = nullptr;
  std::vector<model::Sensitivity> seen;
  for (const model::Observation* o : observations) {
    auto label = security_label(o->sensitivity);
    if (!label || std::ranges::find(seen, o->sensitivity) != seen.end()) continue;
    seen.push_back(o->sensitivity);
    OutJson c = OutJson::object();
    c["system"] = kV3ActCode;
    c["code"] = label->code;
    c["display"] = label->display;
    labels.push_back(std::move(c));
  }
  if (labels.is_null()) return nullptr;
  return {{"security", std::move(labels)}};
}

OutJson patient_json(const model::Patient& p, int zone) {
  OutJson r = resource("Patient");
  for (const model::Identifier& id : p.identifiers) append(r, "identifier", identifier(id));
  for (const model::HumanName& n : p.names) append(r, "name", human_name(n));
  for (const model::ContactPoint& c : p.phones) append(r, "telecom", contact_point(c));
  r["gender"] = gender(p.sex);
  set_string(r, "birthDate", date(p.birth_date));
  if (p.birth_date.precision > model::DateTime::Precision::kDay) {
    // R4 birthDate is a date; a newborn's time of birth goes in the standard extension
    // patient-birthTime on the birthDate element (json.html#primitive: "_birthDate").
    if (std::string time = date_time(p.birth_date, zone); !time.empty()) {
      OutJson extension = OutJson::object();
      extension["url"] = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
      extension["valueDateTime"] = time;
      r["_birthDate"]["extension"].push_back(std::move(extension));
    }
  }
  for (const model::Address& a : p.addresses) append(r, "address", address(a));
  return r;
}

// R4 observation.html; History (Observation::history) is not written: FHIR keeps earlier
// versions on the server (_history), and a transaction carries only the current one.
OutJson observation_json(const model::Observation& o, const ObservationRefs& refs, int zone) {
  OutJson r = resource("Observation");
  set_json(r, "meta", security({&o}));
  append(r, "basedOn", reference(refs.based_on));
  r["status"] = observation_status(o.status);
  // AOE answers are questions about the order, not lab results: searches by category
  // "laboratory" should not find them.
  if (!refs.ask_at_order_entry)
    r["category"].push_back(concept_of(kObservationCategory, "laboratory", "Laboratory"));
  r["code"] = required_codeable(o.code);
  r["subject"] = reference(refs.patient);
  set_json(r, "encounter", reference(refs.encounter));
  set_string(r, "effectiveDateTime",
             date_time(o.observed.empty() ? refs.effective_fallback : o.observed, zone));
  set_string(r, "issued", instant(o.issued, zone));
  for (const OutJson& p : refs.performers) append(r, "performer", p);
  bool has_value = set_observation_value(r, o.value, o.unit);
  if (!has_value && o.status == model::ResultStatus::kCancelled) {
    // obs-6: only without a value. A pending result (registered) simply has none yet.
    r["dataAbsentReason"] =
        concept_of("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed");
  }
  for (const std::string& flag : o.abnormal_flags) {
    std::string code = fhir_code(flag);
    if (code.empty()) continue;
    if (std::string_view system = interpretation_system(code); !system.empty())
      r["interpretation"].push_back(concept_of(system, code));
    else
      r["interpretation"].push_back({{"text", code}});
  }
  set_json(r, "note", notes_json(o.notes));
  set_json(r, "specimen", reference(refs.specimen));
  append(r, "referenceRange", reference_range(o.reference_range, o.unit));
  return r;
}

OutJson order_json(const model::Order& o, const std::vector<const model::Observation*>& related,
                   const OrderRefs& refs, int zone) {
  OutJson r = resource("ServiceRequest");
  // The order reveals what its results reveal (an "HIV Ag/Ab" order is itself HIV
  // information): it carries the labels of its AOE answers and of the results filed under it.
  set_json(r, "meta", security(related));
  // Placer and filler numbers are typed (v2-0203 PLAC / FILL, as R4's v2 mappings of
  // ServiceRequest.identifier do) so the reverse can tell them apart; ORC-4 is requisition.
  append(r, "identifier", identifier(o.placer_order_number, "PLAC"));
  append(r, "identifier", identifier(o.filler_order_number, "FILL"));
  set_json(r, "requisition", identifier(o.placer_group_number));
  r["status"] = request_status(o.control);
  r["intent"] = "order";
  set_string(r, "priority", request_priority(o.priority));
  set_json(r, "code", codeable(o.service));
  r["subject"] = reference(refs.patient);
  set_json(r, "encounter", reference(refs.encounter));
  set_string(r, "authoredOn", date_time(o.ordered, zone));
  set_json(r, "requester", refs.requester);
  append(r, "reasonCode", codeable(o.reason));
  for (const std::string& u : refs.supporting_info) append(r, "supportingInfo", reference(u));
  // Specimens sent with the order (OML^O21 SPM) point back at it through Specimen.request.
  for (const std::string& u : refs.specimens) append(r, "specimen", reference(u));
  set_json(r, "note", notes_json(o.notes));
  return r;
}

OutJson specimen_json(const model::Specimen& s, const std::string& patient,
                      const std::string& request, int zone) {
  OutJson r = resource("Specimen");
  if (!s.id.empty()) r["accessionIdentifier"] = {{"value", s.id}};
  set_json(r, "type", codeable(s.type));
  r["subject"] = reference(patient);
  set_string(r, "receivedTime", date_time(s.received, zone));
  append(r, "request", reference(request));
  OutJson collection = OutJson::object();
  set_string(collection, "collectedDateTime", date_time(s.collected, zone));
  set_json(collection, "method", codeable(s.collection_method));
  set_json(collection, "bodySite", codeable(s.source_site));
  if (!collection.empty()) r["collection"] = std::move(collection);
  return r;
}

OutJson report_json(const model::Report& rep, const ReportRefs& refs, int zone) {
  OutJson r = resource("DiagnosticReport");
  // A report whose results are sensitive reveals them through its code and conclusion too.
  std::vector<const model::Observation*> observations;
  for (const model::Observation& o : rep.observations) observations.push_back(&o);
  set_json(r, "meta", security(observations));
  append(r, "identifier", identifier(rep.filler_order_number, "FILL"));
  append(r, "identifier", identifier(rep.placer_order_number, "PLAC"));
  append(r, "basedOn", reference(refs.based_on));
  r["status"] = report_status(rep.status);
  // R4 diagnosticreport.html: category LAB (v2-0074); the OBR-24 section, when more specific,
  // as a second category.
  r["category"].push_back(concept_of(kV2_0074, "LAB", "Laboratory"));
  std::string section = fhir_code(rep.diagnostic_section);
  if (!section.empty() && section != "LAB") r["category"].push_back(concept_of(kV2_0074, section));
  r["code"] = required_codeable(rep.service);
  r["subject"] = reference(refs.patient);
  set_json(r, "encounter", reference(refs.encounter));
  set_string(r, "effectiveDateTime", date_time(rep.observed, zone));
  set_string(r, "issued", instant(rep.issued, zone));
  for (const OutJson& p : refs.interpreters) append(r, "resultsInterpreter", p);
  for (const std::string& u : refs.specimens) append(r, "specimen", reference(u));
  for (const std::string& u : refs.results) append(r, "result", reference(u));
  // R4 DiagnosticReport has no note element; report comments (OBR NTE) are its conclusion.
  std::string conclusion;
  for (const std::string& note : rep.notes)
    if (!note.empty()) conclusion += (conclusion.empty() ? "" : "\n") + note;
  set_string(r, "conclusion", conclusion);
  return r;
}

}  // namespace labvault::fhir::internal
