// End to end over real TLS sockets (DESIGN.md invariants 3, 4, 6, 7, 9): results sent over MLLP
// with TLS are read back over HTTPS/FHIR by people of different roles and by a SMART client, on
// a real store and audit log, with an injected clock for TOTP codes and session expiry. Every
// FHIR body the server sends is validated against the official R4 JSON schema (ajv).
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "support/api_fixture.hpp"

namespace labvault::testing {
namespace {

using nlohmann::json;

TEST_F(ApiE2e, OruOverMllpIsReadBackByRoleOverHttps) {
  ASSERT_NE(send_oru(CanaryPatient{}, "E2E-1").find("MSA|AA"), std::string::npos);
  const store::Id patient = only_patient(lab_);
  const std::string obs = fhir_id(lab_, patient, "Observation");

  // The ordering provider with a care relationship: every field, values included.
  Person prov = add("prov", "ordering-provider");
  assign_care("prov", patient);
  auto provider = login(prov);
  auto all = provider->get(fmt::format("/fhir/LAB1/Observation?patient={}", patient));
  ASSERT_EQ(all.status, 200) << all.body;
  json bundle = json::parse(all.body);
  EXPECT_EQ(bundle["total"], 2);
  EXPECT_NE(all.body.find(R"("valueQuantity")"), std::string::npos);
  EXPECT_NE(all.body.find("11.2"), std::string::npos);
  EXPECT_EQ(all.body.find("REDACTED"), std::string::npos);
  auto demographics = provider->get(fmt::format("/fhir/LAB1/Patient/{}", patient));
  ASSERT_EQ(demographics.status, 200);
  EXPECT_NE(demographics.body.find("CANARYFAMILYQZX"), std::string::npos);

  // Billing: the same results without values, names or notes; what was withheld is labelled.
  Person bill = add("bill", "billing");
  auto billing = login(bill);
  auto masked = billing->get("/fhir/LAB1/Observation/" + obs);
  ASSERT_EQ(masked.status, 200) << masked.body;
  EXPECT_EQ(masked.body.find("valueQuantity"), std::string::npos);
  EXPECT_EQ(masked.body.find("11.2"), std::string::npos);
  EXPECT_NE(masked.body.find(R"("code":"masked")"), std::string::npos);
  EXPECT_NE(masked.body.find(R"("code":"REDACTED")"), std::string::npos);
  auto billed = billing->get(fmt::format("/fhir/LAB1/Patient/{}", patient));
  ASSERT_EQ(billed.status, 200);
  EXPECT_EQ(billed.body.find("CANARYFAMILYQZX"), std::string::npos);
  EXPECT_EQ(billed.body.find("CANARYSTREET"), std::string::npos);

  // Another lab's person: the resource does not exist, whichever base they ask.
  Person other = add("other", "ordering-provider", other_lab_);
  auto stranger = login(other);
  EXPECT_EQ(stranger->get("/fhir/LAB1/Observation/" + obs).status, 404);
  EXPECT_EQ(stranger->get("/fhir/LAB2/Observation/" + obs).status, 404);
  EXPECT_EQ(stranger->get(fmt::format("/fhir/LAB1/Observation?patient={}", patient)).status, 404);
  // Nothing in another lab's base can tell an existing patient from a missing one.
  EXPECT_EQ(stranger->get("/fhir/LAB1/Observation?patient=999999").status, 404);
  EXPECT_EQ(stranger->get("/fhir/LAB1/Observation").status, 404);
  EXPECT_EQ(stranger
                ->request("POST", fmt::format("/fhir/LAB1/Patient/{}/$unmask", patient), "{}",
                          "application/fhir+json", stranger->csrf_headers())
                .status,
            404);
  EXPECT_GE(audit_rows("read", "other-lab", actor_of("other")), 4);

  // A clinician without a relationship is denied; break-glass (reason + fresh reauth) opens the
  // record, and the read is flagged in the audit log.
  Person clin = add("clin", "care-team-clinician");
  auto clinician = login(clin);
  EXPECT_EQ(clinician->get("/fhir/LAB1/Observation/" + obs).status, 403);
  advance(6 * 60);  // the login's password and code no longer count as a recent proof
  const std::string glass = fmt::format("/fhir/LAB1/Patient/{}/$break-glass", patient);
  const std::string reason =
      R"({"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"unconscious in ED"}]})";
  EXPECT_EQ(
      clinician->request("POST", glass, reason, "application/fhir+json", clinician->csrf_headers())
          .status,
      403);  // no recent re-authentication
  advance(31);
  auto re = clinician->post_json("/auth/reauth",
                                 json{{"password", clin.password}, {"code", code(clin, 0)}}.dump());
  ASSERT_EQ(re.status, 200) << re.body;
  auto granted =
      clinician->request("POST", glass, reason, "application/fhir+json", clinician->csrf_headers());
  ASSERT_EQ(granted.status, 200) << granted.body;
  collect(granted);
  auto opened = clinician->get("/fhir/LAB1/Observation/" + obs);
  ASSERT_EQ(opened.status, 200) << opened.body;
  EXPECT_NE(opened.body.find("11.2"), std::string::npos);
  EXPECT_EQ(audit_rows("read", "break-glass", actor_of("clin")), 1);
  EXPECT_GE(audit_rows("read", "denied", actor_of("clin")), 1);
  validate_collected();
}

