// Model -> FHIR R4 transaction Bundle (R4 http.html#transaction). Every resource is a POST entry
// with a urn:uuid fullUrl, and resources refer to each other by those fullUrls, which the server
// rewrites to the ids it assigns (R4 bundle.html#references).
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "fhir/fhir.hpp"
#include "fhir/internal/codes.hpp"
#include "fhir/internal/json_io.hpp"
#include "fhir/internal/write_types.hpp"

namespace labvault::fhir {
namespace {

using internal::append;
using internal::OutJson;
using internal::reference;
using internal::set_json;
using internal::set_string;

OutJson resource(std::string_view type) {
  OutJson r = OutJson::object();
  r["resourceType"] = type;
  return r;
}

OutJson notes_json(const std::vector<std::string>& notes) {
  OutJson out = nullptr;
  for (const std::string& note : notes)
    if (!note.empty()) out.push_back({{"text", note}});  // Annotation.text is markdown
  return out;
}

// meta.security for the sensitive categories among `observations` (R4 security-labels.html).
OutJson security(const std::vector<const model::Observation*>& observations) {
  OutJson labels = nullptr;
  std::vector<model::Sensitivity> seen;
  for (const model::Observation* o : observations) {
    auto label = internal::security_label(o->sensitivity);
    if (!label || std::ranges::find(seen, o->sensitivity) != seen.end()) continue;
    seen.push_back(o->sensitivity);
    OutJson c = OutJson::object();
    c["system"] = internal::kV3ActCode;
    c["code"] = label->code;
    c["display"] = label->display;
    labels.push_back(std::move(c));
  }
  if (labels.is_null()) return nullptr;
  return {{"security", std::move(labels)}};
}

// Writes the resources of one message. Practitioners, Organizations and Specimens appear once
// per message however often they are referenced.
// Unambiguous keys (each part length-prefixed) for de-duplicating shared resources in a hash
// map: a Bundle of many results must not pay a linear search per Practitioner or Specimen.
class Key {
 public:
  Key& add(std::string_view part) {
    text_ += std::to_string(part.size());
    text_ += ':';
    text_ += part;
    return *this;
  }
  Key& add(const model::CodeableConcept& cc) {
    for (const model::Coding& c : cc.codings)
      add(c.code).add(c.display).add(c.system).add(c.version);
    return add(cc.original_text).add("|");
  }
  Key& add(const model::HumanName& n) {
    add(n.family).add(n.suffix).add(n.prefix).add(n.use);
    for (const std::string& g : n.given) add(g);
    return add("|");
  }
  [[nodiscard]] std::string str() { return std::move(text_); }

 private:
  std::string text_;
};

std::string key_of(const model::Practitioner& p) {
  return Key().add(p.id).add(p.assigning_authority).add(p.name).str();
}
std::string key_of(const model::Organization& o) { return Key().add(o.name).add(o.id).str(); }
std::string key_of(const model::Specimen& s) {
  return Key()
      .add(s.id)
      .add(s.type)
      .add(s.collection_method)
      .add(s.source_site)
      .add(s.collected.to_hl7())
      .add(s.received.to_hl7())
      .str();
}

class MessageWriter {
 public:
  MessageWriter(const model::LabMessage& message, std::size_t message_index, const Options& options,
                OutJson& entries)
      : message_(message), message_index_(message_index), options_(options), entries_(entries) {}

  void write() {
    patient_url_ = add("Patient", url("Patient", 0), patient());
    if (!message_.encounter.empty())
      encounter_url_ = add("Encounter", url("Encounter", 0), encounter());
    for (std::size_t i = 0; i < message_.orders.size(); ++i) order_urls_.push_back(write_order(i));
    for (std::size_t i = 0; i < message_.reports.size(); ++i) write_report(i);
  }

