// Invariants 1 and 8 for the ingest pipeline on a real SQLite store and audit log: an AA only
// after the commit, retransmissions stored once, bad messages answered AE/AR with ERR and
// nothing stored, senders checked against the lab they claim.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "audit/verify.hpp"
#include "hl7/message.hpp"
#include "ingest/import.hpp"
#include "ingest/pipeline.hpp"
#include "support/store_fixture.hpp"
#include "support/testdata.hpp"

namespace labvault::testing {
namespace {

// MSA-1 and the ERR segments of an ACK.
struct Ack {
  std::string code;
  std::vector<std::string> errs;
};

Ack read_ack(const std::string& ack) {
  auto m = hl7::Message::parse(ack);
  EXPECT_TRUE(m.has_value()) << ack;
  Ack a;
  if (!m) return a;
  for (std::size_t i = 0; i < m->segment_count(); ++i) {
    auto s = m->segment(i);
    if (s.id() == "MSA") a.code = std::string(s.field(1).raw());
    if (s.id() == "ERR") a.errs.emplace_back(s.field(3).raw());
  }
  return a;
}

class IngestTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto log = audit::Log::open(*store_, *keyring_, {});
    ASSERT_TRUE(log.has_value());
    log_ = std::move(*log);
    auto other = store_->create_lab("LABB", "Lab B");
    ASSERT_TRUE(other.has_value());
    other_lab_ = other->id;
    ingest::Options o;
    o.senders = {{"analyzer-1", lab_, "ANALYZER", "LAB1", ""},
                 {"lis-2", lab_, "LIS", "LAB2", "lis2.example.org"},
                 {"relay-3", lab_, "", "", "relay3.example.org"},
                 {"lab-b", other_lab_, "BANALYZER", "LABB", ""}};
    pipeline_ = std::make_unique<ingest::Pipeline>(*store_, *log_, o);
    pipeline_->start();
  }
  void TearDown() override {
    pipeline_.reset();
    log_.reset();
    StoreTest::TearDown();
  }
  std::string send(std::string message, std::string tls_subject = "") {
    return pipeline_->handle(std::move(message), {"mllp", "10.0.0.9:4100", tls_subject});
  }
  std::size_t patients() {
    auto p = store_->list_patients(lab_);
    EXPECT_TRUE(p.has_value());
    return p ? p->size() : 0;
  }
  std::vector<store::AuditRow> audit_rows() {
    auto rows = store_->read_audit(1, 100000);
    EXPECT_TRUE(rows.has_value());
    return rows ? *rows : std::vector<store::AuditRow>{};
  }

  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<ingest::Pipeline> pipeline_;
  store::Id other_lab_ = 0;
};

std::string from(std::string message, std::string_view app_and_facility) {
  message.replace(message.find("ANALYZER|LAB1"), 13, app_and_facility);
  return message;
}

TEST_F(IngestTest, AcceptedMessageIsStoredWithItsAuditRecordBeforeTheAa) {
  Ack a = read_ack(send(oru(CanaryPatient{}, "M-1")));
  EXPECT_EQ(a.code, "AA");
  EXPECT_EQ(patients(), 1u);
  auto rows = audit_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "create");
  EXPECT_EQ(rows[0].actor, "sender:analyzer-1");
  EXPECT_NE(rows[0].patient_id, 0);
}

TEST_F(IngestTest, RetransmittedMessageIsStoredOnceAndAckedTwice) {
  std::string m = oru(CanaryPatient{}, "M-2");
  EXPECT_EQ(read_ack(send(m)).code, "AA");
  EXPECT_EQ(read_ack(send(m)).code, "AA");
  EXPECT_EQ(patients(), 1u);
  auto record = store_->read_patient(lab_, store_->list_patients(lab_)->front());
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->reports.size(), 1u);
  auto counters = pipeline_->counters();
  EXPECT_EQ(counters.accepted, 1u);
  EXPECT_EQ(counters.duplicates, 1u);
  auto rows = audit_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[1].entry.find("retransmission"), std::string::npos);
}

TEST_F(IngestTest, EveryInvalidTestFileIsAnsweredWithErrAndStoresNothing) {
  for (const auto& file : files_in("hl7/invalid")) {
    std::string ack = send(read_bytes(file));
    Ack a = read_ack(ack);
    EXPECT_TRUE(a.code == "AE" || a.code == "AR") << file << ": " << a.code;
    EXPECT_FALSE(a.errs.empty()) << file;
  }
  EXPECT_EQ(patients(), 0u);
  for (const auto& row : audit_rows()) EXPECT_EQ(row.outcome, "error");
}

TEST_F(IngestTest, UnknownSenderAndSenderWithTheWrongCertificateAreDeniedAndAudited) {
  std::string m = oru(CanaryPatient{}, "M-3");
  std::string stranger = m;
  stranger.replace(stranger.find("ANALYZER|LAB1"), 13, "ROGUE|LABX");
  EXPECT_NE(read_ack(send(stranger)).code, "AA");
  std::string lis = m;
  lis.replace(lis.find("ANALYZER|LAB1"), 13, "LIS|LAB2");
  EXPECT_NE(read_ack(send(lis, "someone-else.example.org")).code, "AA");
  EXPECT_EQ(read_ack(send(lis, "lis2.example.org")).code, "AA");
  EXPECT_EQ(patients(), 1u);
  int denied = 0;
  for (const auto& row : audit_rows()) denied += row.outcome == "denied";
  EXPECT_EQ(denied, 2);
}