TEST_F(ApiE2e, EveryReleaseAndDenialIsAuditedWithTheRequestId) {
  ASSERT_NE(send_oru(CanaryPatient{}, "AUD-1").find("MSA|AA"), std::string::npos);
  const store::Id patient = only_patient(lab_);
  Person tech = add("tech", "lab-technologist");
  auto t = login(tech);
  auto r = t->get("/fhir/LAB1/Observation/" + fhir_id(lab_, patient, "Observation"));
  ASSERT_EQ(r.status, 200);
  const std::string rid = r.header("x-request-id");
  ASSERT_EQ(rid.size(), 32u);
  auto rows = store_->read_audit(1, 100000);
  ASSERT_TRUE(rows.has_value());
  int found = 0;
  for (const auto& row : *rows)
    if (row.action == "read" && row.entry.find(rid) != std::string::npos) {
      ++found;
      EXPECT_EQ(row.patient_id, patient);
      EXPECT_NE(row.entry.find(R"("released":["Observation.code")"), std::string::npos)
          << row.entry;
    }
  EXPECT_EQ(found, 1);
  Person bill = add("bill", "billing");
  auto b = login(bill);
  auto denied = b->request("GET", "/fhir/LAB1/Observation/" + fhir_id(lab_, patient, "Observation"),
                           "", "", {{"X-Purpose-Of-Use", "TREAT"}});  // not billing's purpose
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(audit_rows("read", denied.header("x-request-id"), actor_of("bill")), 1);
}