 private:
  // Stable per (sender, control id, message position, resource kind, index): the same input
  // gives the same Bundle, and two messages in one Bundle never share an id. Fields are length
  // prefixed so that no two different inputs give the same seed.
  std::string url(std::string_view kind, std::size_t index) const {
    const model::MessageHeader& h = message_.header;
    std::string seed;
    for (std::string_view part :
         {std::string_view(h.sending_application), std::string_view(h.sending_facility),
          std::string_view(h.control_id), kind})
      seed += fmt::format("{}:{};", part.size(), part);
    seed += fmt::format("{};{}", message_index_, index);
    return internal::deterministic_uuid(seed);
  }

  std::string add(std::string_view type, std::string full_url, OutJson r) {
    OutJson entry = OutJson::object();
    entry["fullUrl"] = full_url;
    entry["resource"] = std::move(r);
    // Plain POST: a conditional create (ifNoneExist=identifier=...) would put the MRN into a
    // URL-like string that servers log, which DESIGN.md invariant 3 forbids.
    entry["request"] = {{"method", "POST"}, {"url", type}};
    entries_.push_back(std::move(entry));
    return full_url;
  }

  // HL7 v2.5.1 2.A.22: a time without offset is in the sender's local zone. The message's own
  // MSH-7 offset is the best evidence of that zone; the configured default comes next.
  int zone_for_unzoned_times() const {
    if (options_.default_utc_offset_minutes) return *options_.default_utc_offset_minutes;
    return message_.header.sent.utc_offset_minutes.value_or(0);
  }
  std::string date_time(const model::DateTime& dt) const {
    return internal::date_time(dt, zone_for_unzoned_times());
  }
  std::string instant(const model::DateTime& dt) const {
    return internal::instant(dt, zone_for_unzoned_times());
  }

  std::string practitioner_url(const model::Practitioner& p) {
    if (p.empty()) return {};
    std::string key = key_of(p);
    if (auto it = practitioners_.find(key); it != practitioners_.end()) return it->second;
    OutJson r = resource("Practitioner");
    model::Identifier id{p.id, p.assigning_authority, ""};
    append(r, "identifier", internal::identifier(id));
    append(r, "name", internal::human_name(p.name));
    std::string u = add("Practitioner", url("Practitioner", practitioners_.size()), std::move(r));
    practitioners_.emplace(std::move(key), u);
    return u;
  }

  std::string organization_url(const model::Organization& o) {
    if (o.empty()) return {};
    std::string key = key_of(o);
    if (auto it = organizations_.find(key); it != organizations_.end()) return it->second;
    OutJson r = resource("Organization");
    if (!o.id.empty()) r["identifier"].push_back({{"value", o.id}});
    set_string(r, "name", o.name);
    std::string u = add("Organization", url("Organization", organizations_.size()), std::move(r));
    organizations_.emplace(std::move(key), u);
    return u;
  }

  OutJson patient() const {
    const model::Patient& p = message_.patient;
    OutJson r = resource("Patient");
    for (const model::Identifier& id : p.identifiers)
      append(r, "identifier", internal::identifier(id));
    for (const model::HumanName& n : p.names) append(r, "name", internal::human_name(n));
    for (const model::ContactPoint& c : p.phones) append(r, "telecom", internal::contact_point(c));
    r["gender"] = internal::gender(p.sex);
    set_string(r, "birthDate", internal::date(p.birth_date));
    if (p.birth_date.precision > model::DateTime::Precision::kDay) {
      // R4 birthDate is a date; a newborn's time of birth goes in the standard extension
      // patient-birthTime on the birthDate element (json.html#primitive: "_birthDate").
      if (std::string time = date_time(p.birth_date); !time.empty()) {
        OutJson extension = OutJson::object();
        extension["url"] = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
        extension["valueDateTime"] = time;
        r["_birthDate"]["extension"].push_back(std::move(extension));
      }
    }
    for (const model::Address& a : p.addresses) append(r, "address", internal::address(a));
    return r;
  }

