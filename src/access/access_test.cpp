// Access at request time on a real store and audit log, with an injected clock: every denial is
// recorded, a care assignment and a break-glass grant open a patient's record and stop working
// when they expire, an unmask lifts one category for 30 minutes, break-glass uses wait for the
// privacy officer's review and escalate when left alone.
#include "access/access.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/identity_fixture.hpp"

namespace labvault::testing {
namespace {

using access::Decision;
using access::Resource;
using model::ErrorCode;

class AccessTest : public IdentityFixture {
 protected:
  void SetUp() override {
    IdentityFixture::SetUp();
    access_ = std::make_unique<access::Access>(
        *store_, *log_, *identity_, access::Policy::defaults(),
        access::AccessOptions{std::chrono::minutes(30), std::chrono::minutes(60), 7,
                              [this] { return now_us_; }});
    patient_ = put(oru(CanaryPatient{}, "A-1")).patient_id;
    ASSERT_NE(patient_, 0);
    make_root();
    doc_ = add("doc.one", "ordering-provider");
    officer_ = add("po.one", "privacy-officer");
  }
  store::Id doc_subject_id() { return subject(doc_).user; }
  void relogin(Person& p) {
    auto login = identity_->login(p.username, p.password, code(p, 0), ctx_);
    ASSERT_TRUE(login.has_value()) << login.error().message;
    p.token = login->token;
  }
  access::Subject subject(const Person& p) {
    auto s = identity_->authenticate(p.token, ctx_);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? *s : access::Subject{};
  }
  Decision read(const Person& p, bool hiv = false) {
    access::Subject s = subject(p);
    Resource r{"Observation", lab_, patient_, {}};
    if (hiv) r.sensitive.insert(model::Sensitivity::kHiv);
    auto d = access_->authorize(access::requester_of(s), s.user, "read", r, "TREAT", ctx_);
    EXPECT_TRUE(d.has_value());
    return d ? *d : Decision{};
  }
  int denied_reads() {
    auto rows = store_->read_audit(1, 100000);
    int n = 0;
    for (const auto& r : *rows) n += r.action == "read" && r.outcome == "denied";
    return n;
  }

  std::unique_ptr<access::Access> access_;
  store::Id patient_ = 0;
  Person doc_, officer_;
};

TEST_F(AccessTest, EveryDenialIsRecordedBeforeTheAnswer) {
  EXPECT_FALSE(read(doc_).permit);      // no care relationship
  EXPECT_FALSE(read(officer_).permit);  // privacy officers read audit records, not results
  auto other = access_->authorize(access::requester_of(subject(doc_)), 0, "read",
                                  Resource{"Observation", other_lab_, 99, {}}, "TREAT", ctx_);
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->not_found);
  EXPECT_EQ(denied_reads(), 3);
}

TEST_F(AccessTest, ACareAssignmentOpensTheRecordForItsWindowOnly) {
  ASSERT_TRUE(access_->assign_care(root_subject(), doc_subject_id(), lab_, patient_,
                                   std::chrono::hours(8), ctx_));
  EXPECT_TRUE(read(doc_).permit);
  now_us_ += 8 * 3600 * kS + kS;
  relogin(doc_);  // the session itself idled out meanwhile
  EXPECT_FALSE(read(doc_).permit);
}

TEST_F(AccessTest, BreakGlassNeedsReauthAndAReasonIsFlaggedAndExpires) {
  now_us_ += 6 * 60 * kS;
  ASSERT_TRUE(identity_->authenticate(doc_.token, ctx_).has_value());
  auto stale = access_->break_glass(subject(doc_), lab_, patient_, "unconscious in ED", ctx_);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(identity_->reauthenticate(doc_.token, doc_.password, code(doc_, 0), ctx_));
  EXPECT_FALSE(access_->break_glass(subject(doc_), lab_, patient_, "  ", ctx_).has_value());
  auto grant =
      access_->break_glass(subject(doc_), lab_, patient_, "CANARYREASON unconscious", ctx_);
  ASSERT_TRUE(grant.has_value()) << grant.error().message;
  Decision d = read(doc_);
  EXPECT_TRUE(d.permit);
  EXPECT_TRUE(d.break_glass);
  // The reason is in the audit record, sealed: not in clear anywhere in the database.
  ASSERT_TRUE(log_->checkpoint());
  std::ifstream db(db_path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), {});
  std::ifstream wal(db_path().string() + "-wal", std::ios::binary);
  bytes.append(std::istreambuf_iterator<char>(wal), {});
  EXPECT_EQ(bytes.find("CANARYREASON"), std::string::npos);
  // Sixty minutes later it is over.
  for (int i = 0; i < 6; ++i) {
    now_us_ += 10 * 60 * kS;
    ASSERT_TRUE(identity_->authenticate(doc_.token, ctx_).has_value());
  }
  now_us_ += kS;
  EXPECT_FALSE(read(doc_).permit);
  // A privacy officer cannot declare one (not a clinician's role).
  relogin(officer_);
  auto curious = access_->break_glass(subject(officer_), lab_, patient_, "curious", ctx_);
  ASSERT_FALSE(curious.has_value());
  EXPECT_EQ(curious.error().code, ErrorCode::kForbidden);
}

