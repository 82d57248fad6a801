// Tests of the audit exporters: JSON lines, FHIR R4 AuditEvent (checked against the official R4
// JSON schema by tests/fhir_schema/validate.mjs) and syslog events.
#include "audit/export.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace labvault::audit {
namespace {

using nlohmann::json;

// Canary values: a free-text reason and a patient's IP that must never leave sealed.
constexpr std::string_view kCanaryReason = "CANARY-REASON Jane Roe code blue";
constexpr std::string_view kCanaryIp = "198.51.100.77";
constexpr std::string_view kSealed = "\x01\x02opaque-ciphertext\xff";

Event full_event() {
  Event e;
  e.time_us = 1'717'243'200'123'456;  // 2024-06-01T12:00:00.123456Z
  e.lab = 3;
  e.actor = "user:12";
  e.role = "ordering-provider";
  e.on_behalf_of = "client:ehr-3";
  e.resource = "Observation/55";
  e.patient = 7;
  e.source_ip = "192.0.2.10";
  e.listener = "https";
  e.node = "node-a";
  e.purpose = "TREAT";
  e.outcome_detail = "care-team";
  e.request_id = "req-9f2c";
  e.released_fields = {"value", "unit"};
  e.masked_fields = {"interpretation"};
  return e;
}

// A row as audit::Log writes it: clear columns, the details JSON, any 32 bytes as chain.
store::AuditRow row_of(const Event& e, std::uint64_t seq, std::string_view sealed = {}) {
  store::AuditRow row;
  row.seq = seq;
  row.time_us = e.time_us;
  row.lab_id = e.lab;
  row.actor = e.actor;
  row.patient_id = e.patient;
  row.action = std::string(to_string(e.action));
  row.outcome = std::string(to_string(e.outcome));
  auto entry = details_json(e, sealed);
  EXPECT_TRUE(entry.has_value()) << entry.error().to_string();
  row.entry = entry.value_or("");
  row.chain = std::string(31, '\xab') + '\x0c';
  return row;
}

const std::string kChainHex = "ababababababababababababababababababababababababababababababab0c";

ExportContext context() {
  ExportContext c;
  c.lab_codes = {{3, "acme-lab"}};
  return c;
}

std::string params_text(const SyslogEvent& s) {
  std::string text;
  for (const auto& [name, value] : s.params) text += name + "=" + value + " ";
  return text;
}

json jsonl(const store::AuditRow& row, const ExportContext& c = context()) {
  auto line = to_jsonl(row, c);
  EXPECT_TRUE(line.has_value()) << line.error().to_string();
  EXPECT_EQ(line.value_or("").find('\n'), std::string::npos);
  return json::parse(line.value_or("{}"));
}

json fhir(const store::AuditRow& row) {
  auto text = to_fhir_audit_event(row, context());
  EXPECT_TRUE(text.has_value()) << text.error().to_string();
  return json::parse(text.value_or("{}"));
}

TEST(AuditJsonl, RoundTripsEveryField) {
  json j = jsonl(row_of(full_event(), 42));
  EXPECT_EQ(j["seq"], 42);
  EXPECT_EQ(j["time"], "2024-06-01T12:00:00.123456Z");
  EXPECT_EQ(j["lab"], (json{{"id", 3}, {"code", "acme-lab"}}));
  EXPECT_EQ(j["actor"], "user:12");
  EXPECT_EQ(j["role"], "ordering-provider");
  EXPECT_EQ(j["on_behalf_of"], "client:ehr-3");
  EXPECT_EQ(j["action"], "read");
  EXPECT_EQ(j["resource"], "Observation/55");
  EXPECT_EQ(j["patient"], 7);
  EXPECT_EQ(j["source"], (json{{"ip", "192.0.2.10"}, {"listener", "https"}, {"node", "node-a"}}));
  EXPECT_EQ(j["purpose"], "TREAT");
  EXPECT_EQ(j["outcome"], "success");
  EXPECT_EQ(j["detail"], "care-team");
  EXPECT_EQ(j["request_id"], "req-9f2c");
  EXPECT_EQ(j["released"], (json{"value", "unit"}));
  EXPECT_EQ(j["masked"], (json{"interpretation"}));
  EXPECT_EQ(j["chain"], kChainHex);
  EXPECT_FALSE(j.contains("private"));  // nothing sealed
}

TEST(AuditJsonl, SystemRecordHasNullPatientAndUnknownLabCode) {
  Event e;
  e.time_us = -1;  // before the epoch: still a valid date-time
  e.lab = 99;
  e.actor = "system";
  e.action = Action::kKeyRotation;
  json j = jsonl(row_of(e, 1));
  EXPECT_EQ(j["time"], "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(j["patient"], nullptr);
  EXPECT_EQ(j["lab"], (json{{"id", 99}, {"code", nullptr}}));
  EXPECT_EQ(j["released"], json::array());
}

TEST(AuditParse, ReturnsTypedFieldsAndSealedBytes) {
  Event e = full_event();
  e.reason = std::string(kCanaryReason);
  auto parsed = parse_entry(row_of(e, 5, kSealed));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->seq, 5u);
  EXPECT_EQ(parsed->sealed, kSealed);
  EXPECT_EQ(parsed->event.reason, "");
  e.reason.clear();
  EXPECT_EQ(details_json(parsed->event, kSealed).value_or("a"),
            details_json(e, kSealed).value_or("b"));
}

TEST(AuditParse, MalformedClearColumnsAreRejected) {
  store::AuditRow good = row_of(full_event(), 17, kSealed);
  std::vector<store::AuditRow> bad(5, good);
  bad[0].actor = "Jane Roe";  // a name with a space, not an internal id
  bad[1].actor.clear();
  bad[2].action = "peek";
  bad[3].outcome = "maybe";
  bad[4].lab_id = 0;  // sealed details need the lab whose key sealed them
  for (const store::AuditRow& row : bad) {
    auto parsed = parse_entry(row);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().code, model::ErrorCode::kParse);
    EXPECT_NE(parsed.error().message.find("audit record 17"), std::string::npos);
    EXPECT_EQ(parsed.error().message.find("Jane"), std::string::npos);
    EXPECT_FALSE(to_jsonl(row, context()).has_value());
    EXPECT_FALSE(to_fhir_audit_event(row, context()).has_value());
  }
}

