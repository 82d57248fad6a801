#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "support/store_fixture.hpp"
#include "support/testdata.hpp"

namespace labvault::store::sqlite {
namespace {

using testing::CanaryPatient;
using testing::oru;
using testing::StoreTest;

// Runs one SQL statement directly on the database file (an attacker with file access).
void tamper(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(raw);
}

std::int64_t count(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(raw, sql.c_str(), -1, &s, nullptr);
  std::int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  sqlite3_close(raw);
  return n;
}

TEST_F(StoreTest, StoredMessageReadsBackAsSent) {
  CanaryPatient p;
  std::string hl7 = oru(p, "MSG-1");
  Outcome out = put(hl7);
  ASSERT_FALSE(out.error) << out.error->message;
  EXPECT_FALSE(out.duplicate);
  auto expected = hl7::parse_to_model(hl7);
  auto record = store_->read_patient(lab_, out.patient_id);
  ASSERT_TRUE(record.has_value()) << record.error().message;
  EXPECT_EQ(record->patient, expected->patient);
  ASSERT_EQ(record->encounters.size(), 1u);
  EXPECT_EQ(record->encounters[0], expected->encounter);
  ASSERT_EQ(record->orders.size(), 1u);
  EXPECT_EQ(record->orders[0].order, expected->orders[0]);
  ASSERT_EQ(record->reports.size(), 1u);
  EXPECT_EQ(record->reports[0].report, expected->reports[0]);
  EXPECT_EQ(record->reports[0].observation_ids.size(), 2u);
  auto raw = store_->read_raw_message(lab_, out.message_id);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, hl7);
}

TEST_F(StoreTest, EveryValidTestFileStoresAndReadsBack) {
  int stored = 0;
  for (const auto& file : testing::files_in("hl7/valid")) {
    std::string bytes = testing::read_bytes(file);
    auto msg = hl7::parse_to_model(bytes);
    if (!msg) continue;  // batch files and multi-message files are split by ingest, not here
    // One lab per file: the public samples reuse order numbers for different patients, which
    // within one lab is a conflict the store refuses (see ARejectedMessageRollsBackAlone...).
    auto lab = store_->create_lab(file.filename().string(), "sample");
    ASSERT_TRUE(lab.has_value());
    Outcome out = put(bytes, lab->id);
    ASSERT_FALSE(out.error) << file << ": " << out.error->message;
    auto record = store_->read_patient(lab->id, out.patient_id);
    ASSERT_TRUE(record.has_value()) << file << ": " << record.error().message;
    ++stored;
  }
  EXPECT_GT(stored, 5);
}

TEST_F(StoreTest, RetransmissionIsStoredOnce) {
  CanaryPatient p;
  std::string hl7 = oru(p, "MSG-RETX");
  Outcome first = put(hl7);
  Outcome again = put(hl7);
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.message_id, first.message_id);
  EXPECT_EQ(again.patient_id, first.patient_id);
  // Twice within one batch (a sender that retries before the first ACK arrives).
  auto msg = hl7::parse_to_model(oru(p, "MSG-BATCH"));
  std::string raw = oru(p, "MSG-BATCH");
  Inbound in{"ANALYZER^LAB1", "MSG-BATCH", "hl7", raw, &*msg, std::nullopt, {}};
  std::vector<Inbound> batch{in, in};
  auto outs = store_->store_messages(lab_, batch, nullptr);
  ASSERT_TRUE(outs.has_value());
  EXPECT_FALSE((*outs)[0].duplicate);
  EXPECT_TRUE((*outs)[1].duplicate);
  store_.reset();
  EXPECT_EQ(count(db_path(), "SELECT count(*) FROM inbound_messages"), 2);
  EXPECT_EQ(count(db_path(), "SELECT count(*) FROM observations"), 2);
}

