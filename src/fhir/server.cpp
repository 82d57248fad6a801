#include "fhir/server.hpp"

#include <fmt/format.h>

#include <array>

#include "fhir/internal/codes.hpp"
#include "fhir/internal/json_io.hpp"
#include "fhir/internal/resources.hpp"
#include "fhir/internal/write_types.hpp"

namespace labvault::fhir {

namespace {

using internal::OutJson;

std::string url(std::string_view type, std::int64_t id) {
  return id > 0 ? fmt::format("{}/{}", type, id) : std::string();
}

// A Practitioner named in a result, as a Reference with identifier and display: the server does
// not hold Practitioner resources (a lab message names people, it does not register them).
OutJson practitioner_ref(const model::Practitioner& p) {
  if (p.empty()) return nullptr;
  OutJson r = OutJson::object();
  if (!p.id.empty()) r["identifier"] = internal::identifier({p.id, p.assigning_authority, ""});
  std::string display;
  for (const std::string& g : p.name.given)
    if (!g.empty()) display += g + " ";
  display += p.name.family;
  while (!display.empty() && display.back() == ' ') display.pop_back();
  if (!display.empty()) r["display"] = display;
  return r.empty() ? OutJson(nullptr) : r;
}

OutJson organization_ref(const model::Organization& o) {
  if (o.empty()) return nullptr;
  OutJson r = OutJson::object();
  if (!o.id.empty()) r["identifier"] = {{"value", o.id}};
  if (!o.name.empty()) r["display"] = o.name;
  return r;
}

// The JSON members of each view field that are optional in R4 and can simply go. Required
// members (Observation.code and status, DiagnosticReport.code and status) stay: the view engine
// has emptied their content, which the writers mark with a data-absent-reason.
struct FieldKeys {
  std::string_view field;
  std::array<std::string_view, 2> keys;  // unused slots empty
};
const FieldKeys kFieldKeys[] = {
    {"Patient.identifier", {"identifier"}},
    {"Patient.name", {"name"}},
    {"Patient.birthDate", {"birthDate", "_birthDate"}},
    {"Patient.gender", {"gender"}},
    {"Patient.address", {"address"}},
    {"Patient.telecom", {"telecom"}},
    {"ServiceRequest.identifier", {"identifier", "requisition"}},
    {"ServiceRequest.code", {"code"}},
    {"ServiceRequest.requester", {"requester"}},
    {"ServiceRequest.authoredOn", {"authoredOn"}},
    {"ServiceRequest.reasonCode", {"reasonCode"}},
    {"ServiceRequest.note", {"note"}},
    {"DiagnosticReport.identifier", {"identifier"}},
    {"DiagnosticReport.effective", {"effectiveDateTime"}},
    {"DiagnosticReport.issued", {"issued"}},
    {"DiagnosticReport.conclusion", {"conclusion"}},
    {"Observation.interpretation", {"interpretation"}},
    {"Observation.referenceRange", {"referenceRange"}},
    {"Observation.effective", {"effectiveDateTime"}},
    {"Observation.issued", {"issued"}},
    {"Observation.performer", {"performer"}},
    {"Observation.note", {"note"}},
    {"Specimen.identifier", {"accessionIdentifier"}},
    {"Specimen.type", {"type"}},
    {"Specimen.received", {"receivedTime"}},
};

// Removes what was withheld and labels the resource (R4 security-labels.html: REDACTED, "removed
// from the resource"); a withheld value becomes dataAbsentReason "masked" (obs-6 allows it only
// without a value).
std::string finish(OutJson r, std::string_view type, const Withheld& withheld) {
  bool redacted = false;
  for (const std::string& field : withheld) {
    if (!field.starts_with(type) || field.size() <= type.size() || field[type.size()] != '.')
      continue;
    redacted = true;
    for (const FieldKeys& f : kFieldKeys)
      if (f.field == field)
        for (std::string_view k : f.keys)
          if (!k.empty()) r.erase(std::string(k));
    if (field == "Specimen.collected" && r.contains("collection")) {
      r["collection"].erase("collectedDateTime");
      if (r["collection"].empty()) r.erase("collection");
    }
    if (field == "Observation.value") {
      for (auto it = r.begin(); it != r.end();)
        it = it.key().starts_with("value") ? r.erase(it) : std::next(it);
      if (!r.contains("dataAbsentReason"))
        r["dataAbsentReason"] = internal::concept_of(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "masked", "Masked");
    }
  }
  if (redacted) {
    OutJson label = {{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"},
                     {"code", "REDACTED"},
                     {"display", "redacted"}};
    r["meta"]["security"].push_back(std::move(label));
  }
  return internal::write_compact(r);
}

OutJson with_id(OutJson r, std::int64_t id) {
  // resourceType first, then id, as FHIR's examples order them.
  OutJson out = OutJson::object();
  out["resourceType"] = r["resourceType"];
  out["id"] = std::to_string(id);
  for (auto& [k, v] : r.items())
    if (k != "resourceType") out[k] = std::move(v);
  return out;
}

}  // namespace

std::string patient_resource(std::int64_t id, const model::Patient& patient,
                             const Withheld& withheld, const ServerOptions& o) {
  return finish(with_id(internal::patient_json(patient, o.default_utc_offset_minutes), id),
                "Patient", withheld);
}

std::string observation_resource(std::int64_t id, const model::Observation& o,
                                 const ObservationLinks& links, const Withheld& withheld,
                                 const ServerOptions& opts) {
  internal::ObservationRefs refs{
      url("Patient", links.patient),   {}, url("ServiceRequest", links.order),
      url("Specimen", links.specimen), {}, false,
      links.effective_fallback};
  for (const model::Practitioner& p : o.performers)
    if (OutJson r = practitioner_ref(p); !r.is_null()) refs.performers.push_back(std::move(r));
  if (OutJson r = organization_ref(o.performing_lab); !r.is_null())
    refs.performers.push_back(std::move(r));
  return finish(with_id(internal::observation_json(o, refs, opts.default_utc_offset_minutes), id),
                "Observation", withheld);
}

std::string report_resource(std::int64_t id, const model::Report& report, const ReportLinks& links,
                            const Withheld& withheld, const ServerOptions& opts) {
  internal::ReportRefs refs{
      url("Patient", links.patient), {}, url("ServiceRequest", links.order), {}, {}, {}};
  for (const model::Practitioner& p : report.result_interpreters)
    if (OutJson r = practitioner_ref(p); !r.is_null()) refs.interpreters.push_back(std::move(r));
  for (std::int64_t s : links.specimens) refs.specimens.push_back(url("Specimen", s));
  for (std::int64_t o : links.observations) refs.results.push_back(url("Observation", o));
  return finish(with_id(internal::report_json(report, refs, opts.default_utc_offset_minutes), id),
                "DiagnosticReport", withheld);
}

std::string order_resource(std::int64_t id, const model::Order& order, std::int64_t patient,
                           std::span<const std::int64_t> specimens,
                           const std::vector<const model::Observation*>& related,
                           const Withheld& withheld, const ServerOptions& opts) {
  internal::OrderRefs refs{
      url("Patient", patient), {}, practitioner_ref(order.ordering_provider), {}, {}};
  for (std::int64_t s : specimens) refs.specimens.push_back(url("Specimen", s));
  return finish(
      with_id(internal::order_json(order, related, refs, opts.default_utc_offset_minutes), id),
      "ServiceRequest", withheld);
}

std::string specimen_resource(std::int64_t id, const model::Specimen& specimen,
                              std::int64_t patient, std::int64_t order, const Withheld& withheld,
                              const ServerOptions& opts) {
  return finish(with_id(internal::specimen_json(specimen, url("Patient", patient),
                                                url("ServiceRequest", order),
                                                opts.default_utc_offset_minutes),
                        id),
                "Specimen", withheld);
}

std::vector<TokenValue> code_tokens(const model::CodeableConcept& cc) {
  std::vector<TokenValue> out;
  for (const model::Coding& c : cc.codings) {
    std::string code = internal::fhir_code(c.code);
    if (!code.empty())
      out.push_back({c.system.empty() ? std::string() : internal::system_uri(c.system), code});
  }
  return out;
}

TokenValue identifier_token(const model::Identifier& identifier) {
  return {internal::identifier_system(identifier.assigning_authority), identifier.value};
}

std::string identifier_authority(std::string_view system) {
  return internal::authority_from_system(system);
}

std::string_view observation_status(const model::Observation& o) {
  return internal::observation_status(o.status);
}
std::string_view report_status(const model::Report& r) { return internal::report_status(r.status); }
std::string_view order_status(const model::Order& o) { return internal::request_status(o.control); }

TokenValue observation_category() {
  return {std::string(internal::kObservationCategory), "laboratory"};
}

std::vector<TokenValue> report_categories(const model::Report& r) {
  std::vector<TokenValue> out{{std::string(internal::kV2_0074), "LAB"}};
  std::string section = internal::fhir_code(r.diagnostic_section);
  if (!section.empty() && section != "LAB")
    out.push_back({std::string(internal::kV2_0074), section});
  return out;
}

std::string searchset(std::span<const BundleEntry> entries, std::optional<std::int64_t> total,
                      std::span<const BundleLink> links) {
  // Assembled as text: the resources are already serialized and may be many.
  std::string out = R"({"resourceType":"Bundle","type":"searchset")";
  if (total) out += fmt::format(R"(,"total":{})", *total);
  if (!links.empty()) {
    out += R"(,"link":[)";
    for (std::size_t i = 0; i < links.size(); ++i) {
      OutJson l = {{"relation", links[i].relation}, {"url", links[i].url}};
      out += (i ? "," : "") + l.dump();
    }
    out += "]";
  }
  if (!entries.empty()) {
    out += R"(,"entry":[)";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      out += i ? "," : "";
      out += fmt::format(R"({{"fullUrl":{},"resource":{},"search":{{"mode":"{}"}}}})",
                         OutJson(entries[i].full_url).dump(), entries[i].resource,
                         entries[i].include ? "include" : "match");
    }
    out += "]";
  }
  out += "}";
  return out;
}

std::string transaction_response(std::span<const std::string> locations) {
  OutJson b = internal::resource("Bundle");
  b["type"] = "transaction-response";
  b["entry"] = OutJson::array();
  for (const std::string& l : locations)
    b["entry"].push_back({{"response", {{"status", "201 Created"}, {"location", l}}}});
  return b.dump();
}

}  // namespace labvault::fhir
