// Invariants 4 and 5 on a real SQLite file: every record is chained, covered by signed
// checkpoints, and any change, deletion, reordering or truncation is found by verify, with its
// location. Tampering goes around labvault: a second SQLite connection that drops the triggers.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "audit/checkpoint.hpp"
#include "audit/event.hpp"
#include "audit/log.hpp"
#include "audit/verify.hpp"
#include "support/store_fixture.hpp"

namespace labvault::testing {
namespace {

class AuditLogTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    open_log();
  }
  void TearDown() override {
    log_.reset();
    StoreTest::TearDown();
  }

  void open_log(std::uint64_t every = 10) {
    log_.reset();
    audit::LogOptions o;
    o.checkpoint_every = every;
    o.checkpoint_interval_us = 3600'000'000;
    o.publish_file = (root_ / "published.jsonl").string();
    o.node = "node-1";
    o.clock = [this] { return now_us_++; };
    auto log = audit::Log::open(*store_, *keyring_, o);
    ASSERT_TRUE(log.has_value()) << log.error().message;
    log_ = std::move(*log);
  }

  audit::Event read_event(int i) const {
    audit::Event e;
    e.lab = lab_;
    e.actor = fmt::format("user:{}", 10 + i % 3);
    e.role = "ordering-provider";
    e.action = audit::Action::kRead;
    e.resource = fmt::format("Observation/{}", i);
    e.patient = 1 + i % 4;
    e.source_ip = "10.0.0.7";
    e.purpose = "TREAT";
    e.request_id = fmt::format("req-{}", i);
    e.released_fields = {"value", "code"};
    return e;
  }

  // Records n read events, then closes the log (which signs the tail).
  void fill(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
    ASSERT_TRUE(log_->close().has_value());
    log_.reset();
  }

  // Runs SQL on the database file behind labvault's back, as an administrator with file access.
  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    std::string all =
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;"
        "DROP TRIGGER IF EXISTS audit_checkpoints_no_update;"
        "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;" +
        sql;
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  audit::VerifyReport verify(bool with_published = false) {
    auto key = crypto::SigningKey::from_seed(keyring_->audit_signing_seed());
    EXPECT_TRUE(key.has_value());
    std::vector<store::AuditCheckpoint> published;
    if (with_published) {
      auto p = audit::read_published((root_ / "published.jsonl").string());
      EXPECT_TRUE(p.has_value());
      if (p) published = *p;
    }
    auto r = audit::verify(*store_, key->public_key(), published);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? *r : audit::VerifyReport{};
  }

  std::unique_ptr<audit::Log> log_;
};

TEST_F(AuditLogTest, CleanLogVerifiesWithCheckpointsEveryNRecordsAndAtClose) {
  fill(25);
  auto checkpoints = store_->audit_checkpoints();
  ASSERT_TRUE(checkpoints.has_value());
  ASSERT_EQ(checkpoints->size(), 3u);  // at 10, 20, and 25 at close
  EXPECT_EQ((*checkpoints)[0].tree_size, 10u);
  EXPECT_EQ((*checkpoints)[2].tree_size, 25u);
  auto report = verify(true);
  EXPECT_TRUE(report.ok()) << report.problem->message;
  EXPECT_EQ(report.records, 25u);
  EXPECT_EQ(report.published, 3u);
  EXPECT_EQ(report.uncovered, 0u);
}