  OutJson encounter() {
    const model::Encounter& e = message_.encounter;
    OutJson r = resource("Encounter");
    append(r, "identifier", internal::identifier({e.visit_number, "", ""}, "VN"));
    r["status"] = "unknown";  // a lab message does not say where the visit stands
    internal::ClassCoding cls = internal::encounter_class(e.patient_class);
    r["class"] = {{"system", cls.system}, {"code", cls.code}};
    r["subject"] = reference(patient_url_);
    if (std::string who = practitioner_url(e.attending); !who.empty()) {
      OutJson participant = OutJson::object();
      participant["type"].push_back(internal::concept_of(
          "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender"));
      participant["individual"] = reference(who);
      r["participant"].push_back(std::move(participant));
    }
    if (std::string start = date_time(e.admitted); !start.empty()) r["period"] = {{"start", start}};
    if (!e.location.empty()) r["location"].push_back({{"location", {{"display", e.location}}}});
    return r;
  }

  struct ObservationLinks {
    std::string based_on, specimen;
    bool ask_at_order_entry = false;
    // Clinically relevant time when OBX-14 is empty: OBR-7, else the specimen's collection
    // (HL7 v2-to-FHIR IG), so results chart at the time they describe, not without one.
    model::DateTime effective_fallback = {};
  };

  // R4 observation.html; History (Observation::history) is not written: FHIR keeps earlier
  // versions on the server (_history), and a transaction carries only the current one.
  OutJson observation(const model::Observation& o, const ObservationLinks& links) {
    OutJson r = resource("Observation");
    set_json(r, "meta", security({&o}));
    append(r, "basedOn", reference(links.based_on));
    r["status"] = internal::observation_status(o.status);
    // AOE answers are questions about the order, not lab results: searches by category
    // "laboratory" should not find them.
    if (!links.ask_at_order_entry)
      r["category"].push_back(
          internal::concept_of(internal::kObservationCategory, "laboratory", "Laboratory"));
    r["code"] = internal::required_codeable(o.code);
    r["subject"] = reference(patient_url_);
    set_json(r, "encounter", reference(encounter_url_));
    set_string(r, "effectiveDateTime",
               date_time(o.observed.empty() ? links.effective_fallback : o.observed));
    set_string(r, "issued", instant(o.issued));
    for (const model::Practitioner& p : o.performers)
      append(r, "performer", reference(practitioner_url(p)));
    append(r, "performer", reference(organization_url(o.performing_lab)));
    bool has_value = internal::set_observation_value(r, o.value, o.unit);
    if (!has_value && o.status == model::ResultStatus::kCancelled) {
      // obs-6: only without a value. A pending result (registered) simply has none yet.
      r["dataAbsentReason"] = internal::concept_of(
          "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed");
    }
    for (const std::string& flag : o.abnormal_flags) {
      std::string code = internal::fhir_code(flag);
      if (code.empty()) continue;
      if (std::string_view system = internal::interpretation_system(code); !system.empty())
        r["interpretation"].push_back(internal::concept_of(system, code));
      else
        r["interpretation"].push_back({{"text", code}});
    }
    set_json(r, "note", notes_json(o.notes));
    set_json(r, "specimen", reference(links.specimen));
    append(r, "referenceRange", internal::reference_range(o.reference_range, o.unit));
    return r;
  }