TEST(AuditParse, EntriesNotInCanonicalFormAreRejected) {
  store::AuditRow row = row_of(full_event(), 3);
  std::vector<std::string> details{
      "",
      "[]",
      "3\t0\t3\tuser:12\t7\tread\tsuccess\n{}",  // a header has no place in the details
      R"({"resource":"Observation/55","detail":"care-team"})",  // keys out of order
      R"({"detail":"a","detail":"b"})",                         // duplicate
      R"({"detail": "care-team"})",                             // not compact
      R"({"nickname":"x"})",                                    // unknown member
      R"({"masked":"interpretation"})",                         // not a list
      R"({"sealed":"not base64!"})",
  };
  for (const std::string& d : details) {
    store::AuditRow r = row;
    r.entry = d;
    EXPECT_FALSE(parse_entry(r).has_value()) << d;
  }
}

TEST(AuditParse, PatientIpInClearIsRejected) {
  Event e = full_event();
  e.role = "patient";
  e.source_ip.clear();
  store::AuditRow row = row_of(e, 4);
  std::size_t at = row.entry.find("\"listener\"");
  row.entry.insert(at, "\"ip\":\"198.51.100.77\",");
  EXPECT_FALSE(parse_entry(row).has_value());
}

// Clear members are kept forever and never shredded: quotes, spaces, control characters and
// query strings cannot get into them (free text goes into the sealed reason).
TEST(AuditJsonl, ClearFieldsRefuseFreeTextQuotesAndControlCharacters) {
  for (auto mutate : std::vector<std::function<void(Event&)>>{
           [](Event& e) { e.outcome_detail = "say \"no\""; },
           [](Event& e) { e.outcome_detail = "line\nbreak"; },
           [](Event& e) {
             e.resource =
                 "Observation/\x7f"
                 "55";
           },
           [](Event& e) { e.resource = "Observation?identifier=MRN123"; },
           [](Event& e) { e.role = "Dr Smith"; }, [](Event& e) { e.request_id = "a\x01b"; },
           [](Event& e) {
             e.released_fields = {"value", ""};
           }}) {
    Event e = full_event();
    mutate(e);
    EXPECT_FALSE(validate(e).has_value());
    EXPECT_FALSE(details_json(e, {}).has_value());
  }
}

