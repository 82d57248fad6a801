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
#include "fhir/internal/resources.hpp"
#include "fhir/internal/write_types.hpp"

namespace labvault::fhir {
namespace {

using internal::append;
using internal::OutJson;
using internal::reference;
using internal::resource;
using internal::set_json;
using internal::set_string;

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
    return internal::patient_json(message_.patient, zone_for_unzoned_times());
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

  internal::ObservationRefs observation_refs(std::string based_on, std::string specimen,
                                             bool ask_at_order_entry,
                                             model::DateTime effective_fallback) {
    return {patient_url_, encounter_url_,     std::move(based_on), std::move(specimen),
            {},           ask_at_order_entry, effective_fallback};
  }

  OutJson observation(const model::Observation& o, internal::ObservationRefs refs) {
    for (const model::Practitioner& p : o.performers)
      if (std::string u = practitioner_url(p); !u.empty()) refs.performers.push_back(reference(u));
    if (std::string u = organization_url(o.performing_lab); !u.empty())
      refs.performers.push_back(reference(u));
    return internal::observation_json(o, refs, zone_for_unzoned_times());
  }

  std::string write_order(std::size_t index) {
    const model::Order& o = message_.orders[index];
    std::string request_url = url("ServiceRequest", index);
    internal::OrderRefs refs{patient_url_, encounter_url_, nullptr, {}, {}};
    for (std::size_t i = 0; i < o.ask_at_order_entry.size(); ++i) {
      refs.supporting_info.push_back(
          add("Observation", url(fmt::format("AOE{}", index), i),
              observation(o.ask_at_order_entry[i], observation_refs(request_url, {}, true, {}))));
    }
    std::vector<const model::Observation*> related;
    for (const model::Observation& aoe : o.ask_at_order_entry) related.push_back(&aoe);
    for (const model::Report& rep : message_.reports)
      if (order_of(rep) == index)
        for (const model::Observation& result : rep.observations) related.push_back(&result);
    if (std::string who = practitioner_url(o.ordering_provider); !who.empty())
      refs.requester = reference(who);
    for (const model::Specimen& s : o.specimens)
      refs.specimens.push_back(specimen_url(s, request_url));
    return add("ServiceRequest", std::move(request_url),
               internal::order_json(o, related, refs, zone_for_unzoned_times()));
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
    OutJson r = internal::specimen_json(s, patient_url_, request_url, zone_for_unzoned_times());
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

    internal::ReportRefs refs{patient_url_, encounter_url_, request_url, {}, specimen_urls, {}};
    for (std::size_t i = 0; i < rep.observations.size(); ++i) {
      // Observation.specimen is 0..1: the report's first specimen.
      auto links =
          observation_refs(request_url, specimen_urls.empty() ? "" : specimen_urls.front(), false,
                           !rep.observed.empty()    ? rep.observed
                           : !rep.specimens.empty() ? rep.specimens.front().collected
                                                    : model::DateTime{});
      refs.results.push_back(add("Observation", url(fmt::format("R{}", index), i),
                                 observation(rep.observations[i], std::move(links))));
    }
    for (const model::Practitioner& p : rep.result_interpreters)
      if (std::string u = practitioner_url(p); !u.empty())
        refs.interpreters.push_back(reference(u));
    add("DiagnosticReport", url("DiagnosticReport", index),
        internal::report_json(rep, refs, zone_for_unzoned_times()));
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