  std::string write_order(std::size_t index) {
    const model::Order& o = message_.orders[index];
    std::string request_url = url("ServiceRequest", index);
    OutJson aoe_refs = nullptr;
    for (std::size_t i = 0; i < o.ask_at_order_entry.size(); ++i) {
      ObservationLinks links{request_url, {}, true};
      std::string u = add("Observation", url(fmt::format("AOE{}", index), i),
                          observation(o.ask_at_order_entry[i], links));
      aoe_refs.push_back(reference(u));
    }
    OutJson r = resource("ServiceRequest");
    // The order reveals what its results reveal (an "HIV Ag/Ab" order is itself HIV
    // information): it carries the labels of its AOE answers and of the results filed under it.
    std::vector<const model::Observation*> related;
    for (const model::Observation& aoe : o.ask_at_order_entry) related.push_back(&aoe);
    for (const model::Report& rep : message_.reports)
      if (order_of(rep) == index)
        for (const model::Observation& result : rep.observations) related.push_back(&result);
    set_json(r, "meta", security(related));
    // Placer and filler numbers are typed (v2-0203 PLAC / FILL, as R4's v2 mappings of
    // ServiceRequest.identifier do) so the reverse can tell them apart; ORC-4 is requisition.
    append(r, "identifier", internal::identifier(o.placer_order_number, "PLAC"));
    append(r, "identifier", internal::identifier(o.filler_order_number, "FILL"));
    set_json(r, "requisition", internal::identifier(o.placer_group_number));
    r["status"] = internal::request_status(o.control);
    r["intent"] = "order";
    set_string(r, "priority", internal::request_priority(o.priority));
    set_json(r, "code", internal::codeable(o.service));
    r["subject"] = reference(patient_url_);
    set_json(r, "encounter", reference(encounter_url_));
    set_string(r, "authoredOn", date_time(o.ordered));
    set_json(r, "requester", reference(practitioner_url(o.ordering_provider)));
    append(r, "reasonCode", internal::codeable(o.reason));
    set_json(r, "supportingInfo", std::move(aoe_refs));
    // Specimens sent with the order (OML^O21 SPM) point back at it through Specimen.request.
    for (const model::Specimen& s : o.specimens)
      append(r, "specimen", reference(specimen_url(s, request_url)));
    set_json(r, "note", notes_json(o.notes));
    return add("ServiceRequest", std::move(request_url), std::move(r));
  }

  std::optional<std::size_t> order_of(const model::Report& report) const {
    for (std::size_t i = 0; i < message_.orders.size(); ++i) {
      const model::Order& o = message_.orders[i];
      if ((!report.filler_order_number.value.empty() &&
           report.filler_order_number.value == o.filler_order_number.value) ||
          (!report.placer_order_number.value.empty() &&
           report.placer_order_number.value == o.placer_order_number.value))
        return i;
    }
    return std::nullopt;
  }

  std::string specimen_url(const model::Specimen& s, const std::string& request_url) {
    std::string key = key_of(s);
    if (auto it = specimens_.find(key); it != specimens_.end()) return it->second;
    OutJson r = resource("Specimen");
    if (!s.id.empty()) r["accessionIdentifier"] = {{"value", s.id}};
    set_json(r, "type", internal::codeable(s.type));
    r["subject"] = reference(patient_url_);
    set_string(r, "receivedTime", date_time(s.received));
    append(r, "request", reference(request_url));
    OutJson collection = OutJson::object();
    set_string(collection, "collectedDateTime", date_time(s.collected));
    set_json(collection, "method", internal::codeable(s.collection_method));
    set_json(collection, "bodySite", internal::codeable(s.source_site));
    if (!collection.empty()) r["collection"] = std::move(collection);
    std::string u = add("Specimen", url("Specimen", specimens_.size()), std::move(r));
    specimens_.emplace(std::move(key), u);
    return u;
  }