TEST_F(IngestTest, ACertificateOnlySenderRelaysAnyFacilityOfItsLabButNoOtherLabs) {
  // A relay identified by its certificate alone may send for facilities nobody configured.
  EXPECT_EQ(
      read_ack(send(from(oru(CanaryPatient{}, "R-1"), "HUB|SITE9"), "relay3.example.org")).code,
      "AA");
  EXPECT_NE(read_ack(send(from(oru(CanaryPatient{}, "R-2"), "HUB|SITE9"))).code, "AA");
  EXPECT_NE(
      read_ack(send(from(oru(CanaryPatient{}, "R-3"), "HUB|SITE9"), "stranger.example.org")).code,
      "AA");
  // Its own lab's configured facility is fine; another lab's is a false claim.
  EXPECT_EQ(read_ack(send(oru(CanaryPatient{}, "R-4"), "relay3.example.org")).code, "AA");
  EXPECT_NE(
      read_ack(send(from(oru(CanaryPatient{}, "R-5"), "BANALYZER|LABB"), "relay3.example.org"))
          .code,
      "AA");
  auto b = store_->list_patients(other_lab_);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->empty());
  int mismatches = 0, unknown = 0;
  for (const auto& row : audit_rows()) {
    mismatches += row.entry.find("sender-identity-mismatch") != std::string::npos;
    unknown += row.entry.find("unknown-sender") != std::string::npos;
  }
  EXPECT_EQ(mismatches, 1);
  EXPECT_EQ(unknown, 2);
}

TEST_F(IngestTest, ConcurrentConnectionsShareGroupCommitsAndEveryAaIsStored) {
  constexpr int kConnections = 8, kEach = 40;
  std::atomic<int> aa{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        CanaryPatient p;
        p.mrn = "MRN" + std::to_string(c * 1000 + i);
        std::string id = "C" + std::to_string(c) + "-" + std::to_string(i);
        if (read_ack(send(oru(p, id, "FL-" + id))).code == "AA") ++aa;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(aa.load(), kConnections * kEach);
  EXPECT_EQ(patients(), static_cast<std::size_t>(kConnections * kEach));
  EXPECT_LT(pipeline_->counters().commits, static_cast<std::uint64_t>(kConnections * kEach));
  pipeline_.reset();
  log_.reset();
  auto key = crypto::SigningKey::from_seed(keyring_->audit_signing_seed());
  auto report = audit::verify(*store_, key->public_key());
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->records, static_cast<std::uint64_t>(kConnections * kEach));
}

TEST_F(IngestTest, ImportStoresTheGoodMessagesNamesTheBadOneAndKeepsTheFileInTheHistory) {
  std::vector<ingest::FileMessage> messages;
  CanaryPatient a, b;
  b.mrn = "OTHER-MRN";
  for (const std::string& raw : {oru(a, "IMP-1", "FL-I1"), oru(b, "IMP-2", "FL-I2", "x", "Q")}) {
    auto parsed = hl7::Message::parse(raw, 1, "upload.hl7");
    messages.push_back(
        {raw, parsed ? hl7::to_model(*parsed)
                     : model::Result<model::LabMessage>(std::unexpected(parsed.error()))});
  }
  ingest::ImportRequest request{.lab = lab_,
                                .actor = "cli:1000",
                                .kind = "hl7",
                                .source_name = "upload.hl7",
                                .sender = "import^LAB1"};
  auto summary = ingest::import_messages(*store_, *log_, request, messages);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_EQ(summary->stored, 1u);
  EXPECT_EQ(summary->failed, 1u);
  ASSERT_EQ(summary->problems.size(), 1u);
  EXPECT_EQ(summary->problems[0].location.file, "upload.hl7");
  EXPECT_EQ(summary->problems[0].location.segment, "OBX");
  // Conversion history: the stored message points back to the file.
  auto patient = store_->list_patients(lab_);
  ASSERT_TRUE(patient.has_value() && patient->size() == 1);
  auto rows = audit_rows();
  ASSERT_EQ(rows.size(), 2u);  // one import record per message, the refused one as an error
  auto message_id = std::stoll(rows[0].entry.substr(rows[0].entry.find("InboundMessage/") + 15));
  auto provenance = store_->provenance(lab_, message_id);
  ASSERT_TRUE(provenance.has_value());
  ASSERT_TRUE(provenance->import.has_value());
  EXPECT_EQ(provenance->import->source, "upload.hl7");
  EXPECT_EQ(provenance->import->errors, 1);
  // Importing the same file again stores nothing new.
  auto again = ingest::import_messages(*store_, *log_, request, messages);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->duplicates, 1u);
  EXPECT_EQ(again->stored, 0u);
}

}  // namespace
}  // namespace labvault::testing