TEST_F(StoreTest, SameMrnIsTheSamePatientAndLookupsUseBlindIndexes) {
  CanaryPatient p;
  Outcome a = put(oru(p, "MSG-A", "FL-A"));
  Outcome b = put(oru(p, "MSG-B", "FL-B"));
  EXPECT_EQ(a.patient_id, b.patient_id);
  auto found = store_->find_patients(lab_, model::Identifier{" canarymrn4471 ", "lab1", "MR"});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, std::vector<Id>{a.patient_id});
  auto by_name = store_->find_patients(
      lab_, model::HumanName{"CanaryFamilyQZX", {"CANARYGIVENWVU"}, "", "", ""},
      *model::DateTime::parse_hl7("19230417"));
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(*by_name, std::vector<Id>{a.patient_id});
  auto record = store_->read_patient(lab_, a.patient_id);
  EXPECT_EQ(record->reports.size(), 2u);
  CanaryPatient other;
  other.mrn = "CANARYMRN9999";
  EXPECT_NE(put(oru(other, "MSG-C", "FL-C")).patient_id, a.patient_id);
}

TEST_F(StoreTest, CorrectionKeepsThePreviousValueInHistory) {
  CanaryPatient p;
  Outcome first = put(oru(p, "MSG-1", "FL-7", "11.2", "F"));
  Outcome corrected = put(oru(p, "MSG-2", "FL-7", "12.5", "C"));
  ASSERT_FALSE(corrected.error);
  auto record = store_->read_patient(lab_, first.patient_id);
  ASSERT_TRUE(record.has_value()) << record.error().message;
  ASSERT_EQ(record->reports.size(), 1u);
  const auto& obs = record->reports[0].report.observations;
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(std::get<model::NumericValue>(obs[0].value).text, "12.5");
  EXPECT_EQ(obs[0].status, model::ResultStatus::kCorrected);
  ASSERT_EQ(obs[0].history.size(), 1u);
  EXPECT_EQ(std::get<model::NumericValue>(obs[0].history[0].value).text, "11.2");
  EXPECT_EQ(obs[0].history[0].status, model::ResultStatus::kFinal);
  // Unchanged platelets were rewritten with the new status only; their history holds the F.
  EXPECT_EQ(obs[1].history.size(), 1u);
  EXPECT_EQ(record->reports[0].report.specimens.size(), 1u);  // the same specimen, not twice
  auto prov = store_->provenance(lab_, corrected.message_id);
  ASSERT_TRUE(prov.has_value());
  EXPECT_NE(std::ranges::find(prov->records, std::pair<std::string, Id>{"observation_history", 1}),
            prov->records.end());
}

TEST_F(StoreTest, AnotherLabSeesNothing) {
  auto lab2 = store_->create_lab("LAB2", "Lab Two");
  ASSERT_TRUE(lab2.has_value());
  CanaryPatient p;
  Outcome out = put(oru(p, "MSG-1"));
  auto read = store_->read_patient(lab2->id, out.patient_id);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, model::ErrorCode::kNotFound);
  EXPECT_EQ(store_->read_raw_message(lab2->id, out.message_id).error().code,
            model::ErrorCode::kNotFound);
  EXPECT_TRUE(store_->find_patients(lab2->id, model::Identifier{p.mrn, "LAB1", "MR"})->empty());
  EXPECT_TRUE(store_->list_patients(lab2->id)->empty());
  // The same MRN in lab 2 is a different patient with a different key.
  Outcome other = put(oru(p, "MSG-1"), lab2->id);
  EXPECT_FALSE(other.duplicate);
  EXPECT_NE(other.patient_id, out.patient_id);
}