TEST_F(AuditLogTest, ChangingOneByteOfAFieldIsFoundAtThatRecord) {
  fill(25);
  // Flip the last byte of record 7's entry (inside its JSON details).
  tamper(
      "UPDATE audit_log SET entry = CAST(substr(entry, 1, length(entry) - 2) || 'X' || "
      "substr(entry, length(entry)) AS BLOB) WHERE seq = 7;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 7u);
  EXPECT_NE(report.problem->message.find("chain"), std::string::npos) << report.problem->message;
}

TEST_F(AuditLogTest, ChangingAClearColumnIsFound) {
  fill(12);
  tamper("UPDATE audit_log SET patient_id = 99 WHERE seq = 3;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 3u);
  EXPECT_NE(report.problem->message.find("columns"), std::string::npos);
}

TEST_F(AuditLogTest, DeletingARecordIsFoundWhereTheGapIs) {
  fill(25);
  tamper("DELETE FROM audit_log WHERE seq = 13;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 13u);
  EXPECT_NE(report.problem->message.find("missing"), std::string::npos);
}

TEST_F(AuditLogTest, SwappingTwoRecordsIsFound) {
  fill(25);
  tamper(
      "UPDATE audit_log SET seq = -1 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5;"
      "UPDATE audit_log SET seq = 5 WHERE seq = -1;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 4u);
}

TEST_F(AuditLogTest, RechainingAfterAChangeIsCaughtByTheSignedRoot) {
  fill(25);
  // A careful attacker rewrites record 3 and recomputes every chain hash after it.
  auto rows = store_->read_audit(1, 100);
  ASSERT_TRUE(rows.has_value());
  std::string sql;
  audit::Hash chain = audit::chain_start();
  for (auto& row : *rows) {
    if (row.seq == 3) row.entry.back() = row.entry.back() == '}' ? ' ' : '}';
    chain = audit::chain_hash(chain, audit::leaf_hash(audit::canonical(row.view())));
    std::string hex;
    for (unsigned char c : row.entry) hex += fmt::format("{:02x}", c);
    sql += fmt::format("UPDATE audit_log SET entry = x'{}', chain = x'{}' WHERE seq = {};", hex,
                       audit::to_hex(chain), row.seq);
  }
  tamper(sql);
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->checkpoint, 10u) << report.problem->message;
  EXPECT_NE(report.problem->message.find("root"), std::string::npos);
}

TEST_F(AuditLogTest, TruncatingTheTailIsFound) {
  fill(25);
  tamper("DELETE FROM audit_log WHERE seq > 22;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->checkpoint, 25u);
  EXPECT_NE(report.problem->message.find("deleted from its end"), std::string::npos);
}

TEST_F(AuditLogTest, TruncatingTailAndItsCheckpointsIsFoundByThePublishedCopy) {
  fill(25);
  tamper(
      "DELETE FROM audit_log WHERE seq > 15; DELETE FROM audit_checkpoints WHERE tree_size > 15;");
  EXPECT_TRUE(verify(false).ok());  // the database alone now looks like a shorter, valid log
  auto report = verify(true);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->checkpoint, 20u);
  EXPECT_NE(report.problem->message.find("published"), std::string::npos);
}

TEST_F(AuditLogTest, ReplacedCheckpointIsFound) {
  fill(25);
  tamper("UPDATE audit_checkpoints SET root = randomblob(32) WHERE tree_size = 20;");
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->checkpoint, 20u);
  EXPECT_NE(report.problem->message.find("signature"), std::string::npos);
}

TEST_F(AuditLogTest, CheckpointForgedWithAnotherKeyIsFound) {
  fill(25);
  // A forger recomputes a true root over the records but can only sign with a key of their own.
  auto rows = store_->read_audit(1, 100);
  ASSERT_TRUE(rows.has_value());
  audit::CompactTree tree;
  audit::Hash chain = audit::chain_start();
  for (const auto& row : *rows) {
    auto leaf = audit::leaf_hash(audit::canonical(row.view()));
    tree.append(leaf);
    chain = audit::chain_hash(chain, leaf);
  }
  auto seed = crypto::random_key(32);
  auto forger = crypto::SigningKey::from_seed(*seed);
  ASSERT_TRUE(forger.has_value());
  auto forged = audit::make_checkpoint(tree, chain, now_us_ + 10, *forger);
  ASSERT_TRUE(forged.has_value());
  forged->key_id = (*store_->audit_checkpoints()).back().key_id;  // even claiming our key id
  tamper("DELETE FROM audit_checkpoints WHERE tree_size = 25;");
  ASSERT_TRUE(store_->add_audit_checkpoint(*forged).has_value());
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->checkpoint, 25u);
  EXPECT_NE(report.problem->message.find("signature"), std::string::npos);
}

TEST_F(AuditLogTest, ATamperedLogIsRefusedByTheWriterInsteadOfSignedOver) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  log_.reset();  // signs 1..5
  open_log();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  log_.reset();  // signs 1..8
  tamper(
      "DELETE FROM audit_checkpoints WHERE tree_size = 8; UPDATE audit_log SET outcome = "
      "'denied' WHERE seq = 7;");
  audit::LogOptions o;
  auto reopened = audit::Log::open(*store_, *keyring_, o);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_NE(reopened.error().message.find("record 7"), std::string::npos)
      << reopened.error().message;
}

