#include "store/sqlite/internal/migrations.hpp"

#include <gtest/gtest.h>

#include "store/sqlite/internal/store_impl.hpp"
#include "support/store_fixture.hpp"

namespace labvault::store::sqlite {
namespace {

using testing::CanaryPatient;
using testing::oru;

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            fmt::format("labvault-migrate-{}-{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    auto ring = crypto::Keyring::create(root_ / "keyring", "t");
    ASSERT_TRUE(ring.has_value());
    keyring_ = std::make_unique<crypto::Keyring>(std::move(*ring));
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path db() const { return root_ / "labvault.db"; }
  std::filesystem::path root_;
  std::unique_ptr<crypto::Keyring> keyring_;
};

TEST_F(MigrationTest, AnEmptyFileBecomesTheLatestSchema) {
  auto store = open(db(), *keyring_);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  store->reset();
  auto raw = internal::Db::open(db(), 1000);
  EXPECT_EQ(*(*raw)->scalar("PRAGMA user_version"), internal::latest_schema_version());
  EXPECT_EQ(*(*raw)->scalar("SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"), 1);
  EXPECT_EQ(*(*raw)->scalar("PRAGMA foreign_keys"), 1);
  // Opening again is a no-op, not a second migration.
  ASSERT_TRUE(open(db(), *keyring_).has_value());
}

// For every older schema version: a lab created by that version's code path (labs and data keys
// exist since version 1) survives the upgrade and takes messages afterwards.
TEST_F(MigrationTest, EveryOlderVersionUpgradesWithItsDataIntact) {
  ASSERT_GE(internal::latest_schema_version(), 2);
  for (int version = 1; version < internal::latest_schema_version(); ++version) {
    std::filesystem::remove(db());
    std::filesystem::remove(db().string() + "-wal");
    std::filesystem::remove(db().string() + "-shm");
    {
      auto raw = internal::Db::open(db(), 1000);
      ASSERT_TRUE(raw.has_value());
      ASSERT_TRUE(internal::migrate(**raw, version).has_value());
      EXPECT_EQ(*(*raw)->scalar("PRAGMA user_version"), version);
      internal::SqliteStore old(std::move(*raw), *keyring_, system_now_us);
      ASSERT_TRUE(old.create_lab("OLD", "Lab from an older version").has_value());
    }
    auto store = open(db(), *keyring_);
    ASSERT_TRUE(store.has_value()) << "from v" << version << ": " << store.error().message;
    auto lab = (*store)->find_lab("OLD");
    ASSERT_TRUE(lab.has_value() && lab->has_value()) << "from v" << version;
    CanaryPatient p;
    std::string hl7 = oru(p, "MSG-1");
    auto msg = hl7::parse_to_model(hl7);
    Inbound in{"A^B", "MSG-1", "hl7", hl7, &*msg, std::nullopt, {"ehr"}};
    auto out = (*store)->store_messages((*lab)->id, std::span(&in, 1), nullptr);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    ASSERT_FALSE(out->front().error);
    EXPECT_TRUE((*store)->read_patient((*lab)->id, out->front().patient_id).has_value());
  }
}

TEST_F(MigrationTest, ANewerDatabaseIsRefused) {
  {
    auto raw = internal::Db::open(db(), 1000);
    ASSERT_TRUE((*raw)->exec("PRAGMA user_version = 999").has_value());
  }
  auto store = open(db(), *keyring_);
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace labvault::store::sqlite