TEST_F(StoreTest, CiphertextMovedToAnotherRowColumnOrLabFailsToOpen) {
  auto lab2 = store_->create_lab("LAB2", "Lab Two");
  CanaryPatient p, q;
  q.mrn = "CANARYMRN5555";
  Outcome a = put(oru(p, "MSG-1", "FL-1"));
  Outcome b = put(oru(q, "MSG-2", "FL-2"));
  Outcome c = put(oru(p, "MSG-3", "FL-3"), lab2->id);
  store_.reset();
  const std::string db = db_path();

  struct Case {
    std::string name, sql;
    Id lab, patient;
  };
  std::vector<Case> cases = {
      // Row: patient a's hemoglobin gets the value of a's platelets (same key, other row).
      {"row",
       "UPDATE observations SET result = (SELECT result FROM observations WHERE id = 2) "
       "WHERE id = 1",
       lab_, a.patient_id},
      // Column: a report's detail copied into the order's detail column (same row id 1).
      {"column",
       "UPDATE orders SET detail = (SELECT detail FROM reports WHERE id = 1) WHERE id = 1", lab_,
       a.patient_id},
      // Patient: b's demographics pasted over a's.
      {"patient",
       fmt::format("UPDATE patients SET demographics = (SELECT demographics FROM "
                   "patients WHERE id = {}) WHERE id = {}",
                   b.patient_id, a.patient_id),
       lab_, a.patient_id},
      // Lab: lab 2's copy of the patient moved into lab 1's row.
      {"lab",
       fmt::format("UPDATE patients SET demographics = (SELECT demographics FROM patients "
                   "WHERE id = {}) WHERE id = {}",
                   c.patient_id, b.patient_id),
       lab_, b.patient_id},
  };
  std::filesystem::copy_file(db, db + ".clean");
  for (const Case& k : cases) {
    std::filesystem::copy_file(db + ".clean", db,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove(db + "-wal");
    tamper(db, k.sql);
    reopen();
    auto read = store_->read_patient(k.lab, k.patient);
    ASSERT_FALSE(read.has_value()) << k.name;
    EXPECT_EQ(read.error().code, model::ErrorCode::kCrypto) << k.name;
    EXPECT_NE(read.error().message.find("does not authenticate"), std::string::npos)
        << read.error().message;
    EXPECT_EQ(read.error().message.find("CANARY"), std::string::npos);
    store_.reset();
  }
}

TEST_F(StoreTest, ShreddingOnePatientLeavesOthersReadable) {
  CanaryPatient p, q;
  q.mrn = "CANARYMRN6060";
  Outcome a = put(oru(p, "MSG-1", "FL-1"));
  Outcome b = put(oru(q, "MSG-2", "FL-2"));
  // A second connection that has the key cached must lose it too (a shred from the CLI while
  // the server runs).
  auto other = open(db_path(), *keyring_);
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE((*other)->read_patient(lab_, a.patient_id).has_value());
  std::string wrapped;
  {
    sqlite3* raw = nullptr;
    sqlite3_open(db_path().c_str(), &raw);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(raw,
                       "SELECT wrapped FROM data_keys d JOIN patients p ON p.key_id = d.id "
                       "WHERE p.id = ?",
                       -1, &s, nullptr);
    sqlite3_bind_int64(s, 1, a.patient_id);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    wrapped.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)), sqlite3_column_bytes(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(raw);
  }

  ASSERT_TRUE(store_->shred_patient(lab_, a.patient_id).has_value());
  for (Store* s : {store_.get(), other->get()}) {
    auto gone = s->read_patient(lab_, a.patient_id);
    ASSERT_FALSE(gone.has_value());
    EXPECT_EQ(gone.error().code, model::ErrorCode::kKey);
    EXPECT_NE(gone.error().message.find("shredded"), std::string::npos);
    EXPECT_FALSE(s->read_raw_message(lab_, a.message_id).has_value());
    EXPECT_TRUE(s->read_patient(lab_, b.patient_id).has_value());
  }
  EXPECT_TRUE(store_->find_patients(lab_, model::Identifier{p.mrn, "LAB1", "MR"})->empty());
  // No blind index of the shredded patient survives: the old accession number is free again
  // instead of "already on file for another patient".
  CanaryPatient r;
  r.mrn = "CANARYMRN6161";
  Outcome reuse = put(oru(r, "MSG-3", "FL-1"));
  EXPECT_FALSE(reuse.error) << reuse.error->message;
  other->reset();
  store_.reset();
  // The wrapped key's bytes are gone from every file (secure_delete + WAL checkpoint).
  for (const auto& f : std::filesystem::directory_iterator(root_ / "data")) {
    std::string bytes = testing::read_bytes(f.path());
    EXPECT_EQ(bytes.find(wrapped), std::string::npos) << f.path();
  }
  reopen();
  EXPECT_EQ(store_->read_patient(lab_, a.patient_id).error().code, model::ErrorCode::kKey);
  auto stats = store_->key_stats();
  EXPECT_EQ(stats->shredded, 1);
  EXPECT_EQ(stats->patient_keys, 2);
}