TEST_F(ApiE2e, SecurityHeadersOnEveryResponseIncludingTheListenersOwn) {
  auto c = client();
  std::vector<HttpsReply> replies = {
      c->get("/fhir/LAB1/metadata"),                                                         // 200
      c->get("/nowhere"),                                                                    // 404
      c->get("/fhir/LAB1/Observation/1"),                                                    // 401
      c->request("POST", "/auth/login", std::string(300 * 1024, 'x'), "application/json")};  // 413
  EXPECT_EQ(replies[0].status, 200);
  EXPECT_EQ(replies[1].status, 404);
  EXPECT_EQ(replies[2].status, 401);
  EXPECT_EQ(replies[3].status, 413);
  std::set<std::string> ids;
  for (const HttpsReply& r : replies) {
    EXPECT_EQ(r.header("strict-transport-security"), "max-age=31536000; includeSubDomains");
    EXPECT_NE(r.header("content-security-policy").find("default-src 'self'"), std::string::npos);
    EXPECT_NE(r.header("content-security-policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r.header("cache-control"), "no-store");
    ids.insert(r.header("x-request-id"));
  }
  EXPECT_EQ(ids.size(), replies.size());  // a fresh id each time
  collect(replies[1]);
  collect(replies[2]);
  validate_collected();
}

TEST_F(ApiE2e, SessionEndsAfterFifteenIdleMinutes) {
  Person tech = add("tech", "lab-technologist");
  auto t = login(tech);
  EXPECT_EQ(t->get("/fhir/LAB1/Patient").status, 200);
  advance(14 * 60);
  EXPECT_EQ(t->get("/fhir/LAB1/Patient").status, 200);  // activity resets the idle clock
  advance(15 * 60 + 1);
  auto expired = t->get("/fhir/LAB1/Patient");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.header("www-authenticate"), "Bearer");
  EXPECT_GE(audit_count("session-timeout", ""), 1);
}

TEST_F(ApiE2e, StateChangingRequestsNeedTheCsrfToken) {
  ASSERT_NE(send_oru(CanaryPatient{}, "CSRF-1").find("MSA|AA"), std::string::npos);
  const store::Id patient = only_patient(lab_);
  Person clin = add("clin", "care-team-clinician");
  auto c = login(clin);
  advance(31);
  const std::string body = json{{"password", clin.password}, {"code", code(clin, 0)}}.dump();
  EXPECT_EQ(c->request("POST", "/auth/reauth", body, "application/json").status, 403);
  // A cross-site form cannot send JSON: other content types are refused before anything else.
  EXPECT_EQ(client()->request("POST", "/auth/login", body, "text/plain").status, 415);
  EXPECT_EQ(c->request("POST", "/auth/reauth", body, "application/json",
                       {{"X-CSRF-Token", std::string(64, '0')}})
                .status,
            403);
  EXPECT_EQ(c->request("POST", fmt::format("/fhir/LAB1/Patient/{}/$break-glass", patient),
                       R"({"resourceType":"Parameters"})", "application/fhir+json")
                .status,
            403);
  auto ok = c->post_json("/auth/reauth", body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  // A bearer token is not a cookie a browser sends by itself: no CSRF token needed (below).
}

TEST_F(ApiE2e, RateLimitsAnswer429WithRetryAfter) {
  // A listener of its own with small buckets: 3 requests per address, then 2 per person.
  auto limited = start_api({.per_ip = {0.5, 3.0}, .per_principal = {1000, 1000}});
  HttpsClient anon(limited->port(), pki_.ca.string());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(anon.get("/healthz").status, 200);
  auto refused = anon.get("/healthz");
  EXPECT_EQ(refused.status, 429);
  EXPECT_GE(std::stoi(refused.header("retry-after")), 1);
  EXPECT_EQ(refused.header("x-content-type-options"), "nosniff");

  auto per_person = start_api({.per_ip = {1000, 1000}, .per_principal = {0.5, 2.0}});
  Person tech = add("tech", "lab-technologist");
  auto t = login(tech, per_person->port());
  EXPECT_EQ(t->get("/fhir/LAB1/Patient").status, 200);
  EXPECT_EQ(t->get("/fhir/LAB1/Patient").status, 200);
  auto throttled = t->get("/fhir/LAB1/Patient");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_GE(std::stoi(throttled.header("retry-after")), 1);
  collect(throttled);
  validate_collected();
}

TEST_F(ApiE2e, SmartBackendServiceReadsWithinItsScopes) {
  ASSERT_NE(send_oru(CanaryPatient{}, "SMART-1").find("MSA|AA"), std::string::npos);
  const store::Id patient = only_patient(lab_);
  auto c = client();
  auto discovery = c->get("/.well-known/smart-configuration");
  ASSERT_EQ(discovery.status, 200);
  EXPECT_EQ(json::parse(discovery.body)["token_endpoint"], kTokenEndpoint);
  register_client("ehr-1", "system/Observation.rs system/DiagnosticReport.rs");
  auto token = c->request("POST", "/auth/token", token_form("ehr-1", "jti-1"),
                          "application/x-www-form-urlencoded");
  ASSERT_EQ(token.status, 200) << token.body;
  c->bearer = json::parse(token.body)["access_token"];
  // The same assertion again is refused (one-time jti).
  auto replay = c->request("POST", "/auth/token", token_form("ehr-1", "jti-1"),
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(json::parse(replay.body)["error"], "invalid_client");

  auto obs = c->get("/fhir/LAB1/Observation/" + fhir_id(lab_, patient, "Observation"));
  EXPECT_EQ(obs.status, 200) << obs.body;
  EXPECT_EQ(c->get("/fhir/LAB1/Specimen/" + fhir_id(lab_, patient, "Specimen")).status, 403);
  EXPECT_EQ(c->get("/fhir/LAB2/Observation/" + fhir_id(lab_, patient, "Observation")).status, 404);
  // Writing takes a create scope for every kind written: Observation.c alone does not let a
  // transaction Bundle create its DiagnosticReport.
  register_client("lis-1", "system/Observation.c");
  auto lis = client();
  auto lis_token = lis->request("POST", "/auth/token", token_form("lis-1", "jti-2"),
                                "application/x-www-form-urlencoded");
  ASSERT_EQ(lis_token.status, 200) << lis_token.body;
  lis->bearer = json::parse(lis_token.body)["access_token"];
  CanaryPatient q;
  q.mrn = "CANARYMRN7701";
  auto refused = lis->request("POST", "/fhir/LAB1", bundle_of(oru(q, "LIS-1", "FL-LIS-1")),
                              "application/fhir+json");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("DiagnosticReport"), std::string::npos);
  EXPECT_EQ(store_->list_patients(lab_)->size(), 1u);
  // A client is not a person: no break-glass.
  EXPECT_EQ(c->request("POST", fmt::format("/fhir/LAB1/Patient/{}/$break-glass", patient),
                       R"({"resourceType":"Parameters"})", "application/fhir+json")
                .status,
            403);
  collect(obs);
  validate_collected();
}

TEST_F(ApiE2e, FhirWritesGoThroughTheIngestPathAndBadInputChangesNothing) {
  Person tech = add("tech", "lab-technologist");
  auto t = login(tech);
  CanaryPatient p;
  auto bundle = bundle_of(oru(p, "TX-1"));
  auto tx = t->request("POST", "/fhir/LAB1", bundle, "application/fhir+json", t->csrf_headers());
  ASSERT_EQ(tx.status, 200) << tx.body;
  json answer = json::parse(tx.body);
  EXPECT_EQ(answer["type"], "transaction-response");
  std::string observation;
  for (const auto& e : answer["entry"]) {
    std::string loc = e["response"]["location"];
    if (loc.starts_with("Observation/")) observation = loc;
  }
  ASSERT_FALSE(observation.empty()) << tx.body;
  auto read = t->get("/fhir/LAB1/" + observation);
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(audit_count("import", "https"), 1);

  // A lone Observation for that patient, by reference.
  const store::Id patient = only_patient(lab_);
  const std::string single = fmt::format(
      R"({{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"2345-7"}}]}},"subject":{{"reference":"Patient/{}"}},"effectiveDateTime":"2026-11-25T07:15:00-05:00","valueQuantity":{{"value":5.4,"unit":"mmol/L"}}}})",
      patient);
  auto created = t->request("POST", "/fhir/LAB1/Observation", single, "application/fhir+json",
                            t->csrf_headers());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.header("location").find("/fhir/LAB1/Observation/"), std::string::npos);
  EXPECT_EQ(store_->list_patients(lab_)->size(), 1u);

  // Broken input: an OperationOutcome naming where, and nothing stored or changed.
  const auto before = store_->last_audit();
  auto bad = t->request("POST", "/fhir/LAB1", R"({"resourceType":"Bundle","type":"transaction",
      "entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
      "valueQuantity":{"value":"CANARYVALUE"}}}]})",
                        "application/fhir+json", t->csrf_headers());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("OperationOutcome"), std::string::npos);
  EXPECT_EQ(bad.body.find("CANARYVALUE"), std::string::npos);
  EXPECT_EQ(store_->list_patients(lab_)->size(), 1u);
  // A transaction of two patients stores both (each message deduplicated on its own content).
  CanaryPatient second;
  second.mrn = "CANARYMRN9902";
  const std::string two = bundle_of(oru(p, "TX-2", "FL-TX-2"));
  json both = json::parse(two);
  json other = json::parse(bundle_of(oru(second, "TX-3", "FL-TX-3")));
  for (auto& e : other["entry"]) both["entry"].push_back(e);
  auto pair =
      t->request("POST", "/fhir/LAB1", both.dump(), "application/fhir+json", t->csrf_headers());
  ASSERT_EQ(pair.status, 200) << pair.body;
  EXPECT_EQ(store_->list_patients(lab_)->size(), 2u);
  // Billing may not submit results.
  Person bill = add("bill", "billing");
  auto b = login(bill);
  EXPECT_EQ(
      b->request("POST", "/fhir/LAB1", bundle, "application/fhir+json", b->csrf_headers()).status,
      403);
  (void)before;
  collect(tx);
  collect(read);
  collect(bad);
  validate_collected();
}