TEST_F(AccessTest, AnUnmaskLiftsOneCategoryForThirtyMinutes) {
  ASSERT_TRUE(access_->assign_care(root_subject(), doc_subject_id(), lab_, patient_,
                                   std::chrono::hours(8), ctx_));
  EXPECT_TRUE(read(doc_, true).masked_categories.contains(model::Sensitivity::kHiv));
  auto g = access_->unmask(subject(doc_), lab_, patient_, model::Sensitivity::kHiv,
                           "confirming treatment", ctx_);
  ASSERT_TRUE(g.has_value()) << g.error().message;
  EXPECT_TRUE(read(doc_, true).masked_categories.empty());
  now_us_ += 10 * 60 * kS;
  ASSERT_TRUE(identity_->authenticate(doc_.token, ctx_).has_value());
  now_us_ += 10 * 60 * kS;
  ASSERT_TRUE(identity_->authenticate(doc_.token, ctx_).has_value());
  now_us_ += 10 * 60 * kS + kS;
  EXPECT_TRUE(read(doc_, true).masked_categories.contains(model::Sensitivity::kHiv));
}

TEST_F(AccessTest, APatientReadsTheirOwnRecordOnlyOnceLinked) {
  Person me = add("pat.one", "patient");
  auto mine = [&](store::Id patient) {
    auto who = access_->requester(subject(me));
    EXPECT_TRUE(who.has_value());
    auto d = access_->authorize(*who, subject(me).user, "read",
                                Resource{"Observation", lab_, patient, {}}, "PATRQT", ctx_);
    return d && d->permit;
  };
  EXPECT_FALSE(mine(patient_));
  // Only a patient-role person is linked, by an administrator of the lab.
  EXPECT_FALSE(access_->link_patient(root_subject(), subject(doc_).user, lab_, patient_, ctx_));
  ASSERT_TRUE(access_->link_patient(root_subject(), subject(me).user, lab_, patient_, ctx_));
  EXPECT_TRUE(mine(patient_));
  EXPECT_FALSE(mine(patient_ + 1));
}

TEST_F(AccessTest, BreakGlassUsesWaitForReviewAndEscalate) {
  ASSERT_TRUE(access_->break_glass(subject(doc_), lab_, patient_, "arrest", ctx_));
  auto queue = access_->reviews(subject(officer_), lab_, false, ctx_);
  ASSERT_TRUE(queue.has_value()) << queue.error().message;
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_FALSE(queue->front().escalated);
  // Doctors do not review themselves.
  EXPECT_FALSE(access_->reviews(subject(doc_), lab_, false, ctx_).has_value());
  now_us_ += 8LL * 24 * 3600 * kS;
  Person& officer = officer_;
  relogin(officer);
  queue = access_->reviews(subject(officer), lab_, false, ctx_);
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_TRUE(queue->front().escalated);
  const store::Id id = queue->front().grant.id;
  EXPECT_FALSE(access_->review(subject(officer), lab_, id, "fine", ctx_));
  ASSERT_TRUE(access_->review(subject(officer), lab_, id, "justified", ctx_));
  EXPECT_FALSE(access_->review(subject(officer), lab_, id, "justified", ctx_));  // once
  queue = access_->reviews(subject(officer), lab_, false, ctx_);
  EXPECT_TRUE(queue->empty());
  auto all = access_->reviews(subject(officer), lab_, true, ctx_);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().grant.disposition, "justified");
}

}  // namespace
}  // namespace labvault::testing
