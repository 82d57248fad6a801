// Test fixture for the HTTPS API end to end: the identity fixture's store, audit log and clock,
// plus SMART clients, the access service, the ingest pipeline behind an MLLP listener with TLS,
// and the api on an HTTPS listener with TLS, all on ephemeral ports of 127.0.0.1 with a
// throwaway PKI. Helpers log people in over HTTPS and validate collected FHIR bodies with ajv.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "access/access.hpp"
#include "access/clients.hpp"
#include "api/api.hpp"
#include "fhir/fhir.hpp"
#include "ingest/pipeline.hpp"
#include "net/http_server.hpp"
#include "net/mllp_client.hpp"
#include "net/mllp_server.hpp"
#include "support/https_client.hpp"
#include "support/identity_fixture.hpp"
#include "support/jwt_signer.hpp"
#include "support/test_certs.hpp"

namespace labvault::testing {

inline constexpr const char* kTokenEndpoint = "https://127.0.0.1/auth/token";

struct Limits {
  net::RateLimit per_ip{10000, 10000};
  net::RateLimit per_principal{10000, 10000};
};

// One api on one HTTPS listener.
struct Served {
  std::unique_ptr<api::Api> api;
  std::unique_ptr<net::HttpServer> server;
  [[nodiscard]] std::uint16_t port() const { return server->port(); }
  ~Served() {
    if (server) server->stop();
  }
};

class ApiE2e : public IdentityFixture {
 protected:
  using Person = IdentityFixture::Person;

  void SetUp() override {
    IdentityFixture::SetUp();
    if (HasFatalFailure()) return;
    std::filesystem::create_directories(StoreTest::root_ / "pki");
    pki_ = make_test_pki(StoreTest::root_ / "pki", "t-");
    auto clock = [this] { return now_us_; };
    clients_ = std::make_unique<access::Clients>(
        *store_, *log_, *identity_,
        access::ClientOptions{kTokenEndpoint, std::chrono::seconds(300), clock});
    access::AccessOptions ao;
    ao.clock = clock;
    access_ = std::make_unique<access::Access>(*store_, *log_, *identity_,
                                               access::Policy::defaults(), ao);
    ingest::Options io;
    io.senders = {{"analyzer-1", lab_, "ANALYZER", "LAB1", ""},
                  {"analyzer-2", other_lab_, "ANALYZER", "LAB2", ""}};
    pipeline_ = std::make_unique<ingest::Pipeline>(*store_, *log_, io);
    pipeline_->start();
    net::MllpServerOptions mo;
    mo.port = 0;
    mo.tls = net::TlsServerOptions{pki_.server_cert.string(), pki_.server_key.string(), {}};
    mllp_ = std::make_unique<net::MllpServer>(
        mo, [this](const net::MllpPeer& peer, std::string frame, net::MllpReply reply) {
          pipeline_->submit(std::move(frame), {"mllp", peer.remote_address, ""}, std::move(reply));
        });
    ASSERT_TRUE(mllp_->start());
    ASSERT_NE(start_api({}), nullptr);
  }

  void TearDown() override {
    extra_.clear();
    served_.reset();
    if (mllp_) mllp_->stop();
    if (pipeline_) pipeline_->stop();
    access_.reset();
    clients_.reset();
    IdentityFixture::TearDown();
  }

  // Another api on its own listener, sharing the services (for limits).
  Served* start_api(Limits limits) {
    auto s = std::make_unique<Served>();
    api::ApiOptions o;
    o.public_origin = "https://127.0.0.1";
    o.token_endpoint = kTokenEndpoint;
    o.per_principal = limits.per_principal;
    o.access_log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      access_log_ += line + "\n";
    };
    s->api = std::make_unique<api::Api>(*store_, *log_, *identity_, *clients_, *access_, o);
    net::HttpServerOptions so;
    so.port = 0;
    so.tls = net::TlsServerOptions{pki_.server_cert.string(), pki_.server_key.string(), {}};
    so.max_body_bytes = 256 * 1024;
    so.per_ip = limits.per_ip;
    so.response_headers = api::Api::security_headers();
    api::Api* a = s->api.get();
    s->server = std::make_unique<net::HttpServer>(
        so, [a](const net::HttpRequest& r) { return a->handle(r); },
        [a](net::HttpRefusal why, std::string_view) { a->count_refusal(why); });
    auto started = s->server->start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    if (!started) return nullptr;
    if (!served_) return (served_ = std::move(s)).get();
    extra_.push_back(std::move(s));
    return extra_.back().get();
  }