TEST_F(StoreTest, KekRotationRewrapsWithoutLosingAnything) {
  CanaryPatient p;
  Outcome a = put(oru(p, "MSG-1"));
  // A server that keeps running through the rotation, with the keyring as it was at its start.
  auto server_ring = crypto::Keyring::load(root_ / "keyring");
  ASSERT_TRUE(server_ring.has_value());
  auto server = open(db_path(), *server_ring);
  ASSERT_TRUE(server.has_value());
  ASSERT_TRUE(keyring_->add_kek("2026-11-26T00:00:00Z").has_value());
  auto early = store_->retire_kek(1);  // keys are still wrapped by version 1
  ASSERT_FALSE(early.has_value());
  EXPECT_NE(early.error().message.find("still wraps 2 data keys"), std::string::npos);
  // Old wrappings still open before re-wrapping; new keys use version 2.
  reopen();
  EXPECT_TRUE(store_->read_patient(lab_, a.patient_id).has_value());
  CanaryPatient q;
  q.mrn = "CANARYMRN7070";
  Outcome b = put(oru(q, "MSG-2", "FL-2"));
  auto stats = store_->key_stats();
  EXPECT_EQ(stats->by_kek_version,
            (std::vector<std::pair<std::uint32_t, int>>{{1, 2}, {2, 1}}));  // lab+a on v1, b on v2
  int total = 0;
  for (;;) {
    auto n = store_->rewrap_data_keys(1);
    ASSERT_TRUE(n.has_value()) << n.error().message;
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(total, 2);
  EXPECT_FALSE(store_->retire_kek(2).has_value());  // the current one
  EXPECT_EQ(store_->key_stats()->by_kek_version,
            (std::vector<std::pair<std::uint32_t, int>>{{2, 3}}));
  // The running server meets keys wrapped by KEK v2, reloads its ring and reads on.
  auto via_server = (*server)->read_patient(lab_, b.patient_id);
  ASSERT_TRUE(via_server.has_value()) << via_server.error().message;
  EXPECT_EQ(server_ring->current_kek_version(), 2u);
  server->reset();
  ASSERT_TRUE(store_->retire_kek(1).has_value());
  auto reloaded = crypto::Keyring::load(root_ / "keyring");
  ASSERT_TRUE(reloaded.has_value());
  *keyring_ = std::move(*reloaded);
  reopen();
  EXPECT_TRUE(store_->read_patient(lab_, a.patient_id).has_value());
  EXPECT_TRUE(store_->read_patient(lab_, b.patient_id).has_value());
}

TEST_F(StoreTest, AnotherKeyringCannotReadTheData) {
  CanaryPatient p;
  Outcome a = put(oru(p, "MSG-1"));
  auto stranger = crypto::Keyring::create(root_ / "other-keyring", "t");
  ASSERT_TRUE(stranger.has_value());
  store_.reset();
  auto s = open(db_path(), *stranger);
  ASSERT_TRUE(s.has_value());
  auto read = (*s)->read_patient(lab_, a.patient_id);
  ASSERT_FALSE(read.has_value());
  // The other ring also has a KEK version 1, but not this one: the data key does not unwrap.
  EXPECT_EQ(read.error().code, model::ErrorCode::kCrypto);
  EXPECT_NE(read.error().message.find("does not unwrap"), std::string::npos);
}

TEST_F(StoreTest, ARejectedMessageRollsBackAloneInItsBatch) {
  CanaryPatient p, q;
  q.mrn = "CANARYMRN8080";
  std::string ok1 = oru(p, "MSG-1", "FL-1"), clash = oru(q, "MSG-2", "FL-1"),
              ok2 = oru(q, "MSG-3", "FL-3");
  auto m1 = hl7::parse_to_model(ok1), m2 = hl7::parse_to_model(clash),
       m3 = hl7::parse_to_model(ok2);
  std::vector<Inbound> batch{{"ANALYZER^LAB1", "MSG-1", "hl7", ok1, &*m1, std::nullopt, {}},
                             {"ANALYZER^LAB1", "MSG-2", "hl7", clash, &*m2, std::nullopt, {}},
                             {"ANALYZER^LAB1", "MSG-3", "hl7", ok2, &*m3, std::nullopt, {}}};
  auto outs = store_->store_messages(lab_, batch, nullptr);
  ASSERT_TRUE(outs.has_value());
  EXPECT_FALSE((*outs)[0].error);
  ASSERT_TRUE((*outs)[1].error);  // FL-1 already belongs to patient p
  EXPECT_EQ((*outs)[1].error->code, model::ErrorCode::kDuplicate);
  EXPECT_FALSE((*outs)[2].error);
  EXPECT_EQ((*outs)[2].patient_id, store_->find_patients(lab_, {q.mrn, "LAB1", "MR"})->at(0));
  // Nothing of the rejected message remains, and its patient (created by MSG-3) has one report.
  auto record = store_->read_patient(lab_, (*outs)[2].patient_id);
  ASSERT_TRUE(record.has_value()) << record.error().message;
  EXPECT_EQ(record->reports.size(), 1u);
  store_.reset();
  EXPECT_EQ(count(db_path(), "SELECT count(*) FROM inbound_messages"), 2);
}

TEST_F(StoreTest, ImportsAndProvenanceRecordWhereRecordsCameFrom) {
  auto import = store_->begin_import(lab_, "hl7", "CANARYFAMILYQZX-results.hl7");
  ASSERT_TRUE(import.has_value());
  CanaryPatient p;
  Outcome out = put(oru(p, "MSG-1"), 0, {}, *import);
  ASSERT_TRUE(store_->finish_import(lab_, *import, 1, 0).has_value());
  auto prov = store_->provenance(lab_, out.message_id);
  ASSERT_TRUE(prov.has_value()) << prov.error().message;
  ASSERT_TRUE(prov->import);
  EXPECT_EQ(prov->import->source, "CANARYFAMILYQZX-results.hl7");
  EXPECT_EQ(prov->import->messages, 1);
  int observations = 0;
  for (const auto& [table, id] : prov->records) observations += table == "observations";
  EXPECT_EQ(observations, 2);
}

TEST_F(StoreTest, OutboxRowsAreWrittenWithTheMessageAndRetried) {
  CanaryPatient p;
  Outcome out = put(oru(p, "MSG-1"), 0, {"ehr", "portal"});
  auto due = store_->due_deliveries(10);
  ASSERT_TRUE(due.has_value());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].message_id, out.message_id);
  ASSERT_TRUE(store_->mark_delivered((*due)[0].id).has_value());
  ASSERT_TRUE(store_->retry_later((*due)[1].id, now_us_ + 60'000'000, "timeout").has_value());
  EXPECT_TRUE(store_->due_deliveries(10)->empty());
  now_us_ += 61'000'000;
  ASSERT_EQ(store_->due_deliveries(10)->size(), 1u);
  EXPECT_EQ(store_->due_deliveries(10)->front().attempts, 1);
  EXPECT_FALSE(store_->mark_delivered((*due)[0].id).has_value());  // already delivered
}

}  // namespace
}  // namespace labvault::store::sqlite