TEST(AuditJsonl, RevealsPrivateDetailsOnlyWhenAsked) {
  Event e = full_event();
  e.role = "patient";
  e.source_ip = std::string(kCanaryIp);
  e.reason = std::string(kCanaryReason);
  store::AuditRow row = row_of(e, 8, kSealed);

  std::string sealed_only = to_jsonl(row, context()).value_or("");
  json j = json::parse(sealed_only);
  EXPECT_EQ(j["private"], "sealed");
  EXPECT_EQ(j["source"]["ip"], "");

  int calls = 0;
  ExportContext c = context();
  c.reveal = [&](store::Id lab, std::uint64_t seq,
                 std::string_view sealed) -> model::Result<std::string> {
    ++calls;
    EXPECT_EQ(lab, 3);
    EXPECT_EQ(seq, 8u);
    EXPECT_EQ(sealed, kSealed);
    return private_details(e);  // what Store::open_audit_text gives back
  };
  json revealed = jsonl(row, c);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(revealed["private"], (json{{"ip", kCanaryIp}, {"reason", kCanaryReason}}));

  // FHIR and syslog never open sealed details, even with a reveal function at hand.
  std::string fhir_text = to_fhir_audit_event(row, c).value_or("");
  SyslogEvent s = to_syslog_event(*parse_entry(row), row);
  EXPECT_EQ(calls, 1);
  std::string syslog_text = s.msg + params_text(s);
  for (const std::string& out : {sealed_only, fhir_text, syslog_text}) {
    EXPECT_EQ(out.find("CANARY"), std::string::npos) << out;
    EXPECT_EQ(out.find(kCanaryIp), std::string::npos) << out;
    EXPECT_EQ(out.find("opaque-ciphertext"), std::string::npos) << out;
  }

  c.reveal = [](store::Id, std::uint64_t, std::string_view) -> model::Result<std::string> {
    return model::fail(model::ErrorCode::kKey, "the lab's key was shredded");
  };
  auto failed = to_jsonl(row, c);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, model::ErrorCode::kKey);
}

