// End-to-end tests of `labvault init` and `labvault keys`: keyring checks before anything is
// written, idempotent init, rotation and shredding through the binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/cli_run.hpp"

namespace {

using labvault::testing::CliRun;
using labvault::testing::labvault;

namespace fs = std::filesystem;

std::vector<fs::path> tree(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path());
  std::ranges::sort(out);
  return out;
}

class CliKeys : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = labvault::testing::fresh_test_dir("clikeys"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string data() const { return (dir_ / "data").string(); }
  std::string keyring() const { return (dir_ / "labvault.keyring").string(); }
  std::string config() const { return (dir_ / "data" / "labvault.toml").string(); }
  fs::path dir_;
};

TEST_F(CliKeys, InitCreatesPrivateFilesAndIsIdempotent) {
  CliRun first = labvault("init --data " + data() + " --demo");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("demo lab DEMO: 4 messages, 3 patients"), std::string::npos);
  EXPECT_EQ(fs::status(keyring()).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(data()).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(data() + "/labvault.db").permissions() &
                (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  std::ifstream ring(keyring());
  std::string before((std::istreambuf_iterator<char>(ring)), {});
  CliRun again = labvault("init --data " + data() + " --demo");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("already present"), std::string::npos);
  std::ifstream ring2(keyring());
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(ring2)), {}), before);
  CliRun status = labvault("keys status --config " + config());
  EXPECT_EQ(status.exit_code, 0);
  // Lab keys: DEMO and the system tenant (lab 0, identity data of the demo people).
  EXPECT_NE(status.out.find("2 lab, 3 patient, 0 shredded"), std::string::npos) << status.out;
}

TEST_F(CliKeys, KeyringProblemsAreRefusedBeforeAnythingIsWritten) {
  // Inside the data directory.
  CliRun inside = labvault("init --data " + data() + " --keyring " + data() + "/k");
  EXPECT_EQ(inside.exit_code, 1);
  EXPECT_NE(inside.out.find("inside the data directory"), std::string::npos) << inside.out;
  EXPECT_TRUE(tree(dir_).empty());
  // Readable by others.
  std::ofstream(keyring()) << "labvault-keyring 1\n";
  ::chmod(keyring().c_str(), 0644);
  CliRun open = labvault("init --data " + data());
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_NE(open.out.find("chmod 600"), std::string::npos) << open.out;
  EXPECT_EQ(tree(dir_), std::vector<fs::path>{keyring()});
  fs::remove(keyring());
  // A database whose keyring went missing: init must not mint a new one.
  ASSERT_EQ(labvault("init --data " + data()).exit_code, 0);
  fs::rename(keyring(), dir_ / "moved.keyring");
  auto files = tree(dir_);
  CliRun missing = labvault("init --data " + data());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("keyring"), std::string::npos);
  EXPECT_NE(missing.out.find("missing"), std::string::npos) << missing.out;
  EXPECT_EQ(tree(dir_), files);
  CliRun status = labvault("keys status --config " + config());
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(status.out.find("cannot open keyring"), std::string::npos) << status.out;
}

TEST_F(CliKeys, RotateRewrapsAndRetiresAndShredNeedsConfirmation) {
  ASSERT_EQ(labvault("init --data " + data() + " --demo").exit_code, 0);
  CliRun rotate = labvault("keys rotate --retire-old --config " + config());
  ASSERT_EQ(rotate.exit_code, 0) << rotate.out;
  EXPECT_NE(rotate.out.find("re-wrapped 5 data keys under KEK version 2"), std::string::npos);
  EXPECT_NE(rotate.out.find("retired KEK version 1"), std::string::npos);
  CliRun unconfirmed = labvault(
      "keys shred-patient --config " + config() + " --lab DEMO --mrn-stdin --authority DEMOLAB",
      "DEMO-MRN-1002");
  EXPECT_EQ(unconfirmed.exit_code, 2);
  CliRun shred = labvault("keys shred-patient --config " + config() +
                              " --lab DEMO --mrn-stdin --authority DEMOLAB --yes",
                          "DEMO-MRN-1002");
  ASSERT_EQ(shred.exit_code, 0) << shred.out;
  EXPECT_EQ(shred.out.find("DEMO-MRN-1002"), std::string::npos);  // never echoes the MRN
  CliRun again = labvault("keys shred-patient --config " + config() +
                              " --lab DEMO --mrn-stdin --authority DEMOLAB --yes",
                          "DEMO-MRN-1002");
  EXPECT_EQ(again.exit_code, 1);  // the blind index went with the key
  CliRun status = labvault("keys status --config " + config());
  EXPECT_NE(status.out.find("2 lab, 2 patient, 1 shredded"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("KEK versions 2 (current 2)"), std::string::npos) << status.out;
}

}  // namespace
