// Test fixture for the access module: a store with two labs, an audit log, the identity service
// with an injected clock and cheap Argon2 parameters, and a first system administrator ("root")
// whose initial password is known. Helpers enroll people in TOTP and compute their codes.
#pragma once

#include <gtest/gtest.h>

#include "access/identity.hpp"
#include "audit/log.hpp"
#include "crypto/totp.hpp"
#include "support/store_fixture.hpp"

namespace labvault::testing {

using access::Identity;
inline constexpr std::int64_t kS = 1'000'000;

class IdentityFixture : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto other = store_->create_lab("LAB2", "Lab Two");
    ASSERT_TRUE(other.has_value());
    other_lab_ = other->id;
    auto log = audit::Log::open(*store_, *keyring_, {});
    ASSERT_TRUE(log.has_value()) << log.error().message;
    log_ = std::move(*log);
    access::IdentityOptions o;
    o.clock = [this] { return now_us_; };
    o.password_params = {256, 1, 1};  // cheap for tests; production uses the OWASP defaults
    identity_ = std::make_unique<Identity>(*store_, *log_, keyring_->blind_indexer(), o);
    auto root = identity_->bootstrap_admin({"root", "Root Admin", "", "", true, {}}, "cli:0", ctx_);
    ASSERT_TRUE(root.has_value()) << root.error().message;
    root_password_ = root->initial_password;
  }
  void TearDown() override {
    identity_.reset();
    log_.reset();
    StoreTest::TearDown();
  }

  // Logs in with the initial password, enrolls TOTP; returns the session token and secret.
  struct Person {
    std::string username, password, token;
    crypto::SecretBytes secret;
    std::vector<std::string> recovery;
  };
  Person enroll(const std::string& username, const std::string& password) {
    Person p{username, password, "", {}, {}};
    auto login = identity_->login(username, password, "", ctx_);
    EXPECT_TRUE(login.has_value()) << (login ? "" : login.error().message);
    if (!login) return p;
    EXPECT_TRUE(login->mfa_enrollment_required);
    auto e = identity_->begin_mfa_enrollment(login->token, ctx_);
    EXPECT_TRUE(e.has_value());
    if (!e) return p;
    EXPECT_EQ(e->otpauth_uri.rfind("otpauth://totp/", 0), 0u);
    auto secret = crypto::base32_decode(e->secret_base32);
    EXPECT_TRUE(secret.has_value());
    p.secret = std::move(*secret);
    auto codes = identity_->finish_mfa_enrollment(login->token, code(p, 0), ctx_);
    EXPECT_TRUE(codes.has_value()) << (codes ? "" : codes.error().message);
    if (codes) p.recovery = *codes;
    p.token = login->token;
    return p;
  }
  // The TOTP code `steps` 30-second steps from now.
  std::string code(const Person& p, int steps) {
    auto c = crypto::totp_code(p.secret, now_us_ / kS + steps * 30);
    EXPECT_TRUE(c.has_value());
    return c ? *c : "";
  }
  void advance(std::int64_t seconds) { now_us_ += seconds * kS; }

  access::Subject root_subject() {
    auto s = identity_->authenticate(root_.token, ctx_);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? *s : access::Subject{};
  }
  void make_root() { root_ = enroll("root", root_password_); }
  // A user of lab_ with `role`, added by root, enrolled.
  Person add(const std::string& username, const std::string& role, store::Id lab = 0) {
    auto created = identity_->add_user(
        root_subject(), {username, "Test Person", "", "", false, {{lab ? lab : lab_, role}}}, ctx_);
    EXPECT_TRUE(created.has_value()) << (created ? "" : created.error().message);
    return created ? enroll(username, created->initial_password) : Person{};
  }
  int audit_count(std::string_view action, std::string_view detail) {
    auto rows = store_->read_audit(1, 100000);
    EXPECT_TRUE(rows.has_value());
    int n = 0;
    for (const auto& r : *rows) {
      n += r.action == action && (detail.empty() || r.entry.find(detail) != std::string::npos);
    }
    return n;
  }

  access::RequestContext ctx_{"10.1.2.3", "https", "req-1"};
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<Identity> identity_;
  std::string root_password_;
  Person root_;
  store::Id other_lab_ = 0;
};

}  // namespace labvault::testing
