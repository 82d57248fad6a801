// Identity on a real SQLite store and audit log, with an injected clock (no sleeps): lockout and
// its window, MFA enrollment, TOTP drift and replay, recovery codes, idle and absolute expiry,
// the reauth window, logout and password change, administration limits, and a canary password
// that must not be found in the database files.
#include "access/identity.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "support/identity_fixture.hpp"

namespace labvault::testing {
namespace {

using model::ErrorCode;

class IdentityTest : public IdentityFixture {};

TEST_F(IdentityTest, FiveFailuresLockForFifteenMinutesThenTheRightPasswordWorksAgain) {
  make_root();
  Person p = add("tech.one", "lab-technologist");
  for (int i = 0; i < 5; ++i) {
    auto r = identity_->login("tech.one", "wrong password here", code(p, 0), ctx_);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  }
  EXPECT_EQ(audit_count("lockout", "locked-after-5-failures"), 1);
  // Locked: the right password and code are refused, with the same answer as a wrong one.
  advance(30);
  auto locked = identity_->login("tech.one", p.password, code(p, 0), ctx_);
  ASSERT_FALSE(locked.has_value());
  auto wrong = identity_->login("tech.one", "another wrong one", code(p, 0), ctx_);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(locked.error().message, wrong.error().message);
  EXPECT_EQ(audit_count("login-failed", "account-locked"), 2);
  // The lock also ended the open session.
  EXPECT_FALSE(identity_->authenticate(p.token, ctx_).has_value());
  advance(15 * 60);
  auto back = identity_->login("tech.one", p.password, code(p, 0), ctx_);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(identity_->authenticate(back->token, ctx_).has_value());
}

TEST_F(IdentityTest, FailuresAreCountedConsecutivelyAndASuccessResetsThem) {
  make_root();
  Person p = add("tech.two", "lab-technologist");
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i)
      ASSERT_FALSE(identity_->login("tech.two", "nope nope nope", "", ctx_));
    advance(31);
    ASSERT_TRUE(identity_->login("tech.two", p.password, code(p, 0), ctx_).has_value());
  }
  EXPECT_EQ(audit_count("lockout", ""), 0);
}

TEST_F(IdentityTest, AnUnknownUsernameLooksLikeAWrongPasswordAndIsAudited) {
  make_root();
  auto unknown = identity_->login("nobody.here", "whatever password", "123456", ctx_);
  auto wrong = identity_->login("root", "whatever password", "123456", ctx_);
  ASSERT_FALSE(unknown.has_value());
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(unknown.error().code, wrong.error().code);
  EXPECT_EQ(unknown.error().message, wrong.error().message);
  EXPECT_EQ(audit_count("login-failed", "unknown-user"), 1);
  auto rows = store_->read_audit(1, 100000);
  for (const auto& r : *rows) EXPECT_EQ(r.entry.find("nobody.here"), std::string::npos);
}

TEST_F(IdentityTest, NoPhiBeforeMfaEnrollment) {
  auto login = identity_->login("root", root_password_, "", ctx_);
  ASSERT_TRUE(login.has_value());
  EXPECT_TRUE(login->mfa_enrollment_required);
  auto s = identity_->authenticate(login->token, ctx_);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kForbidden);
  auto e = identity_->begin_mfa_enrollment(login->token, ctx_);
  ASSERT_TRUE(e.has_value());
  // A wrong code does not finish enrollment.
  EXPECT_FALSE(identity_->finish_mfa_enrollment(login->token, "000000", ctx_).has_value());
  EXPECT_FALSE(identity_->authenticate(login->token, ctx_).has_value());
  auto secret = crypto::base32_decode(e->secret_base32);
  auto c = crypto::totp_code(*secret, now_us_ / kS);
  auto codes = identity_->finish_mfa_enrollment(login->token, *c, ctx_);
  ASSERT_TRUE(codes.has_value()) << codes.error().message;
  EXPECT_EQ(codes->size(), 10u);
  EXPECT_TRUE(identity_->authenticate(login->token, ctx_).has_value());
  EXPECT_EQ(audit_count("mfa-enroll", "enrollment-started"), 1);
  EXPECT_EQ(audit_count("mfa-enroll", ""), 2);  // started, finished
  // Once enrolled, a login without the code fails.
  EXPECT_FALSE(identity_->login("root", root_password_, "", ctx_).has_value());
}

