// SMART Backend Services on a real store and audit log: a registered client trades a signed
// assertion for a short-lived token; bad signatures, wrong audience, expiry, replayed jti,
// unknown and revoked clients and `alg: none` are refused and audited.
#include "access/clients.hpp"

#include <gtest/gtest.h>

#include "audit/log.hpp"
#include "crypto/totp.hpp"
#include "support/jwt_signer.hpp"
#include "support/store_fixture.hpp"

namespace labvault::testing {
namespace {

using access::TokenRequest;
using model::ErrorCode;
constexpr std::int64_t kS = 1'000'000;
constexpr const char* kEndpoint = "https://labvault.example.org/auth/token";
constexpr const char* kBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

class ClientsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto log = audit::Log::open(*store_, *keyring_, {});
    ASSERT_TRUE(log.has_value());
    log_ = std::move(*log);
    access::IdentityOptions io;
    io.clock = [this] { return now_us_; };
    io.password_params = {256, 1, 1};
    identity_ = std::make_unique<access::Identity>(*store_, *log_, keyring_->blind_indexer(), io);
    clients_ = std::make_unique<access::Clients>(
        *store_, *log_, *identity_,
        access::ClientOptions{kEndpoint, std::chrono::seconds(300), [this] { return now_us_; }});
    auto root = identity_->bootstrap_admin({"root", "", "", "", true, {}}, "cli:0", ctx_);
    ASSERT_TRUE(root.has_value());
    auto login = identity_->login("root", root->initial_password, "", ctx_);
    ASSERT_TRUE(login.has_value());
    auto e = identity_->begin_mfa_enrollment(login->token, ctx_);
    auto secret = crypto::base32_decode(e->secret_base32);
    auto code = crypto::totp_code(*secret, now_us_ / kS);
    ASSERT_TRUE(identity_->finish_mfa_enrollment(login->token, *code, ctx_));
    auto admin = identity_->authenticate(login->token, ctx_);
    ASSERT_TRUE(admin.has_value());
    admin_ = *admin;
    auto id = clients_->add(admin_,
                            {"ehr-1", lab_, "Hospital EHR", signer_.jwks("k1"),
                             "system/Observation.rs system/DiagnosticReport.rs"},
                            ctx_);
    ASSERT_TRUE(id.has_value()) << id.error().message;
  }
  void TearDown() override {
    clients_.reset();
    identity_.reset();
    log_.reset();
    StoreTest::TearDown();
  }

  nlohmann::json claims(const std::string& jti) const {
    std::int64_t now = now_us_ / kS;
    return {{"iss", "ehr-1"}, {"sub", "ehr-1"},   {"aud", kEndpoint},
            {"jti", jti},     {"exp", now + 240}, {"iat", now}};
  }
  std::string assertion(const nlohmann::json& c, const std::string& alg = "RS384") const {
    return signer_.sign({{"alg", alg}, {"typ", "JWT"}, {"kid", "k1"}}, c);
  }
  model::Result<access::TokenGrant> ask(const std::string& jwt, const std::string& scope = "") {
    return clients_->issue_token({"client_credentials", kBearer, jwt, scope}, ctx_);
  }
  int rejections(std::string_view detail) {
    auto rows = store_->read_audit(1, 100000);
    int n = 0;
    for (const auto& r : *rows) {
      n += r.action == "token-reject" && r.entry.find(detail) != std::string::npos;
    }
    return n;
  }

  TestSigner signer_ = TestSigner::rsa(2048);
  access::RequestContext ctx_{"10.9.8.7", "https", "req-7"};
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<access::Identity> identity_;
  std::unique_ptr<access::Clients> clients_;
  access::Subject admin_;
};

