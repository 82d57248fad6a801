// FHIR writes and operations under /fhir/{LAB}: a transaction Bundle (POST /) or one Observation
// (POST /Observation) goes through the same persistence and audit path as file imports (ingest:
// stored with its audit record in one transaction, deduplicated by content), and $break-glass /
// $unmask grant a person time-limited access with a reason after a fresh re-authentication.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api/internal/fhir_call.hpp"
#include "api/internal/items.hpp"
#include "fhir/fhir.hpp"
#include "ingest/import.hpp"

namespace labvault::api {

namespace {

using model::ErrorCode;
using nlohmann::json;

std::string_view type_of_table(std::string_view table) {
  if (table == "observations") return "Observation";
  if (table == "reports") return "DiagnosticReport";
  if (table == "orders") return "ServiceRequest";
  if (table == "specimens") return "Specimen";
  if (table == "patients") return "Patient";
  return {};
}

// "Patient/12" -> 12 when that is how an Observation names its subject on this server.
std::optional<store::Id> subject_id(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  auto subject = doc.find("subject");
  if (subject == doc.end() || !subject->is_object()) return std::nullopt;
  auto ref = subject->find("reference");
  if (ref == subject->end() || !ref->is_string()) return std::nullopt;
  std::string_view r = ref->get_ref<const std::string&>();
  if (!r.starts_with("Patient/")) return std::nullopt;
  store::Id id = 0;
  for (char c : r.substr(8)) {
    if (c < '0' || c > '9' || id > 100'000'000'000'000) return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id > 0 ? std::optional(id) : std::nullopt;
}

// The named parameter of a Parameters resource (R4 parameters.html), as a string.
std::string parameter(const json& doc, std::string_view name) {
  auto params = doc.find("parameter");
  if (params == doc.end() || !params->is_array()) return {};
  for (const json& p : *params) {
    if (!p.is_object() || p.value("name", "") != name) continue;
    for (const char* key : {"valueString", "valueCode"})
      if (auto v = p.find(key); v != p.end() && v->is_string()) return v->get<std::string>();
  }
  return {};
}

}  // namespace

net::HttpResponse Api::Impl::create(Call& call, const Principal& who, store::Id lab,
                                    std::string_view lab_code, bool transaction) {
  FhirCall fc(*this, call, who, lab);
  // Parsed once for the shape checks here; fhir::from_json maps it (with its own limits).
  const json doc = json::parse(call.req.body, nullptr, false);
  // "create" for every kind the request would write: results always (a lone Observation is filed
  // as a report of one test), and each policy kind a transaction Bundle holds (for a client, the
  // SMART scopes system/<Kind>.c). Encounters, practitioners and organizations ride along.
  std::set<std::string> kinds = {"Observation"};
  if (transaction) {
    if (doc.is_object() && doc.contains("entry") && doc["entry"].is_array())
      for (const json& e : doc["entry"])
        if (e.is_object() && e.contains("resource") && e["resource"].is_object())
          if (std::string type = e["resource"].value("resourceType", ""); is_kind(type))
            kinds.insert(type);
  }
  for (const std::string& kind : kinds) {
    access::Resource what{kind, lab, 0, {}, {}};
    auto d = access.authorize(who.requester, who.user, "create", what, fc.purpose(), call.ctx);
    if (!d) return outcome(d.error());
    if (!d->permit)
      return d->not_found ? outcome(404, "not-found", "no such FHIR base")
                          : outcome(403, "forbidden",
                                    fmt::format("the access policy denies creating {}", kind));
  }

  auto messages = fhir::from_json(call.req.body);
  if (!messages) return outcome(messages.error());
  if (transaction) {
    if (!doc.is_object() || doc.value("resourceType", "") != "Bundle" ||
        doc.value("type", "") != "transaction")
      return outcome(400, "invalid", "POST to the base takes a Bundle of type transaction");
  } else if (!doc.is_object() || doc.value("resourceType", "") != "Observation") {
    return outcome(400, "invalid", "POST to Observation takes one Observation resource");
  } else if (messages->size() == 1 && messages->front().patient.identifiers.empty()) {
    // A lone Observation names its patient by reference to this server.
    auto id = subject_id(doc);
    if (!id) return outcome(400, "invalid", "Observation.subject must reference Patient/{id}");
    auto rec = fc.record(*id);
    if (!rec) return outcome(rec.error());
    messages->front().patient = (*rec)->patient;
  }
  for (model::LabMessage& m : *messages) {
    if (m.patient.identifiers.empty())
      return outcome(400, "invalid",
                     "every result needs a Patient with an identifier (or Patient/{id})");
    // A lone Observation has no report code: it is a report of one test, named by that test.
    for (model::Report& rep : m.reports)
      if (rep.service.codings.empty() && !rep.observations.empty())
        rep.service = rep.observations.front().code;
    options.sensitivity.apply(m);
  }
  std::vector<ingest::FileMessage> files =
      ingest::fhir_file_messages(call.req.body, std::move(*messages));
  ingest::ImportRequest request;
  request.lab = lab;
  request.actor = who.actor();
  request.kind = "fhir";
  request.source_name = fmt::format("https-{}", call.ctx.request_id);
  request.sender = "api^" + who.actor();
  request.listener = "https";
  request.role = fc.role();
  request.request_id = call.ctx.request_id;
  request.source_ip = call.ctx.source_ip;
  auto summary = ingest::import_messages(store, log, request, files);
  if (!summary) return outcome(summary.error());
  if (summary->failed > 0) return fhir_response(422, fhir::operation_outcome(summary->problems));

  std::vector<std::string> locations;
  for (store::Id message : summary->message_ids) {
    auto prov = store.provenance(lab, message);
    if (!prov) return outcome(prov.error());
    for (const auto& [table, id] : prov->records)
      if (std::string_view type = type_of_table(table);
          !type.empty() && (transaction || type == "Observation"))
        locations.push_back(fmt::format("{}/{}", type, id));
  }
  if (!transaction) {
    if (locations.empty()) return outcome(422, "processing", "the Observation was not stored");
    net::HttpResponse r = fhir_response(201, fhir::operation_outcome({}));
    r.headers.emplace_back("Location",
                           fmt::format("{}/{}", fhir_base(lab_code), locations.front()));
    return r;
  }
  return fhir_response(200, fhir::transaction_response(locations));
}

net::HttpResponse Api::Impl::operation(Call& call, const Principal& who, store::Id lab,
                                       store::Id patient, std::string_view op) {
  if (!who.person)
    return outcome(403, "forbidden", "break-glass and unmask are for people, not systems");
  // The body first: what a malformed request learns must not depend on whether the patient exists.
  json doc = json::parse(call.req.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("resourceType", "") != "Parameters")
    return outcome(400, "invalid", "the body must be a Parameters resource");
  auto exists = store.patient_of(lab, "Patient", patient);
  if (!exists) return outcome(exists.error());
  const std::string reason = parameter(doc, "reason");
  model::Result<store::AccessGrant> grant;
  if (op == "$break-glass") {
    grant = access.break_glass(*who.person, lab, patient, reason, call.ctx);
  } else {
    auto category = access::parse_sensitivity(parameter(doc, "category"));
    if (!category)
      return outcome(400, "invalid",
                     "category must be one of hiv, genetic, substance-use, behavioral-health, "
                     "sexual-health");
    grant = access.unmask(*who.person, lab, patient, *category, reason, call.ctx);
  }
  if (!grant) return outcome(grant.error());
  json answer = {
      {"resourceType", "Parameters"},
      {"parameter",
       {{{"name", "grant"}, {"valueString", grant->kind}},
        {{"name", "expires"},
         {"valueInstant",
          fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                      fmt::gmtime(static_cast<std::time_t>(grant->expires_us / 1'000'000)))}}}}};
  return fhir_response(200, answer.dump());
}

}  // namespace labvault::api