TEST_F(IdentityTest, TotpDriftOfOneStepIsAcceptedTwoIsNotAndACodeWorksOnce) {
  make_root();
  advance(90);
  EXPECT_TRUE(identity_->login("root", root_password_, code(root_, -1), ctx_).has_value());
  advance(90);
  EXPECT_TRUE(identity_->login("root", root_password_, code(root_, 1), ctx_).has_value());
  // The same code again (replay), even within its window.
  EXPECT_FALSE(identity_->login("root", root_password_, code(root_, 1), ctx_).has_value());
  EXPECT_EQ(audit_count("mfa-failed", "totp-replayed"), 1);
  advance(300);
  EXPECT_FALSE(identity_->login("root", root_password_, code(root_, -2), ctx_).has_value());
  EXPECT_FALSE(identity_->login("root", root_password_, code(root_, 2), ctx_).has_value());
  EXPECT_TRUE(identity_->login("root", root_password_, code(root_, 0), ctx_).has_value());
}

TEST_F(IdentityTest, ARecoveryCodeWorksOnceInPlaceOfTheTotpCode) {
  make_root();
  ASSERT_FALSE(root_.recovery.empty());
  const std::string rc = root_.recovery.front();
  EXPECT_TRUE(identity_->login("root", root_password_, rc, ctx_).has_value());
  EXPECT_FALSE(identity_->login("root", root_password_, rc, ctx_).has_value());
  EXPECT_EQ(audit_count("login", "recovery-code-used"), 1);
}

TEST_F(IdentityTest, SessionsEndAfterFifteenIdleMinutesAndTwelveHoursInAll) {
  make_root();
  advance(14 * 60);
  ASSERT_TRUE(identity_->authenticate(root_.token, ctx_).has_value());
  advance(14 * 60);  // 28 minutes old, 14 idle
  ASSERT_TRUE(identity_->authenticate(root_.token, ctx_).has_value());
  advance(15 * 60 + 1);
  auto idle = identity_->authenticate(root_.token, ctx_);
  ASSERT_FALSE(idle.has_value());
  EXPECT_EQ(idle.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(audit_count("session-timeout", "idle"), 1);
  // Busy all day: the absolute limit still ends it.
  auto login = identity_->login("root", root_password_, code(root_, 0), ctx_);
  ASSERT_TRUE(login.has_value());
  for (int i = 0; i < 12 * 6; ++i) {
    advance(10 * 60);
    ASSERT_TRUE(identity_->authenticate(login->token, ctx_).has_value()) << i;
  }
  advance(10 * 60);
  EXPECT_FALSE(identity_->authenticate(login->token, ctx_).has_value());
  EXPECT_EQ(audit_count("session-timeout", "absolute"), 1);
}

TEST_F(IdentityTest, SensitiveOperationsNeedAReauthenticationWithinFiveMinutes) {
  make_root();
  advance(4 * 60);
  EXPECT_TRUE(identity_->require_recent_reauth(root_subject()).has_value());
  advance(2 * 60);
  auto stale = identity_->require_recent_reauth(root_subject());
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kForbidden);
  // An administrative change is refused too.
  auto add = identity_->add_user(root_subject(),
                                 {"late.user", "", "", "", false, {{lab_, "billing"}}}, ctx_);
  ASSERT_FALSE(add.has_value());
  EXPECT_EQ(add.error().code, ErrorCode::kForbidden);
  EXPECT_FALSE(identity_->reauthenticate(root_.token, root_password_, "111111", ctx_).has_value());
  ASSERT_TRUE(identity_->reauthenticate(root_.token, root_password_, code(root_, 0), ctx_));
  EXPECT_TRUE(identity_->require_recent_reauth(root_subject()).has_value());
}