TEST_F(AuditLogTest, WriterResumesTheChainAcrossRestarts) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  open_log();  // the first log closes, a new one resumes from its checkpoint
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  EXPECT_EQ(log_->size(), 14u);
  log_.reset();
  auto report = verify();
  EXPECT_TRUE(report.ok()) << report.problem->message;
  EXPECT_EQ(report.records, 14u);
}

TEST_F(AuditLogTest, ConcurrentCallersShareCommitsAndLoseNothing) {
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!log_->record(read_event(t * kEach + i))) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  log_.reset();
  auto report = verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, static_cast<std::uint64_t>(kThreads * kEach));
  auto per_request = store_->query_audit({.action = "read", .limit = 1000});
  ASSERT_TRUE(per_request.has_value());
  std::set<std::string> ids;
  for (const auto& row : *per_request) ids.insert(row.entry.substr(row.entry.find("req-")));
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(AuditLogTest, FailedAuditWriteFailsTheOperation) {
  ASSERT_TRUE(log_->record(read_event(0)).has_value());
  log_.reset();
  store_.reset();
  store::sqlite::Options options;
  options.busy_timeout_ms = 50;
  auto s = store::sqlite::open(db_path(), *keyring_, options);
  ASSERT_TRUE(s.has_value());
  store_ = std::move(*s);
  open_log();
  // Another process holds the database's write lock: the audit record cannot be written.
  sqlite3* locker = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &locker), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(locker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  bool ran = false;
  auto value = log_->audited(read_event(1), [&]() -> model::Result<std::string> {
    ran = true;
    return std::string("result value");
  });
  EXPECT_TRUE(ran);
  EXPECT_FALSE(value.has_value());  // the value is not released without its audit record
  auto direct = log_->record(read_event(2));
  EXPECT_FALSE(direct.has_value());
  sqlite3_exec(locker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(locker);
  // Nothing half-written: the log still verifies and continues where it was.
  ASSERT_TRUE(log_->record(read_event(3)).has_value());
  log_.reset();
  auto report = verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, 2u);
}

TEST_F(AuditLogTest, AuditedOperationFailureIsRecordedAsAnError) {
  auto value = log_->audited(read_event(0), []() -> model::Result<int> {
    return model::fail(model::ErrorCode::kNotFound, "no such observation");
  });
  EXPECT_FALSE(value.has_value());
  auto rows = store_->read_audit(1, 10);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].outcome, "error");
}

