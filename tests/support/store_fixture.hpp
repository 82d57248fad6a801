// Test fixture for the store: a temp data directory, a real keyring beside it, a SQLite store,
// and HL7 messages built with canary values (strings that must never appear at rest or in logs).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "crypto/keyring.hpp"
#include "hl7/hl7.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace labvault::testing {

struct CanaryPatient {
  std::string mrn = "CANARYMRN4471";
  std::string family = "CANARYFAMILYQZX";
  std::string given = "CANARYGIVENWVU";
  std::string birth = "19230417";
  std::string phone = "555-CANARY-0199";
  std::string street = "77 CANARYSTREET Rd";
};

// An ORU^R01 with one OBR and two OBX; `value` is the hemoglobin result, `status` OBX-11.
inline std::string oru(const CanaryPatient& p, std::string_view control_id,
                       std::string_view filler = "FL-1", std::string_view value = "11.2",
                       std::string_view status = "F") {
  return fmt::format(
      "MSH|^~\\&|ANALYZER|LAB1|LABVAULT|HOSP|20261125083000-0500||ORU^R01^ORU_R01|{}|P|2.5.1\r"
      "PID|1||{}^^^LAB1^MR||{}^{}||{}|F|||{}^^Springfield^IL^62701||{}^PRN^PH\r"
      "PV1|1|O|LAB^101^A||||||||||||||||V-{}\r"
      "ORC|RE|PL-{}|{}\r"
      "OBR|1|PL-{}|{}|58410-2^CBC "
      "panel^LN|||20261125071500-0500|||||||||||||||20261125082900-0500|||{}\r"
      "OBX|1|NM|718-7^Hemoglobin^LN||{}|g/dL^^UCUM|12.0-16.0|L|||{}|||20261125071500-0500\r"
      "OBX|2|NM|777-3^Platelets^LN||425|10*3/uL^^UCUM|150-400|H|||{}|||20261125071500-0500\r"
      "NTE|1|L|CANARYNOTE smear reviewed\r"
      "SPM|1|^SP-{}||119297000^Blood specimen^SCT|||||||||||||20261125071500-0500\r",
      control_id, p.mrn, p.family, p.given, p.birth, p.street, p.phone, filler, filler, filler,
      filler, filler, status == "C" ? "C" : "F", value, status, status, filler);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("labvault-store-{}-{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "data");
    auto ring = crypto::Keyring::create(root_ / "keyring", "2026-11-25T00:00:00Z");
    ASSERT_TRUE(ring.has_value()) << ring.error().message;
    keyring_ = std::make_unique<crypto::Keyring>(std::move(*ring));
    reopen();
    auto lab = store_->create_lab("LAB1", "Lab One");
    ASSERT_TRUE(lab.has_value()) << lab.error().message;
    lab_ = lab->id;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(root_);
  }

  void reopen() {
    store_.reset();
    store::sqlite::Options options;
    options.clock = [this] { return now_us_; };
    auto s = store::sqlite::open(db_path(), *keyring_, options);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }

  std::filesystem::path db_path() const { return root_ / "data" / store::sqlite::kDatabaseFile; }

  // Parses `hl7` and stores it; returns the outcome (fails the test on a batch error).
  store::Outcome put(std::string_view hl7, store::Id lab = 0,
                     std::vector<std::string> subscribers = {},
                     std::optional<store::Id> import_id = std::nullopt) {
    auto msg = hl7::parse_to_model(hl7);
    EXPECT_TRUE(msg.has_value()) << (msg ? "" : msg.error().to_string());
    if (!msg) return {};
    store::Inbound in{"ANALYZER^LAB1", msg->header.control_id, "hl7", hl7, &*msg,
                      import_id,       std::move(subscribers)};
    auto out = store_->store_messages(lab == 0 ? lab_ : lab, std::span(&in, 1), nullptr);
    EXPECT_TRUE(out.has_value()) << (out ? "" : out.error().message);
    if (!out) return {};
    return out->front();
  }

  std::filesystem::path root_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  store::Id lab_ = 0;
  std::int64_t now_us_ = 1'700'000'000'000'000;
};

}  // namespace labvault::testing