TEST(AuditFhir, ReadFollowsBalpPatientRead) {
  json r = fhir(row_of(full_event(), 42));
  EXPECT_EQ(r["resourceType"], "AuditEvent");
  EXPECT_EQ(r["id"], "labvault-audit-42");
  EXPECT_EQ(r["type"]["system"], "http://terminology.hl7.org/CodeSystem/audit-event-type");
  EXPECT_EQ(r["type"]["code"], "rest");
  EXPECT_EQ(r["subtype"][0]["system"], "http://hl7.org/fhir/restful-interaction");
  EXPECT_EQ(r["subtype"][0]["code"], "read");
  EXPECT_EQ(r["action"], "R");
  EXPECT_EQ(r["recorded"], "2024-06-01T12:00:00.123456Z");
  EXPECT_EQ(r["outcome"], "0");
  EXPECT_EQ(r["outcomeDesc"], "care-team");
  EXPECT_EQ(r["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
  const json& actor = r["agent"][0];
  EXPECT_EQ(actor["type"]["coding"][0]["code"], "IRCP");
  EXPECT_EQ(actor["who"]["identifier"]["value"], "user:12");
  EXPECT_EQ(actor["requestor"], true);
  EXPECT_EQ(actor["role"][0]["text"], "ordering-provider");
  EXPECT_EQ(actor["network"], (json{{"address", "192.0.2.10"}, {"type", "2"}}));
  EXPECT_EQ(r["agent"][1]["who"]["identifier"]["value"], "client:ehr-3");
  EXPECT_EQ(r["agent"][1]["requestor"], false);
  const json& server = r["agent"][2];
  EXPECT_EQ(server["type"]["coding"][0]["code"], "110153");  // BALP Read: server is the source
  EXPECT_EQ(server["who"]["identifier"]["value"], "node-a");
  EXPECT_EQ(r["source"]["observer"]["display"], "node-a");
  EXPECT_EQ(r["source"]["site"], "acme-lab");
  EXPECT_EQ(r["source"]["type"][0]["code"], "4");
  const json& entity = r["entity"];
  ASSERT_EQ(entity.size(), 3u);
  EXPECT_EQ(entity[0]["what"]["reference"], "Patient/7");
  EXPECT_EQ(entity[0]["type"]["code"], "1");
  EXPECT_EQ(entity[0]["role"]["code"], "1");
  EXPECT_EQ(entity[1]["what"]["reference"], "Observation/55");
  EXPECT_EQ(entity[1]["type"]["code"], "2");
  EXPECT_EQ(entity[1]["role"]["code"], "4");
  EXPECT_EQ(entity[1]["detail"].size(), 3u);
  EXPECT_EQ(entity[1]["detail"][2], (json{{"type", "masked"}, {"valueString", "interpretation"}}));
  EXPECT_EQ(entity[2]["type"]["code"], "XrequestId");
  EXPECT_EQ(entity[2]["what"]["identifier"]["value"], "req-9f2c");
}

TEST(AuditFhir, SearchCreateLoginFailedBreakGlassAndExportCodes) {
  Event search = full_event();
  search.action = Action::kSearch;
  search.resource = "Observation";
  json s = fhir(row_of(search, 1));
  EXPECT_EQ(s["subtype"][0]["code"], "search-type");
  EXPECT_EQ(s["action"], "E");
  EXPECT_EQ(s["agent"][2]["type"]["coding"][0]["code"], "110152");
  EXPECT_EQ(s["entity"][1]["role"]["code"], "24");
  EXPECT_EQ(s["entity"][1]["query"], "T2JzZXJ2YXRpb24=");

  Event create = full_event();
  create.action = Action::kCreate;
  json c = fhir(row_of(create, 2));
  EXPECT_EQ(c["subtype"][0]["code"], "create");
  EXPECT_EQ(c["action"], "C");
  EXPECT_EQ(c["agent"][0]["type"]["coding"][0]["code"], "AUT");

  Event login = full_event();
  login.action = Action::kLoginFailed;
  login.outcome = Outcome::kDenied;
  login.outcome_detail = "bad-password";
  login.patient = 0;
  login.resource.clear();
  json l = fhir(row_of(login, 3));
  EXPECT_EQ(l["type"]["code"], "110114");
  EXPECT_EQ(l["type"]["system"], "http://dicom.nema.org/resources/ontology/DCM");
  EXPECT_EQ(l["subtype"][0]["code"], "110122");
  EXPECT_EQ(l["subtype"][1],
            (json{{"system", "urn:labvault:audit-action"}, {"code", "login-failed"}}));
  EXPECT_EQ(l["action"], "E");
  EXPECT_EQ(l["outcome"], "4");
  EXPECT_EQ(l["outcomeDesc"], "bad-password");
  EXPECT_EQ(l["agent"][0]["type"]["coding"][0]["code"], "humanuser");

  Event glass = full_event();
  glass.action = Action::kBreakGlass;
  glass.purpose = "ETREAT";
  glass.reason = std::string(kCanaryReason);
  json g = fhir(row_of(glass, 4, kSealed));
  EXPECT_EQ(g["type"]["code"], "110113");
  EXPECT_EQ(g["subtype"], (json{{{"system", "http://dicom.nema.org/resources/ontology/DCM"},
                                 {"code", "110127"},
                                 {"display", "Emergency Override Started"}}}));
  EXPECT_EQ(g["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT");
  EXPECT_EQ(g.dump().find("CANARY"), std::string::npos);

  Event exported = full_event();
  exported.action = Action::kExport;
  exported.outcome = Outcome::kError;
  json x = fhir(row_of(exported, 5));
  EXPECT_EQ(x["type"]["code"], "110106");
  EXPECT_FALSE(x.contains("subtype"));
  EXPECT_EQ(x["action"], "R");
  EXPECT_EQ(x["outcome"], "8");
}

// Every action, every outcome, with and without optional parts: all exportable.
std::vector<store::AuditRow> every_kind_of_row() {
  std::vector<store::AuditRow> rows;
  std::uint64_t seq = 0;
  for (int a = 0; a <= static_cast<int>(Action::kAuditExport); ++a) {
    Event e = full_event();
    e.action = static_cast<Action>(a);
    e.outcome = static_cast<Outcome>(a % 3);
    rows.push_back(row_of(e, ++seq));
    Event bare;
    bare.actor = a % 2 ? "client:ehr-3" : "system";
    bare.action = e.action;
    bare.released_fields = {"value"};
    rows.push_back(row_of(bare, ++seq));
  }
  Event patient = full_event();
  patient.role = "patient";
  patient.source_ip = std::string(kCanaryIp);
  patient.resource = "keyring";
  rows.push_back(row_of(patient, ++seq, kSealed));
  return rows;
}

TEST(AuditFhir, EveryActionHasCodes) {
  for (const store::AuditRow& row : every_kind_of_row()) {
    auto text = to_fhir_audit_event(row, context());
    ASSERT_TRUE(text.has_value()) << row.action << ": " << text.error().to_string();
    json r = json::parse(*text);
    EXPECT_TRUE(r["action"] == "C" || r["action"] == "R" || r["action"] == "U" ||
                r["action"] == "D" || r["action"] == "E");
    EXPECT_EQ(r["agent"][0]["requestor"], true);
    EXPECT_EQ(r.dump().find(kCanaryIp), std::string::npos);
  }
}

// Runs tests/fhir_schema/validate.mjs (ajv + the official R4 JSON schema) over files in a temp
// directory; skips only when node is not installed.
TEST(AuditFhir, EveryAuditEventIsValidR4) {
  if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  std::filesystem::path source(LABVAULT_SOURCE_DIR);
  std::filesystem::path validator = source / "tests/fhir_schema/validate.mjs";
  if (!std::filesystem::exists(validator.parent_path() / "node_modules/ajv/package.json")) {
    std::string install =
        fmt::format("npm ci --prefix '{}' > /dev/null 2>&1", validator.parent_path().string());
    ASSERT_EQ(std::system(install.c_str()), 0) << "npm ci --prefix tests/fhir_schema failed";
  }
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("labvault_audit_fhir_{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::string command = fmt::format("FHIR_SCHEMA='{}/fhir/fhir.schema.json' node '{}'",
                                    LABVAULT_TESTDATA, validator.string());
  for (const store::AuditRow& row : every_kind_of_row()) {
    std::filesystem::path file = dir / fmt::format("audit-{}.json", row.seq);
    std::ofstream(file) << to_fhir_audit_event(row, context()).value_or("{}");
    command += " '" + file.string() + "'";
  }
  std::filesystem::path log = dir / "validator.log";
  command += " > '" + log.string() + "' 2>&1";
  int status = std::system(command.c_str());
  std::ifstream in(log);
  std::string output(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find(" 0 failed"), std::string::npos) << output;
}

TEST(AuditSyslog, SeverityFollowsOutcomeAndBreakGlassIsAlwaysAWarning) {
  auto severity = [](Action a, Outcome o) {
    Event e = full_event();
    e.action = a;
    e.outcome = o;
    store::AuditRow row = row_of(e, 1);
    return to_syslog_event(*parse_entry(row), row).severity;
  };
  EXPECT_EQ(severity(Action::kRead, Outcome::kSuccess), 6);
  EXPECT_EQ(severity(Action::kRead, Outcome::kDenied), 5);
  EXPECT_EQ(severity(Action::kRead, Outcome::kError), 4);
  EXPECT_EQ(severity(Action::kBreakGlass, Outcome::kSuccess), 4);
  EXPECT_EQ(severity(Action::kBreakGlass, Outcome::kDenied), 4);
}

TEST(AuditSyslog, ParamsHoldTheClearFieldsAndTheMessageNoPhi) {
  Event e = full_event();
  e.outcome = Outcome::kDenied;
  e.outcome_detail = "no-care-relationship";
  store::AuditRow row = row_of(e, 31);
  SyslogEvent s = to_syslog_event(*parse_entry(row), row);
  EXPECT_EQ(s.seq, 31u);
  EXPECT_EQ(s.time_us, e.time_us);
  EXPECT_EQ(s.msgid, "read");
  EXPECT_EQ(params_text(s),
            "lab=3 actor=user:12 role=ordering-provider patient=7 resource=Observation/55 "
            "outcome=denied detail=no-care-relationship purpose=TREAT request_id=req-9f2c "
            "ip=192.0.2.10 chain=" +
                kChainHex + " ");
  EXPECT_EQ(s.msg, "user:12 read Observation/55: denied (no-care-relationship)");

  e.role = "patient";  // the IP is sealed: no ip param
  e.resource.clear();
  e.outcome_detail.clear();
  row = row_of(e, 32, kSealed);
  s = to_syslog_event(*parse_entry(row), row);
  EXPECT_EQ(params_text(s).find("ip="), std::string::npos);
  EXPECT_EQ(s.msg, "user:12 read: denied");
}

}  // namespace
}  // namespace labvault::audit