TEST_F(AuditLogTest, ReasonTextIsSealedAtRestOpensWithThePatientKeyAndIsShreddedWithIt) {
  store::Outcome stored = put(oru(CanaryPatient{}, "CTRL-R"));
  audit::Event e = read_event(0);
  e.patient = stored.patient_id;
  e.action = audit::Action::kBreakGlass;
  e.reason = "CANARYREASON patient unconscious in ED";
  auto seq = log_->record(e);
  ASSERT_TRUE(seq.has_value()) << seq.error().message;
  log_.reset();
  store_.reset();
  for (const auto& f : std::filesystem::directory_iterator(root_ / "data")) {
    std::ifstream in(f.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find("CANARYREASON"), std::string::npos) << f.path();
  }
  reopen();
  auto rows = store_->read_audit(*seq, 1);
  ASSERT_TRUE(rows.has_value() && rows->size() == 1);
  const std::string& entry = (*rows)[0].entry;
  auto at = entry.find("\"sealed\":\"");
  ASSERT_NE(at, std::string::npos);
  auto b64 = entry.substr(at + 10, entry.find('"', at + 10) - at - 10);
  auto sealed = crypto::base64_decode(b64);
  ASSERT_TRUE(sealed.has_value());
  auto opened = store_->open_audit_text(
      lab_, *seq, std::string_view(reinterpret_cast<const char*>(sealed->data()), sealed->size()));
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_NE(opened->find("CANARYREASON"), std::string::npos);
  std::string_view sealed_text(reinterpret_cast<const char*>(sealed->data()), sealed->size());
  // Bound to its record: the same ciphertext does not open as another record's.
  EXPECT_FALSE(store_->open_audit_text(lab_, *seq + 1, sealed_text).has_value());
  // Shredding the patient shreds what the reason said about them; the log still verifies.
  ASSERT_TRUE(store_->shred_patient(lab_, stored.patient_id).has_value());
  EXPECT_FALSE(store_->open_audit_text(lab_, *seq, sealed_text).has_value());
  EXPECT_TRUE(verify().ok());
}

TEST_F(AuditLogTest, ColumnStoredAsAnotherTypeIsFound) {
  fill(12);
  // Reads back as the same number (so the chain matches) but escapes "WHERE patient_id = 2".
  tamper(
      "PRAGMA writable_schema = ON;"
      "UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'audit_log';");
  tamper("UPDATE audit_log SET patient_id = CAST('2' AS BLOB) WHERE seq = 6;");
  reopen();
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 6u);
  EXPECT_NE(report.problem->message.find("wrong type"), std::string::npos);
}

TEST_F(AuditLogTest, TriggersRefuseUpdateAndDeleteAndVerifyCatchesAReplace) {
  fill(3);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  for (const char* sql : {"UPDATE audit_log SET actor = 'user:99' WHERE seq = 2",
                          "DELETE FROM audit_log", "DELETE FROM audit_checkpoints",
                          "INSERT INTO audit_checkpoints SELECT * FROM audit_checkpoints"}) {
    EXPECT_NE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  }
  EXPECT_TRUE(verify().ok());
  // INSERT OR REPLACE gets past the triggers; the chain does not.
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT OR REPLACE INTO audit_log SELECT seq, time_us, lab_id, 'user:99', "
                         "patient_id, action, outcome, entry, chain FROM audit_log WHERE seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->record, 1u);
}

TEST_F(AuditLogTest, WriterThatSeesItsRecordsDeletedStopsInsteadOfSigningOverTheGap) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  tamper("DELETE FROM audit_log WHERE seq > 3;");
  auto next = log_->record(read_event(9));
  ASSERT_FALSE(next.has_value());
  EXPECT_NE(next.error().message.find("gone"), std::string::npos) << next.error().message;
  EXPECT_FALSE(log_->checkpoint().has_value());
  log_.reset();  // a poisoned log signs nothing at close
  auto checkpoints = store_->audit_checkpoints();
  ASSERT_TRUE(checkpoints.has_value());
  EXPECT_TRUE(checkpoints->empty());
}

TEST_F(AuditLogTest, AReaderThatWroteNothingSignsNothingAtClose) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  auto reader = audit::Log::open(*store_, *keyring_, {});
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE(log_->checkpoint().has_value());  // the server signs 3
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(log_->record(read_event(i)).has_value());
  ASSERT_TRUE(log_->checkpoint().has_value());  // and 5
  reader->reset();  // the reader, opened at 3, must not try to sign anything now
  log_.reset();
  EXPECT_TRUE(verify().ok());
}