  std::unique_ptr<HttpsClient> client(std::uint16_t port = 0) {
    return std::make_unique<HttpsClient>(port ? port : served_->port(), pki_.ca.string());
  }

  // A person of `lab` (default LAB1) with `role`, created by the operator and enrolled in TOTP.
  Person add(const std::string& username, const std::string& role, store::Id lab = 0) {
    access::NewUser u{username, "Test Person", "", "", false, {{lab ? lab : lab_, role}}};
    auto created = identity_->create_by_operator(u, "cli:0", ctx_);
    EXPECT_TRUE(created.has_value()) << (created ? "" : created.error().message);
    return created ? enroll(username, created->initial_password) : Person{};
  }

  // Logs in over HTTPS with password and a fresh TOTP step.
  std::unique_ptr<HttpsClient> login(const Person& p, std::uint16_t port = 0) {
    auto c = client(port);
    advance(31);  // each TOTP step is accepted once per person
    auto r = c->request(
        "POST", "/auth/login",
        nlohmann::json{{"username", p.username}, {"password", p.password}, {"code", code(p, 0)}}
            .dump(),
        "application/json");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.header("set-cookie").find("Secure; HttpOnly; SameSite=Strict"), std::string::npos);
    if (r.status == 200) c->csrf = nlohmann::json::parse(r.body)["csrf_token"];
    return c;
  }

  std::string send_oru(const CanaryPatient& p, const std::string& control,
                       const std::string& facility = "LAB1") {
    net::MllpClientOptions o;
    o.host = "127.0.0.1";
    o.port = mllp_->port();
    o.tls = net::TlsClientOptions{pki_.ca.string(), "", "", ""};
    auto c = net::MllpClient::connect(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    if (!c) return {};
    std::string message = oru(p, control, "FL-" + control);
    if (facility != "LAB1") {
      const auto at = message.find("|ANALYZER|LAB1|");
      message.replace(at, 15, "|ANALYZER|" + facility + "|");
    }
    auto ack = c->send(message);
    EXPECT_TRUE(ack.has_value()) << (ack ? "" : ack.error().message);
    return ack ? *ack : "";
  }

  store::Id only_patient(store::Id lab) {
    auto ids = store_->list_patients(lab);
    EXPECT_TRUE(ids.has_value());
    EXPECT_FALSE(!ids || ids->empty());
    return ids && !ids->empty() ? ids->front() : 0;
  }

  // The first stored id of `kind` in a patient's record, as text.
  std::string fhir_id(store::Id lab, store::Id patient, std::string_view kind) {
    auto r = store_->read_patient(lab, patient);
    EXPECT_TRUE(r.has_value());
    if (!r) return "0";
    if (kind == "Patient") return std::to_string(r->id);
    if (kind == "ServiceRequest" && !r->orders.empty()) return std::to_string(r->orders[0].id);
    if (r->reports.empty()) return "0";
    const store::StoredReport& rep = r->reports[0];
    if (kind == "DiagnosticReport") return std::to_string(rep.id);
    if (kind == "Observation" && !rep.observation_ids.empty())
      return std::to_string(rep.observation_ids[0]);
    if (kind == "Specimen" && !rep.specimen_ids.empty()) return std::to_string(rep.specimen_ids[0]);
    return "0";
  }

  store::Id user_id(const std::string& username) {
    auto s = identity_->subject_of(username);
    EXPECT_TRUE(s.has_value());
    return s ? s->user : 0;
  }
  std::string actor_of(const std::string& username) {
    return fmt::format("user:{}", user_id(username));
  }

  void assign_care(const std::string& username, store::Id patient) {
    store::CareAssignment a{
        0, user_id(username), lab_, patient, now_us_ - kS, now_us_ + 24 * 3600 * kS, "test"};
    ASSERT_TRUE(store_->add_care_assignment(a).has_value());
  }

  // Audit records of `action` by `actor` whose details or outcome mention `detail`.
  int audit_rows(std::string_view action, std::string_view detail, std::string_view actor) {
    auto rows = store_->read_audit(1, 1000000);
    EXPECT_TRUE(rows.has_value());
    int n = 0;
    for (const auto& r : *rows)
      n += r.action == action && r.actor == actor &&
           (r.entry.find(detail) != std::string::npos || r.outcome == detail);
    return n;
  }

  void register_client(const std::string& id, const std::string& scopes) {
    if (root_.token.empty()) make_root();
    auto added = clients_->add(root_subject(), {id, lab_, "EHR", signer_.jwks("k1"), scopes}, ctx_);
    ASSERT_TRUE(added.has_value()) << added.error().message;
  }
  std::string token_form(const std::string& client_id, const std::string& jti) {
    const std::int64_t now = now_us_ / kS;
    nlohmann::json claims = {{"iss", client_id}, {"sub", client_id}, {"aud", kTokenEndpoint},
                             {"jti", jti},       {"exp", now + 240}, {"iat", now}};
    std::string jwt = signer_.sign({{"alg", "RS384"}, {"typ", "JWT"}, {"kid", "k1"}}, claims);
    return "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
           "client-assertion-type%3Ajwt-bearer&client_assertion=" +
           jwt;
  }

  std::string bundle_of(const std::string& hl7_text) {
    auto m = hl7::parse_to_model(hl7_text, "test");
    EXPECT_TRUE(m.has_value());
    auto b = fhir::to_bundle(*m, {});
    EXPECT_TRUE(b.has_value());
    return b ? *b : "";
  }

  std::string access_log() {
    std::lock_guard lock(log_mu_);
    return access_log_;
  }

  // FHIR bodies to validate against the R4 JSON schema at the end of the test.
  void collect(const HttpsReply& r) {
    if (r.header("content-type").starts_with("application/fhir+json")) bodies_.push_back(r.body);
  }
  void validate_collected() {
    ASSERT_FALSE(bodies_.empty());
    std::filesystem::path dir = StoreTest::root_ / "fhir-out";
    std::filesystem::create_directories(dir);
    std::string files;
    for (std::size_t i = 0; i < bodies_.size(); ++i) {
      std::filesystem::path f = dir / fmt::format("{}.json", i);
      std::ofstream(f) << bodies_[i];
      files += " " + f.string();
    }
    std::string cmd = fmt::format(
        "FHIR_SCHEMA={}/fhir/fhir.schema.json node {}/tests/fhir_schema/validate.mjs{} >{} 2>&1",
        LABVAULT_TESTDATA, LABVAULT_SOURCE_DIR, files, (dir / "ajv.txt").string());
    const int rc = std::system(cmd.c_str());
    std::ifstream in(dir / "ajv.txt");
    std::string out((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(rc, 0) << out;
  }

  TestPki pki_;
  TestSigner signer_ = TestSigner::rsa(2048);
  std::unique_ptr<access::Clients> clients_;
  std::unique_ptr<access::Access> access_;
  std::unique_ptr<ingest::Pipeline> pipeline_;
  std::unique_ptr<net::MllpServer> mllp_;
  std::unique_ptr<Served> served_;
  std::vector<std::unique_ptr<Served>> extra_;
  std::vector<std::string> bodies_;
  std::mutex log_mu_;
  std::string access_log_;
};

}  // namespace labvault::testing