  void write_report(std::size_t index) {
    const model::Report& rep = message_.reports[index];
    std::optional<std::size_t> order = order_of(rep);
    std::string request_url = order ? order_urls_[*order] : std::string();
    std::vector<std::string> specimen_urls;
    for (const model::Specimen& s : rep.specimens)
      specimen_urls.push_back(specimen_url(s, request_url));

    OutJson results = nullptr;
    std::vector<const model::Observation*> observations;
    for (std::size_t i = 0; i < rep.observations.size(); ++i) {
      const model::Observation& o = rep.observations[i];
      observations.push_back(&o);
      // Observation.specimen is 0..1: the report's first specimen.
      ObservationLinks links{request_url, specimen_urls.empty() ? "" : specimen_urls.front(), false,
                             !rep.observed.empty()    ? rep.observed
                             : !rep.specimens.empty() ? rep.specimens.front().collected
                                                      : model::DateTime{}};
      std::string u = add("Observation", url(fmt::format("R{}", index), i), observation(o, links));
      results.push_back(reference(u));
    }

    OutJson r = resource("DiagnosticReport");
    // A report whose results are sensitive reveals them through its code and conclusion too.
    set_json(r, "meta", security(observations));
    append(r, "identifier", internal::identifier(rep.filler_order_number, "FILL"));
    append(r, "identifier", internal::identifier(rep.placer_order_number, "PLAC"));
    append(r, "basedOn", reference(request_url));
    r["status"] = internal::report_status(rep.status);
    // R4 diagnosticreport.html: category LAB (v2-0074); the OBR-24 section, when more specific,
    // as a second category.
    r["category"].push_back(internal::concept_of(internal::kV2_0074, "LAB", "Laboratory"));
    std::string section = internal::fhir_code(rep.diagnostic_section);
    if (!section.empty() && section != "LAB")
      r["category"].push_back(internal::concept_of(internal::kV2_0074, section));
    r["code"] = internal::required_codeable(rep.service);
    r["subject"] = reference(patient_url_);
    set_json(r, "encounter", reference(encounter_url_));
    set_string(r, "effectiveDateTime", date_time(rep.observed));
    set_string(r, "issued", instant(rep.issued));
    for (const model::Practitioner& p : rep.result_interpreters)
      append(r, "resultsInterpreter", reference(practitioner_url(p)));
    for (const std::string& u : specimen_urls) append(r, "specimen", reference(u));
    set_json(r, "result", std::move(results));
    // R4 DiagnosticReport has no note element; report comments (OBR NTE) are its conclusion.
    std::string conclusion;
    for (const std::string& note : rep.notes)
      if (!note.empty()) conclusion += (conclusion.empty() ? "" : "\n") + note;
    set_string(r, "conclusion", conclusion);
    add("DiagnosticReport", url("DiagnosticReport", index), std::move(r));
  }

  const model::LabMessage& message_;
  std::size_t message_index_;
  const Options& options_;
  OutJson& entries_;
  std::string patient_url_, encounter_url_;
  std::vector<std::string> order_urls_;
  std::unordered_map<std::string, std::string> practitioners_;  // key_of -> fullUrl
  std::unordered_map<std::string, std::string> organizations_;
  std::unordered_map<std::string, std::string> specimens_;
};

}  // namespace

model::Result<std::string> to_bundle(std::span<const model::LabMessage> messages,
                                     const Options& options) {
  // R4 dateTime zones run from -14:00 to +14:00.
  if (options.default_utc_offset_minutes && (*options.default_utc_offset_minutes > 14 * 60 ||
                                             *options.default_utc_offset_minutes < -14 * 60))
    return model::fail(model::ErrorCode::kConfig,
                       "default UTC offset must lie between -14:00 and +14:00");
  try {
    OutJson bundle = resource("Bundle");
    bundle["type"] = "transaction";
    OutJson entries = OutJson::array();
    for (std::size_t i = 0; i < messages.size(); ++i)
      MessageWriter(messages[i], i, options, entries).write();
    bundle["entry"] = std::move(entries);
    return internal::write_pretty(bundle);
  } catch (const nlohmann::json::exception& e) {
    return model::fail(model::ErrorCode::kInternal,
                       fmt::format("cannot build FHIR Bundle (json error {})", e.id));
  }
}

model::Result<std::string> to_bundle(const model::LabMessage& message, const Options& options) {
  return to_bundle(std::span<const model::LabMessage>(&message, 1), options);
}

}  // namespace labvault::fhir