TEST_F(AuditLogTest, InclusionProofVerifiesOfflineAndRejectsAlteration) {
  fill(25);
  auto key = crypto::SigningKey::from_seed(keyring_->audit_signing_seed());
  auto proof = audit::prove(*store_, key->public_key(), 17);
  ASSERT_TRUE(proof.has_value()) << proof.error().message;
  auto ok = audit::verify_proof(*proof, key->public_key());
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->record, 17u);
  EXPECT_EQ(ok->tree_size, 25u);
  // Another record's entry, a changed path hash, or another trusted key: each refused.
  std::string other = *proof;
  other.replace(other.find("\"record\": 17"), 12, "\"record\": 16");
  EXPECT_FALSE(audit::verify_proof(other).has_value());
  std::string path = *proof;
  auto at = path.find("\"path\": [\n    \"") + 15;
  path[at] = path[at] == '0' ? '1' : '0';
  EXPECT_FALSE(audit::verify_proof(path).has_value());
  auto seed = crypto::random_key(32);
  auto stranger = crypto::SigningKey::from_seed(*seed);
  EXPECT_FALSE(audit::verify_proof(*proof, stranger->public_key()).has_value());
  EXPECT_FALSE(audit::prove(*store_, key->public_key(), 26).has_value());
}

TEST_F(AuditLogTest, PrivacyOfficerFindsWhoSawAPatient) {
  fill(24);
  auto rows = store_->query_audit({.lab = lab_, .patient = 2});
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(rows->size(), 6u);  // events i with 1 + i % 4 == 2
  for (const auto& r : *rows) EXPECT_EQ(r.patient_id, 2);
  auto by_user = store_->query_audit({.actor = "user:10", .from_us = 0, .limit = 3});
  ASSERT_TRUE(by_user.has_value());
  EXPECT_EQ(by_user->size(), 3u);
}

TEST_F(AuditLogTest, AWriteAndItsAuditRecordsCommitTogether) {
  CanaryPatient p;
  std::string raw = oru(p, "CTRL-1");
  auto msg = hl7::parse_to_model(raw);
  ASSERT_TRUE(msg.has_value());
  store::Inbound in{"ANALYZER^LAB1", "CTRL-1", "hl7", raw, &*msg, std::nullopt, {}};
  auto events_for = [&](std::span<const store::Outcome> outcomes) {
    std::vector<audit::Event> events;
    for (const auto& o : outcomes) {
      events.push_back({.lab = lab_,
                        .actor = "sender:analyzer-1",
                        .action = audit::Action::kCreate,
                        .resource = fmt::format("InboundMessage/{}", o.message_id),
                        .patient = o.patient_id});
    }
    return events;
  };
  auto stored = log_->record_with(events_for, [&](const store::AuditRowsFor& hook) {
    return store_->store_messages(lab_, std::span(&in, 1), hook);
  });
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  auto rows = store_->read_audit(1, 10);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].patient_id, (*stored)[0].patient_id);

  // An audit record that cannot be built rolls the message back with it.
  CanaryPatient other;
  other.mrn = "OTHERMRN";
  std::string raw2 = oru(other, "CTRL-2");
  auto msg2 = hl7::parse_to_model(raw2);
  store::Inbound in2{"ANALYZER^LAB1", "CTRL-2", "hl7", raw2, &*msg2, std::nullopt, {}};
  auto bad_events = [&](std::span<const store::Outcome>) {
    return std::vector<audit::Event>{{.lab = lab_, .actor = "not an id"}};
  };
  auto refused = log_->record_with(bad_events, [&](const store::AuditRowsFor& hook) {
    return store_->store_messages(lab_, std::span(&in2, 1), hook);
  });
  EXPECT_FALSE(refused.has_value());
  auto patients = store_->list_patients(lab_);
  ASSERT_TRUE(patients.has_value());
  EXPECT_EQ(patients->size(), 1u);  // the second patient was not stored
  log_.reset();
  auto report = verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, 1u);
}

}  // namespace
}  // namespace labvault::testing
