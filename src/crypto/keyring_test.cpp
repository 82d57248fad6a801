#include "crypto/keyring.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace labvault::crypto {
namespace {

namespace fs = std::filesystem;

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("labvault-keyring-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(KeyringTest, CreateWritesA0600FileThatLoadsBack) {
  fs::path path = dir_ / "keys" / "keyring";
  auto ring = Keyring::create(path, "2026-11-25T00:00:00Z");
  ASSERT_TRUE(ring.has_value()) << ring.error().message;
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  auto key = random_key(kKeySize);
  auto wrapped = ring->wrap(*key, 17, "patient:1:17");
  ASSERT_TRUE(wrapped.has_value());
  auto loaded = Keyring::load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  auto unwrapped = loaded->unwrap(*wrapped, 17, "patient:1:17");
  ASSERT_TRUE(unwrapped.has_value());
  EXPECT_TRUE(*unwrapped == *key);
  EXPECT_EQ(loaded->blind_indexer().index("mrn", 1, "X"),
            ring->blind_indexer().index("mrn", 1, "X"));
  EXPECT_TRUE(loaded->audit_signing_seed() == ring->audit_signing_seed());
}

TEST_F(KeyringTest, CreateNeverOverwritesAnExistingKeyring) {
  fs::path path = dir_ / "keyring";
  ASSERT_TRUE(Keyring::create(path, "t").has_value());
  std::string before = [&] {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto again = Keyring::create(path, "t");
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), before);
}

TEST_F(KeyringTest, GroupOrOtherAccessIsRefused) {
  fs::path path = dir_ / "keyring";
  ASSERT_TRUE(Keyring::create(path, "t").has_value());
  for (mode_t mode : {0640, 0604, 0660, 0610}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto ring = Keyring::load(path);
    ASSERT_FALSE(ring.has_value()) << std::oct << mode;
    EXPECT_EQ(ring.error().code, model::ErrorCode::kKey);
    EXPECT_NE(ring.error().message.find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(Keyring::load(path).has_value());
}

TEST_F(KeyringTest, SymlinkAndMissingFileAreRefused) {
  fs::path path = dir_ / "keyring";
  ASSERT_TRUE(Keyring::create(path, "t").has_value());
  fs::create_symlink(path, dir_ / "link");
  auto linked = Keyring::load(dir_ / "link");
  ASSERT_FALSE(linked.has_value());
  EXPECT_NE(linked.error().message.find("symbolic link"), std::string::npos);
  auto missing = Keyring::load(dir_ / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

TEST_F(KeyringTest, DamagedFilesAreRefusedWithTheLine) {
  fs::path path = dir_ / "keyring";
  auto write = [&](std::string_view text) {
    fs::remove(path);
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  };
  write("not a keyring\n");
  EXPECT_NE(Keyring::load(path).error().message.find("line 1"), std::string::npos);
  write("labvault-keyring 1\nkek 1 t AAAA\n");
  EXPECT_NE(Keyring::load(path).error().message.find("line 2"), std::string::npos);
  write("labvault-keyring 1\n");
  EXPECT_NE(Keyring::load(path).error().message.find("incomplete"), std::string::npos);
}

TEST_F(KeyringTest, InsideTheDataDirectoryIsRefused) {
  EXPECT_FALSE(Keyring::check_outside(dir_ / "data" / "keyring", dir_ / "data").has_value());
  EXPECT_FALSE(Keyring::check_outside(dir_ / "data" / "x" / ".." / "k", dir_ / "data").has_value());
  EXPECT_TRUE(Keyring::check_outside(dir_ / "keyring", dir_ / "data").has_value());
  EXPECT_TRUE(Keyring::check_outside(dir_ / "data2" / "keyring", dir_ / "data").has_value());
}

TEST_F(KeyringTest, RotationKeepsOldVersionsUntilRetired) {
  fs::path path = dir_ / "keyring";
  auto ring = Keyring::create(path, "t1");
  ASSERT_TRUE(ring.has_value());
  auto key = random_key(kKeySize);
  auto old_wrapped = ring->wrap(*key, 4, "lab:1");
  ASSERT_TRUE(old_wrapped.has_value());
  EXPECT_EQ(*Keyring::wrapped_by(*old_wrapped), 1u);

  auto v2 = ring->add_kek("t2");
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(*v2, 2u);
  auto reloaded = Keyring::load(path);
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->current_kek_version(), 2u);
  // The old wrapping still opens; a new wrapping uses version 2.
  EXPECT_TRUE(reloaded->unwrap(*old_wrapped, 4, "lab:1").has_value());
  auto new_wrapped = reloaded->wrap(*key, 4, "lab:1");
  EXPECT_EQ(*Keyring::wrapped_by(*new_wrapped), 2u);

  EXPECT_FALSE(reloaded->retire_kek(2).has_value());  // current
  ASSERT_TRUE(reloaded->retire_kek(1).has_value());
  auto after = Keyring::load(path);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->kek_versions(), std::vector<std::uint32_t>{2});
  auto gone = after->unwrap(*old_wrapped, 4, "lab:1");
  ASSERT_FALSE(gone.has_value());
  EXPECT_NE(gone.error().message.find("KEK version 1"), std::string::npos);
  EXPECT_TRUE(after->unwrap(*new_wrapped, 4, "lab:1").has_value());
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(KeyringTest, TwoRotationsFromStaleCopiesMakeTwoVersionsNotOne) {
  fs::path path = dir_ / "keyring";
  ASSERT_TRUE(Keyring::create(path, "t").has_value());
  auto a = Keyring::load(path);
  auto b = Keyring::load(path);  // both believe version 1 is the newest
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a->add_kek("t2"), 2u);
  EXPECT_EQ(*b->add_kek("t3"), 3u);  // re-read the file under the lock
  auto key = random_key(kKeySize);
  auto by_a = a->wrap(*key, 1, "lab:1");
  ASSERT_TRUE(b->unwrap(*by_a, 1, "lab:1").has_value());  // b knows a's version 2
  EXPECT_EQ(Keyring::load(path)->kek_versions(), (std::vector<std::uint32_t>{1, 2, 3}));
}

TEST_F(KeyringTest, ReloadRefusesAFileWhoseVersionHasOtherBytes) {
  fs::path path = dir_ / "keyring";
  auto ring = Keyring::create(path, "t");
  ASSERT_TRUE(ring.has_value());
  fs::remove(path);
  ASSERT_TRUE(Keyring::create(path, "t").has_value());  // another version 1
  auto reloaded = ring->reload();
  ASSERT_FALSE(reloaded.has_value());
  EXPECT_NE(reloaded.error().message.find("differs"), std::string::npos);
}

TEST_F(KeyringTest, AWrappedKeyMovedToAnotherRowDoesNotUnwrap) {
  auto ring = Keyring::create(dir_ / "keyring", "t");
  ASSERT_TRUE(ring.has_value());
  auto key = random_key(kKeySize);
  auto wrapped = ring->wrap(*key, 4, "patient:1:9");
  EXPECT_EQ(ring->unwrap(*wrapped, 5, "patient:1:9").error().code, model::ErrorCode::kCrypto);
  EXPECT_EQ(ring->unwrap(*wrapped, 4, "patient:2:9").error().code, model::ErrorCode::kCrypto);
}

}  // namespace
}  // namespace labvault::crypto