TEST_F(ClientsTest, AValidAssertionGetsAFiveMinuteTokenBoundToTheLabWithGrantedScopes) {
  auto grant = ask(assertion(claims("jti-1")), "system/Observation.rs system/Patient.rs");
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  EXPECT_EQ(grant->expires_in, 300);
  EXPECT_EQ(grant->scope, "system/Observation.rs");  // Patient was never registered
  auto who = clients_->check_token(grant->access_token, ctx_);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->lab, lab_);
  EXPECT_TRUE(who->allows("Observation", 'r'));
  EXPECT_FALSE(who->allows("Patient", 'r'));
  EXPECT_FALSE(who->allows("Observation", 'c'));
  now_us_ += 301 * kS;
  EXPECT_FALSE(clients_->check_token(grant->access_token, ctx_).has_value());
  EXPECT_EQ(rejections("expired-token"), 1);
}

TEST_F(ClientsTest, EachBadAssertionIsRefusedAndAudited) {
  const std::string good = assertion(claims("jti-2"));
  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  TestSigner stranger = TestSigner::rsa(2048);
  nlohmann::json wrong_aud = claims("jti-3");
  wrong_aud["aud"] = "https://elsewhere.example.org/token";
  nlohmann::json expired = claims("jti-4");
  expired["exp"] = now_us_ / kS - 1;
  nlohmann::json too_long = claims("jti-5");
  too_long["exp"] = now_us_ / kS + 600;
  nlohmann::json unknown = claims("jti-6");
  unknown["iss"] = unknown["sub"] = "ehr-999";
  const std::string none =
      TestSigner::compact({{"alg", "none"}, {"typ", "JWT"}}, claims("jti-7"), "");
  for (const std::string& jwt :
       {tampered, stranger.sign({{"alg", "RS384"}, {"kid", "k1"}}, claims("jti-8")),
        assertion(wrong_aud), assertion(expired), assertion(too_long), assertion(unknown), none}) {
    auto r = ask(jwt);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(access::oauth_error(r.error()), "invalid_client");
    EXPECT_EQ(r.error().message.find("jti-"), std::string::npos);
  }
  EXPECT_EQ(rejections("bad-assertion"), 6);  // alg none decodes, then fails verification
  EXPECT_EQ(rejections("unknown-client"), 1);
}

TEST_F(ClientsTest, AnAssertionWorksOnceAndARevokedClientGetsNothing) {
  const std::string jwt = assertion(claims("jti-once"));
  auto first = ask(jwt);
  ASSERT_TRUE(first.has_value());
  auto again = ask(jwt);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(rejections("assertion-replayed"), 1);
  ASSERT_TRUE(clients_->revoke(admin_, "ehr-1", ctx_));
  EXPECT_FALSE(clients_->check_token(first->access_token, ctx_).has_value());
  auto after = ask(assertion(claims("jti-after")));
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(rejections("client-revoked"), 1);
}

TEST_F(ClientsTest, RegistrationRefusesPrivateKeysBadScopesAndOtherLabsAdmins) {
  EXPECT_FALSE(clients_->add(
      admin_, {"x-1", lab_, "", signer_.private_pem(), "system/Observation.rs"}, ctx_));
  EXPECT_FALSE(
      clients_->add(admin_, {"x-2", lab_, "", signer_.public_pem(), "user/Observation.rs"}, ctx_));
  EXPECT_FALSE(clients_->add(
      admin_, {"x-3", lab_, "", signer_.public_pem(), "system/Observation.sr"}, ctx_));
  EXPECT_FALSE(
      clients_->add(admin_, {"bad id!", lab_, "", signer_.public_pem(), "system/*.rs"}, ctx_));
  EXPECT_TRUE(clients_->add(admin_, {"x-4", lab_, "", signer_.public_pem(), "system/*.rs"}, ctx_));
  // A grant asked without a scope and a wrong grant type.
  auto wrong_grant =
      clients_->issue_token({"password", kBearer, assertion(claims("j9")), ""}, ctx_);
  ASSERT_FALSE(wrong_grant.has_value());
  EXPECT_EQ(access::oauth_error(wrong_grant.error()), "unsupported_grant_type");
  auto no_scope = ask(assertion(claims("j10")), "system/Specimen.rs");
  ASSERT_FALSE(no_scope.has_value());
  EXPECT_EQ(access::oauth_error(no_scope.error()), "invalid_scope");
}

}  // namespace
}  // namespace labvault::testing
