// End-to-end tests of `labvault audit` through the binary: verification is read-only until the log
// checks out, reports the first bad record of a tampered database, needs the published copy, and
// proofs verify offline only against a pinned key.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"

namespace {

using labvault::testing::CliRun;
using labvault::testing::labvault;

namespace fs = std::filesystem;

class CliAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = labvault::testing::fresh_test_dir("cliaudit");
    CliRun init = labvault("init --data " + (dir_ / "data").string() + " --demo");
    ASSERT_EQ(init.exit_code, 0) << init.out;
    CliRun rotate = labvault("keys rotate --config " + config());
    ASSERT_EQ(rotate.exit_code, 0) << rotate.out;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string config() const { return (dir_ / "data" / "labvault.toml").string(); }
  fs::path published() const { return dir_ / "labvault-audit-checkpoints.jsonl"; }

  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "data" / "labvault.db").c_str(), &db), SQLITE_OK);
    std::string all =
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
        "DROP TRIGGER audit_checkpoints_no_delete;" +
        sql;
    ASSERT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  fs::path dir_;
};

TEST_F(CliAudit, CleanLogVerifiesAndTheVerificationIsItselfRecorded) {
  CliRun first = labvault("audit verify --config " + config());
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("audit log OK"), std::string::npos);
  CliRun tail = labvault("audit tail --config " + config() + " -n 3");
  ASSERT_EQ(tail.exit_code, 0) << tail.out;
  EXPECT_NE(tail.out.find("audit-verify"), std::string::npos) << tail.out;
  EXPECT_EQ(labvault("audit verify --config " + config()).exit_code, 0);
}

TEST_F(CliAudit, ChangedRecordIsReportedWhereItIsWithoutSigningOverIt) {
  tamper("UPDATE audit_log SET outcome = 'denied' WHERE seq = 3;");
  auto before = fs::file_size(published());
  CliRun run = labvault("audit verify --config " + config());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("audit record 3"), std::string::npos) << run.out;
  EXPECT_EQ(fs::file_size(published()), before);  // nothing was signed or published
  // Writers go on after the signed part (they do not re-read it at start), and nothing they sign
  // hides the change: it stays where verify finds it.
  EXPECT_EQ(labvault("keys rotate --config " + config()).exit_code, 0);
  CliRun again = labvault("audit verify --config " + config());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("audit record 3"), std::string::npos) << again.out;
}

TEST_F(CliAudit, TruncationWithItsCheckpointsNeedsThePublishedCopyWhichMustExist) {
  tamper("DELETE FROM audit_log WHERE seq > 5; DELETE FROM audit_checkpoints WHERE tree_size > 5;");
  CliRun run = labvault("audit verify --config " + config());
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("published checkpoint"), std::string::npos) << run.out;
  fs::remove(published());
  CliRun missing = labvault("audit verify --config " + config());
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("is missing"), std::string::npos) << missing.out;
  EXPECT_FALSE(fs::exists(published()));  // not recreated by the failed verification
}

TEST_F(CliAudit, ProofVerifiesOfflineOnlyAgainstAPinnedKey) {
  fs::path proof = dir_ / "proof.json";
  CliRun prove = labvault("audit prove --config " + config() + " --record 2 -o " + proof.string());
  ASSERT_EQ(prove.exit_code, 0) << prove.out;
  CliRun key = labvault("audit public-key --config " + config());
  ASSERT_EQ(key.exit_code, 0);
  std::string pub = key.out.substr(0, key.out.find(' '));
  fs::remove_all(dir_ / "data");  // offline: nothing but the proof and the key
  CliRun ok = labvault("audit verify-proof " + proof.string() + " --public-key " + pub);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(labvault("audit verify-proof " + proof.string()).exit_code, 2);
  CliRun wrong = labvault("audit verify-proof " + proof.string() +
                          " --public-key 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
}

TEST_F(CliAudit, QueryFindsWhoTouchedAPatientAndBadTimesAreUsageErrors) {
  CliRun q = labvault("audit query --config " + config() + " --lab DEMO --patient 2");
  ASSERT_EQ(q.exit_code, 0) << q.out;
  EXPECT_NE(q.out.find("InboundMessage/3"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("1 records"), std::string::npos) << q.out;
  EXPECT_EQ(labvault("audit query --config " + config() + " --since yesterday").exit_code, 2);
  CliRun fhir = labvault("audit export --config " + config() + " --format fhir");
  ASSERT_EQ(fhir.exit_code, 0);
  EXPECT_NE(fhir.out.find("\"resourceType\":\"AuditEvent\""), std::string::npos);
}

}  // namespace
