#include "audit/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "crypto/secret.hpp"

namespace labvault::audit {

namespace {

using Json = nlohmann::ordered_json;  // keeps resourceType and friends first, as people expect

struct Coding {
  std::string_view system, code, display;
};

constexpr std::string_view kDcm = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kRestful = "http://hl7.org/fhir/restful-interaction";
constexpr std::string_view kParticipation =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
// BALP 1.1: CodeSystem BasicAuditEntityType, code XrequestId for the X-Request-Id entity.
constexpr std::string_view kBalpEntityType =
    "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
// labvault's own action name, added as a subtype where the standard codes are ambiguous.
constexpr std::string_view kLabvaultAction = "urn:labvault:audit-action";

constexpr Coding kRest{"http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                       "Restful Operation"};
constexpr Coding kNone{};
constexpr Coding kRead{kRestful, "read", "read"},
    kSearchType{kRestful, "search-type", "search type"}, kCreate{kRestful, "create", "create"},
    kUpdate{kRestful, "update", "update"}, kDelete{kRestful, "delete", "delete"};
constexpr Coding kAuditLog{kDcm, "110101", "Audit Log Used"}, kExport{kDcm, "110106", "Export"},
    kImport{kDcm, "110107", "Import"}, kPatientRec{kDcm, "110110", "Patient Record"},
    kAlert{kDcm, "110113", "Security Alert"}, kUserAuth{kDcm, "110114", "User Authentication"},
    kLogin{kDcm, "110122", "Login"}, kLogout{kDcm, "110123", "Logout"},
    kOverride{kDcm, "110127", "Emergency Override Started"},
    kSecConfig{kDcm, "110129", "Security Configuration"},
    kSwConfig{kDcm, "110131", "Software Configuration"},
    kRestricted{kDcm, "110132", "Use of Restricted Function"},
    kUserChanged{kDcm, "110137", "User security Attributes Changed"};

// The actor's participation. BALP: readers are IRCP (Read, Query), writers come from DataSources
// (Create, Update, Delete). The subject of an authentication or of a change to their own security
// attributes is typed as R4's login example does: "human user" (or DCM Application for clients).
enum class Actor { kRecipient, kAuthor, kSubject };
// The labvault node's agent. BALP keeps DICOM's direction of the request: the server is the
// Source Role ID of a read (data flows to the client) and the Destination Role ID of a query,
// create or update; Delete names it Custodian. Outside REST it is the Application (DCM 110150).
enum class Server { kSource, kDestination, kCustodian, kApp };

struct FhirCodes {
  Action action;
  Coding type, subtype;
  std::string_view action_code;  // R4 AuditEvent.action: C R U D E
  Actor actor;
  Server server;
  std::string_view object_role;  // object-role of the resource entity: 4 domain resource,
                                 // 24 query, 11 user, 13 security resource, 17 data repository
  bool exact;  // type+subtype name the labvault action alone; else its name is added as subtype
};

using enum Actor;
using enum Server;
// Action codes outside REST follow DICOM PS3.15 A.5.3: Export R, Import C, Audit Log Used R,
// User Authentication and Security Alert E. Patient Record is the nearest DICOM event for a
// conversion (records processed, nothing stored) and a key shred (a patient's records destroyed).
// clang-format off
constexpr std::array<FhirCodes, 25> kFhirCodes{{
  {Action::kRead,           kRest,       kRead,        "R", kRecipient, kSource,      "4",  true},
  {Action::kSearch,         kRest,       kSearchType,  "E", kRecipient, kDestination, "24", true},
  {Action::kCreate,         kRest,       kCreate,      "C", kAuthor,    kDestination, "4",  true},
  {Action::kUpdate,         kRest,       kUpdate,      "U", kAuthor,    kDestination, "4",  true},
  {Action::kDelete,         kRest,       kDelete,      "D", kAuthor,    kCustodian,   "4",  true},
  {Action::kExport,         kExport,     kNone,        "R", kRecipient, kSource,      "4",  true},
  {Action::kConvert,        kPatientRec, kNone,        "E", kAuthor,    kApp,         "4",  false},
  {Action::kImport,         kImport,     kNone,        "C", kAuthor,    kDestination, "4",  true},
  {Action::kLogin,          kUserAuth,   kLogin,       "E", kSubject,   kApp,         "11", true},
  {Action::kLogout,         kUserAuth,   kLogout,      "E", kSubject,   kApp,         "11", true},
  {Action::kLoginFailed,    kUserAuth,   kLogin,       "E", kSubject,   kApp,         "11", false},
  {Action::kLockout,        kAlert,      kUserChanged, "E", kSubject,   kApp,         "11", false},
  {Action::kMfaEnroll,      kAlert,      kUserChanged, "E", kSubject,   kApp,         "11", false},
  {Action::kMfaFailed,      kUserAuth,   kLogin,       "E", kSubject,   kApp,         "11", false},
  {Action::kSessionTimeout, kUserAuth,   kLogout,      "E", kSubject,   kApp,         "11", false},
  {Action::kTokenIssue,     kUserAuth,   kLogin,       "E", kSubject,   kApp,         "11", false},
  {Action::kTokenReject,    kUserAuth,   kLogin,       "E", kSubject,   kApp,         "11", false},
  {Action::kUnmask,         kAlert,      kRestricted,  "E", kRecipient, kSource,      "4",  true},
  {Action::kBreakGlass,     kAlert,      kOverride,    "E", kRecipient, kSource,      "4",  true},
  {Action::kConfigChange,   kAlert,      kSwConfig,    "E", kAuthor,    kApp,         "13", true},
  {Action::kUserAdmin,      kAlert,      kUserChanged, "E", kAuthor,    kApp,         "11", false},
  {Action::kKeyRotation,    kAlert,      kSecConfig,   "E", kAuthor,    kApp,         "13", true},
  {Action::kKeyShred,       kPatientRec, kNone,        "D", kAuthor,    kCustodian,   "13", false},
  {Action::kAuditVerify,    kAuditLog,   kNone,        "R", kRecipient, kApp,         "17", false},
  {Action::kAuditExport,    kAuditLog,   kNone,        "R", kRecipient, kApp,         "17", false},
}};
// clang-format on

const FhirCodes* codes_of(Action a) {
  for (const FhirCodes& c : kFhirCodes) {
    if (c.action == a) return &c;
  }
  return nullptr;
}

std::string_view object_role_display(std::string_view code) {
  if (code == "4") return "Domain Resource";
  if (code == "11") return "Security User Entity";
  if (code == "13") return "Security Resource";
  if (code == "17") return "Data Repository";
  if (code == "24") return "Query";
  return "";
}

Json coding(const Coding& c) {
  Json j = {{"system", c.system}, {"code", c.code}};
  if (!c.display.empty()) j["display"] = c.display;
  return j;
}

model::Error record_error(std::uint64_t seq, std::string_view what) {
  return {model::ErrorCode::kParse, fmt::format("audit record {}: {}", seq, what), {}};
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes)
    fmt::format_to(std::back_inserter(out), "{:02x}", static_cast<unsigned char>(c));
  return out;
}

// RFC 3339 5.6 date-time in UTC with microseconds; also a valid FHIR R4 instant.
std::string rfc3339_utc(std::int64_t time_us) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{time_us}};
  sys_days day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

// "Observation/55": a FHIR relative reference (R4 references.html#literal); anything else
// ("keyring", a search) is named by identifier instead.
bool is_reference(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  std::size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || s[0] < 'A' || s[0] > 'Z') return false;
  std::string_view type = s.substr(0, slash), id = s.substr(slash + 1);
  if (id.empty() || id.size() > 64) return false;  // R4 datatypes.html#id
  return std::ranges::all_of(type, alnum) &&
         std::ranges::all_of(id, [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// AuditEvent.outcome (R4 valueset-audit-event-outcome): 0 success, 4 minor failure (a denial is
// the system working as intended), 8 serious failure. A failed authentication is at least minor.
std::string_view fhir_outcome(const Event& e) {
  if (e.outcome == Outcome::kError) return "8";
  bool failed_auth = e.action == Action::kLoginFailed || e.action == Action::kMfaFailed ||
                     e.action == Action::kTokenReject;
  return e.outcome == Outcome::kDenied || failed_auth ? "4" : "0";
}

Json actor_agent(const Event& e, const FhirCodes& codes) {
  Coding type{kParticipation, "IRCP", "information recipient"};
  if (codes.actor == kAuthor) type = {kParticipation, "AUT", "author (originator)"};
  if (codes.actor == kSubject) {
    bool application = e.actor.starts_with("client:") || e.actor == "system";
    type = application ? Coding{kDcm, "110150", "Application"}
                       : Coding{"http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                                "humanuser", "human user"};
  }
  Json agent = {{"type", {{"coding", Json::array({coding(type)})}}}};
  if (!e.role.empty()) agent["role"] = Json::array({{{"text", e.role}}});
  agent["who"] = {{"identifier", {{"value", e.actor}}}};
  agent["requestor"] = true;
  // BALP keeps the address on a separate client agent; labvault knows one requester per record,
  // so the address goes where R4's login example puts it, on the requester. Type 2: IP address.
  if (!e.source_ip.empty()) agent["network"] = {{"address", e.source_ip}, {"type", "2"}};
  return agent;
}

Json server_agent(const Event& e, const FhirCodes& codes) {
  Coding type{kDcm, "110150", "Application"};
  if (codes.server == kSource) type = {kDcm, "110153", "Source Role ID"};
  if (codes.server == kDestination) type = {kDcm, "110152", "Destination Role ID"};
  if (codes.server == kCustodian) {
    type = {"http://terminology.hl7.org/CodeSystem/provenance-participant-type", "custodian",
            "Custodian"};
  }
  Json agent = {{"type", {{"coding", Json::array({coding(type)})}}},
                {"who", {{"identifier", {{"value", e.node}}}}}};
  if (!e.listener.empty()) agent["name"] = e.listener;  // which of the node's listeners
  agent["requestor"] = false;
  agent["network"] = {{"address", e.node}, {"type", "1"}};  // 1: machine name
  return agent;
}

Json entities(const Event& e, const FhirCodes& codes) {
  Json out = Json::array();
  if (e.patient != 0) {  // BALP Patient* profiles: entity[patient]
    out.push_back({{"what", {{"reference", fmt::format("Patient/{}", e.patient)}}},
                   {"type", coding({kEntityType, "1", "Person"})},
                   {"role", coding({kObjectRole, "1", "Patient"})}});
  }
  std::size_t data = out.size();  // where released/masked fields go
  if (!e.resource.empty()) {
    Json entity;
    if (e.action == Action::kSearch) {
      // BALP Query: entity[query] holds the request base64-encoded; labvault has what the entry
      // recorded as the resource of the search.
      auto bytes = reinterpret_cast<const std::uint8_t*>(e.resource.data());
      entity = {{"type", coding({kEntityType, "2", "System Object"})},
                {"role", coding({kObjectRole, "24", "Query"})},
                {"query", crypto::base64_encode({bytes, e.resource.size()})}};
    } else {
      entity["what"] = is_reference(e.resource) ? Json{{"reference", e.resource}}
                                                : Json{{"identifier", {{"value", e.resource}}}};
      entity["type"] = coding({kEntityType, "2", "System Object"});
      entity["role"] =
          coding({kObjectRole, codes.object_role, object_role_display(codes.object_role)});
    }
    data = out.size();
    out.push_back(std::move(entity));
  }
  if (!e.released_fields.empty() || !e.masked_fields.empty()) {
    if (data == out.size()) out.push_back({{"type", coding({kEntityType, "2", "System Object"})}});
    Json details = Json::array();
    for (const auto& f : e.released_fields)
      details.push_back({{"type", "released"}, {"valueString", f}});
    for (const auto& f : e.masked_fields)
      details.push_back({{"type", "masked"}, {"valueString", f}});
    out[data]["detail"] = std::move(details);
  }
  if (!e.request_id.empty()) {  // BALP entity[transaction]
    out.push_back({{"what", {{"identifier", {{"value", e.request_id}}}}},
                   {"type", coding({kBalpEntityType, "XrequestId", ""})}});
  }
  return out;
}

model::Result<std::string> dump(const Json& j, std::uint64_t seq) {
  try {
    return j.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    return std::unexpected(record_error(seq, "a field is not valid UTF-8"));
  }
}

// The entry's details members: each maps to one field of Event (sealed handled apart).
constexpr std::array<std::pair<std::string_view, std::string Event::*>, 10> kTextMembers{{
    {"detail", &Event::outcome_detail},
    {"ip", &Event::source_ip},
    {"listener", &Event::listener},
    {"node", &Event::node},
    {"on_behalf_of", &Event::on_behalf_of},
    {"purpose", &Event::purpose},
    {"request_id", &Event::request_id},
    {"resource", &Event::resource},
    {"role", &Event::role},
    {"sealed", nullptr},
}};

}  // namespace

model::Result<ParsedEntry> parse_entry(const store::AuditRow& row) {
  auto bad = [&](std::string_view what) { return std::unexpected(record_error(row.seq, what)); };
  // The header of the canonical record is the clear columns themselves (audit::canonical), so
  // they cannot disagree with it; they can still be malformed.
  auto action = parse_action(row.action);
  auto outcome = parse_outcome(row.outcome);
  if (!action || !outcome) return bad("unknown action or outcome");

  ParsedEntry p;
  p.seq = row.seq;
  p.event.time_us = row.time_us;
  p.event.lab = row.lab_id;
  p.event.actor = row.actor;
  p.event.patient = row.patient_id;
  p.event.action = *action;
  p.event.outcome = *outcome;
  if (!validate(p.event)) return bad("the actor is not an internal id");
  nlohmann::json details = nlohmann::json::parse(row.entry, nullptr, false);
  if (details.is_discarded() || !details.is_object()) return bad("details are not a JSON object");
  for (const auto& [key, value] : details.items()) {
    if (key == "masked" || key == "released") {
      auto& list = key == "masked" ? p.event.masked_fields : p.event.released_fields;
      if (!value.is_array()) return bad("a field list is not an array");
      for (const auto& item : value) {
        if (!item.is_string()) return bad("a field list holds a non-string");
        list.push_back(item.get<std::string>());
      }
      continue;
    }
    auto member = std::find_if(kTextMembers.begin(), kTextMembers.end(),
                               [&](const auto& m) { return m.first == key; });
    // Key names are not echoed: a tampered entry could put anything there.
    if (member == kTextMembers.end()) return bad("details hold an unknown member");
    if (!value.is_string()) return bad("a details member is not a string");
    if (member->second != nullptr) {
      p.event.*(member->second) = value.get<std::string>();
      continue;
    }
    auto sealed = crypto::base64_decode(value.get<std::string>());
    if (!sealed) return bad("sealed details are not base64");
    p.sealed.assign(reinterpret_cast<const char*>(sealed->data()), sealed->size());
  }
  // Only a lab's key seals (Store::seal_audit_text), so sealed details need a lab.
  if (!p.sealed.empty() && p.event.lab == 0) return bad("sealed details without a lab");
  // Writing the parsed fields again must give the same bytes: this catches reordered,
  // duplicated or re-escaped members, and a patient's IP in clear.
  auto again = details_json(p.event, p.sealed);
  if (!again || *again != row.entry) return bad("the details are not in canonical form");
  return p;
}

model::Result<std::string> to_jsonl(const store::AuditRow& row, const ExportContext& context) {
  auto parsed = parse_entry(row);
  if (!parsed) return std::unexpected(parsed.error());
  const Event& e = parsed->event;
  Json o;
  o["seq"] = parsed->seq;
  o["time"] = rfc3339_utc(e.time_us);
  auto code = context.lab_codes.find(e.lab);
  o["lab"] = {{"id", e.lab},
              {"code", code == context.lab_codes.end() ? Json(nullptr) : Json(code->second)}};
  o["actor"] = e.actor;
  o["role"] = e.role;
  o["on_behalf_of"] = e.on_behalf_of;
  o["action"] = to_string(e.action);
  o["resource"] = e.resource;
  o["patient"] = e.patient == 0 ? Json(nullptr) : Json(e.patient);
  o["source"] = {{"ip", e.source_ip}, {"listener", e.listener}, {"node", e.node}};
  o["purpose"] = e.purpose;
  o["outcome"] = to_string(e.outcome);
  o["detail"] = e.outcome_detail;
  o["request_id"] = e.request_id;
  o["released"] = e.released_fields;
  o["masked"] = e.masked_fields;
  o["chain"] = hex(row.chain);
  if (!parsed->sealed.empty() && !context.reveal) o["private"] = "sealed";
  if (!parsed->sealed.empty() && context.reveal) {
    auto opened = context.reveal(e.lab, parsed->seq, parsed->sealed);
    if (!opened) return std::unexpected(opened.error());
    Json details = Json::parse(*opened, nullptr, false);
    crypto::wipe(*opened);
    if (details.is_discarded() || !details.is_object()) {
      return std::unexpected(record_error(parsed->seq, "opened details are not a JSON object"));
    }
    o["private"] = std::move(details);
  }
  return dump(o, parsed->seq);
}

model::Result<std::string> to_fhir_audit_event(const store::AuditRow& row,
                                               const ExportContext& context) {
  auto parsed = parse_entry(row);
  if (!parsed) return std::unexpected(parsed.error());
  const Event& e = parsed->event;
  const FhirCodes* found = codes_of(e.action);
  if (found == nullptr) {  // a new Action without a row above; a test exports every action
    return model::fail(model::ErrorCode::kInternal, "audit action has no FHIR codes");
  }
  const FhirCodes& codes = *found;
  Json r;
  r["resourceType"] = "AuditEvent";
  r["id"] = fmt::format("labvault-audit-{}", parsed->seq);
  r["type"] = coding(codes.type);
  Json subtype = Json::array();
  if (!codes.subtype.code.empty()) subtype.push_back(coding(codes.subtype));
  if (!codes.exact) subtype.push_back(coding({kLabvaultAction, to_string(e.action), ""}));
  if (!subtype.empty()) r["subtype"] = std::move(subtype);
  r["action"] = codes.action_code;
  r["recorded"] = rfc3339_utc(e.time_us);
  r["outcome"] = fhir_outcome(e);
  if (!e.outcome_detail.empty()) r["outcomeDesc"] = e.outcome_detail;
  if (!e.purpose.empty()) {  // R4 v3-PurposeOfUse: its codes live in the v3 ActReason system
    Coding purpose{"http://terminology.hl7.org/CodeSystem/v3-ActReason", e.purpose, ""};
    r["purposeOfEvent"] = Json::array({{{"coding", Json::array({coding(purpose)})}}});
  }
  Json agents = Json::array({actor_agent(e, codes)});
  if (!e.on_behalf_of.empty()) {
    // R4 has no onBehalfOf: the represented party is the responsible party, not the requester.
    Coding resp{kParticipation, "RESP", "responsible party"};
    agents.push_back({{"type", {{"coding", Json::array({coding(resp)})}}},
                      {"who", {{"identifier", {{"value", e.on_behalf_of}}}}},
                      {"requestor", false}});
  }
  if (!e.node.empty()) agents.push_back(server_agent(e, codes));
  r["agent"] = std::move(agents);
  // R4 source.site: the location within a multi-entity enterprise, here the lab tenant.
  Json source;
  auto code = context.lab_codes.find(e.lab);
  if (e.lab != 0) {
    source["site"] = code != context.lab_codes.end() ? code->second : fmt::format("lab:{}", e.lab);
  }
  source["observer"] = e.node.empty()
                           ? Json{{"display", "labvault"}}
                           : Json{{"identifier", {{"value", e.node}}}, {"display", e.node}};
  source["type"] = Json::array({coding(
      {"http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"})});
  r["source"] = std::move(source);
  Json entity = entities(e, codes);
  if (!entity.empty()) r["entity"] = std::move(entity);
  return dump(r, parsed->seq);
}

SyslogEvent to_syslog_event(const ParsedEntry& entry, const store::AuditRow& row) {
  const Event& e = entry.event;
  SyslogEvent out;
  out.seq = entry.seq;
  out.time_us = e.time_us;
  // RFC 5424 6.2.1: 6 informational, 5 notice, 4 warning, 1 alert. Break-glass always wants a
  // look; a locked account (someone guessing passwords) is the security officer's alert.
  out.severity = e.outcome == Outcome::kSuccess ? 6 : e.outcome == Outcome::kDenied ? 5 : 4;
  if (e.action == Action::kBreakGlass) out.severity = 4;
  if (e.action == Action::kLockout) out.severity = 1;
  out.msgid = std::string(to_string(e.action));
  auto param = [&](std::string_view name, std::string value) {
    if (!value.empty()) out.params.emplace_back(name, std::move(value));
  };
  param("lab", std::to_string(e.lab));
  param("actor", e.actor);
  param("role", e.role);
  param("patient", e.patient == 0 ? std::string() : std::to_string(e.patient));
  param("resource", e.resource);
  param("outcome", std::string(to_string(e.outcome)));
  param("detail", e.outcome_detail);
  param("purpose", e.purpose);
  param("request_id", e.request_id);
  param("ip", e.source_ip);  // empty, so left out, when it was sealed
  param("chain", hex(row.chain));
  out.msg = fmt::format("{} {}{}{}: {}", e.actor, to_string(e.action),
                        e.resource.empty() ? "" : " ", e.resource, to_string(e.outcome));
  if (!e.outcome_detail.empty()) out.msg += fmt::format(" ({})", e.outcome_detail);
  return out;
}

}  // namespace labvault::audit