TEST_F(ApiE2e, NoPhiInAccessLogMetricsOrLinks) {
  CanaryPatient p;
  ASSERT_NE(send_oru(p, "LOG-1").find("MSA|AA"), std::string::npos);
  Person tech = add("tech", "lab-technologist");
  auto t = login(tech);
  // An identifier search by POST keeps the MRN out of the URL; the links leave it out too.
  // A search that finds nothing is a question asked all the same: on record.
  auto none = t->request("POST", "/fhir/LAB1/Patient/_search",
                         "identifier=urn%3Alabvault%3Aassigner%3ALAB1%7CNOSUCHMRN",
                         "application/x-www-form-urlencoded", t->csrf_headers());
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(json::parse(none.body)["total"], 0);
  EXPECT_EQ(audit_rows("search", none.header("x-request-id"), actor_of("tech")), 1);
  auto found = t->request("POST", "/fhir/LAB1/Patient/_search",
                          "identifier=urn%3Alabvault%3Aassigner%3ALAB1%7C" + p.mrn,
                          "application/x-www-form-urlencoded", t->csrf_headers());
  ASSERT_EQ(found.status, 200) << found.body;
  json b = json::parse(found.body);
  EXPECT_EQ(b["total"], 1);
  for (const auto& link : b["link"])
    EXPECT_EQ(link["url"].get<std::string>().find(p.mrn), std::string::npos);
  (void)t->get("/fhir/LAB1/Patient?identifier=urn:labvault:assigner:LAB1|" + p.mrn);
  auto metrics = client()->get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("labvault_http_requests_total{route=\"/fhir/{lab}/Patient/_search\""),
            std::string::npos);
  std::string logs = access_log();
  ASSERT_FALSE(logs.empty());
  for (const std::string& canary : {p.mrn, p.family, p.given, std::string("?")}) {
    EXPECT_EQ(logs.find(canary), std::string::npos) << canary;
    EXPECT_EQ(metrics.body.find(canary), std::string::npos) << canary;
  }
  collect(found);
  validate_collected();
}

}  // namespace
}  // namespace labvault::testing