TEST_F(IdentityTest, LogoutAndPasswordChangeEndSessions) {
  make_root();
  Person p = add("doc.one", "ordering-provider");
  advance(31);
  auto second = identity_->login("doc.one", p.password, code(p, 0), ctx_);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(identity_->logout(second->token, ctx_));
  EXPECT_FALSE(identity_->authenticate(second->token, ctx_).has_value());
  // Too weak a new password is refused with a reason; a good one ends every session.
  auto weak = identity_->change_password(p.token, p.password, "password1234", ctx_);
  ASSERT_FALSE(weak.has_value());
  EXPECT_EQ(weak.error().code, ErrorCode::kUsage);
  ASSERT_TRUE(identity_->change_password(p.token, p.password, "violet tractor simmers 1987", ctx_));
  EXPECT_FALSE(identity_->authenticate(p.token, ctx_).has_value());
  advance(31);
  EXPECT_FALSE(identity_->login("doc.one", p.password, code(p, 0), ctx_).has_value());
  EXPECT_TRUE(
      identity_->login("doc.one", "violet tractor simmers 1987", code(p, 1), ctx_).has_value());
}

TEST_F(IdentityTest, ALabAdminManagesOnlyTheirLabsNonAdminPeople) {
  make_root();
  Person admin = add("admin.lab1", "lab-admin");
  Person other = add("tech.lab2", "lab-technologist", other_lab_);
  auto subject = identity_->authenticate(admin.token, ctx_);
  ASSERT_TRUE(subject.has_value());
  // Adds a technologist to their lab; not a lab admin, not a system admin, not to another lab.
  auto added =
      identity_->add_user(*subject, {"tech.new", "", "", "", false, {{lab_, "billing"}}}, ctx_);
  EXPECT_TRUE(added.has_value()) << (added ? "" : added.error().message);
  EXPECT_FALSE(
      identity_->add_user(*subject, {"adm.new", "", "", "", false, {{lab_, "lab-admin"}}}, ctx_));
  EXPECT_FALSE(
      identity_->add_user(*subject, {"sys.new", "", "", "", true, {{lab_, "billing"}}}, ctx_));
  EXPECT_FALSE(
      identity_->add_user(*subject, {"x.new", "", "", "", false, {{other_lab_, "billing"}}}, ctx_));
  // Another lab's person is "not found", exactly like nobody.
  auto locked_other = identity_->lock(*subject, "tech.lab2", ctx_);
  ASSERT_FALSE(locked_other.has_value());
  EXPECT_EQ(locked_other.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(identity_->lock(*subject, "no.such.user", ctx_).error().message,
            locked_other.error().message);
  // Their own lab's technologist can be locked, which ends the session.
  Person tech = add("tech.lab1", "lab-technologist");
  ASSERT_TRUE(identity_->lock(*subject, "tech.lab1", ctx_));
  EXPECT_FALSE(identity_->authenticate(tech.token, ctx_).has_value());
  advance(31);
  EXPECT_FALSE(identity_->login("tech.lab1", tech.password, code(tech, 0), ctx_).has_value());
  ASSERT_TRUE(identity_->unlock(*subject, "tech.lab1", ctx_));
  EXPECT_TRUE(identity_->login("tech.lab1", tech.password, code(tech, 0), ctx_).has_value());
  // A lab admin lists their own lab only.
  auto mine = identity_->list_users(*subject, lab_, ctx_);
  ASSERT_TRUE(mine.has_value());
  for (const auto& u : *mine) EXPECT_NE(u.username, "tech.lab2");
  EXPECT_FALSE(identity_->list_users(*subject, other_lab_, ctx_).has_value());
  (void)other;
}

TEST_F(IdentityTest, AnOverLongPasswordIsAWrongPasswordForKnownAndUnknownNames) {
  make_root();
  const std::string huge(crypto::kMaxPasswordBytes + 1, 'x');
  auto known = identity_->login("root", huge, code(root_, 0), ctx_);
  auto unknown = identity_->login("nobody", huge, "123456", ctx_);
  ASSERT_FALSE(known.has_value());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(known.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(known.error().message, unknown.error().message);
  EXPECT_EQ(audit_count("login-failed", "bad-password"), 1);  // counted like any failure
}

TEST_F(IdentityTest, TheLockIsCheckedAtomicallyWithCountingAndWithSuccess) {
  make_root();
  Person p = add("tech.race", "lab-technologist");
  auto user = store_->find_user("tech.race");
  ASSERT_TRUE(user.has_value() && user->has_value());
  const store::Id id = (*user)->id;
  const std::int64_t until = now_us_ + 900 * kS;
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(*store_->count_failed_login(id, 5, until, now_us_), i);
  EXPECT_EQ(*store_->count_failed_login(id, 5, until, now_us_), 5);  // locks
  // While locked nothing is counted and no success goes through: what a request that had
  // already verified the password before the lock was set would try.
  EXPECT_EQ(*store_->count_failed_login(id, 5, until, now_us_), 0);
  EXPECT_FALSE(*store_->count_successful_login(id, now_us_));
  // A lowered threshold still locks at once.
  EXPECT_TRUE(*store_->count_successful_login(id, until));
  EXPECT_EQ(*store_->count_failed_login(id, 5, until + 900 * kS, until), 1);
  EXPECT_EQ(*store_->count_failed_login(id, 2, until + 900 * kS, until), 2);
  EXPECT_FALSE(*store_->count_successful_login(id, until));
  (void)p;
}

TEST_F(IdentityTest, PasswordChangeNeedsARecentSecondFactorAndAdminsCannotChangeThemselves) {
  make_root();
  advance(6 * 60);
  auto stale =
      identity_->change_password(root_.token, root_password_, "violet tractor 1987 x", ctx_);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(identity_->reauthenticate(root_.token, root_password_, code(root_, 0), ctx_));
  auto self = identity_->set_role(root_subject(), "root", lab_, "pathologist", ctx_);
  ASSERT_FALSE(self.has_value());
  EXPECT_EQ(self.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(
      identity_->change_password(root_.token, root_password_, "violet tractor 1987 x", ctx_));
}

TEST_F(IdentityTest, ResetMfaMakesThePersonEnrollAgain) {
  make_root();
  Person p = add("path.one", "pathologist");
  ASSERT_TRUE(identity_->reset_mfa(root_subject(), "path.one", ctx_));
  EXPECT_FALSE(identity_->authenticate(p.token, ctx_).has_value());
  auto login = identity_->login("path.one", p.password, "", ctx_);
  ASSERT_TRUE(login.has_value());
  EXPECT_TRUE(login->mfa_enrollment_required);
  EXPECT_FALSE(identity_->authenticate(login->token, ctx_).has_value());
}

TEST_F(IdentityTest, NoPasswordTokenOrCodeIsStoredInClear) {
  make_root();
  const std::string canary = "CANARY horse 7781 staple";
  ASSERT_TRUE(identity_->change_password(root_.token, root_password_, canary, ctx_));
  advance(31);
  auto login = identity_->login("root", canary, code(root_, 0), ctx_);
  ASSERT_TRUE(login.has_value());
  ASSERT_FALSE(identity_->login("root", "CANARY wrong 7781 staple", "", ctx_).has_value());
  ASSERT_TRUE(log_->checkpoint());
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(db_path().parent_path())) {
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(all.size(), 0u);
  for (const std::string& secret : {canary, std::string("CANARY wrong"), login->token,
                                    root_password_, std::string("Root Admin")}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << "found in the database files";
  }
}

}  // namespace
}  // namespace labvault::testing
