// DESIGN.md invariant 2: no plaintext PHI at rest. Messages full of canary values go into a real
// store; then every byte of every file SQLite wrote (database, WAL, shared memory, temp files) is
// scanned for them.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/store_fixture.hpp"
#include "support/testdata.hpp"

namespace labvault {
namespace {

using testing::CanaryPatient;

std::vector<std::string> canaries(const CanaryPatient& p) {
  return {p.mrn,        p.family,     p.given,        p.phone,   "CANARYSTREET",
          "CANARYNOTE", "98765.4321", "FL-CANARYACC", "19230417"};
}

std::vector<std::filesystem::path> all_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

class CanaryAtRest : public testing::StoreTest {
 protected:
  void SetUp() override {
    tmp_ =
        std::filesystem::temp_directory_path() / fmt::format("labvault-sqlite-tmp-{}", ::getpid());
    std::filesystem::create_directories(tmp_);
    ::setenv("SQLITE_TMPDIR", tmp_.c_str(), 1);  // any temp file SQLite makes lands here
    StoreTest::SetUp();
  }
  void TearDown() override {
    StoreTest::TearDown();
    std::filesystem::remove_all(tmp_);
  }
  std::filesystem::path tmp_;
};

TEST_F(CanaryAtRest, NoCanaryAppearsInAnyFileTheStoreWrote) {
  CanaryPatient p;
  // Enough messages to spill pages to the WAL and grow the file; a correction writes history.
  std::string first = testing::oru(p, "MSG-0", "FL-CANARYACC", "98765.4321");
  for (const auto& c : canaries(p)) ASSERT_NE(first.find(c), std::string::npos) << c;
  ASSERT_FALSE(put(first).error);
  for (int i = 1; i < 200; ++i) {
    CanaryPatient other = p;
    other.mrn = fmt::format("{}{}", p.mrn, i);
    ASSERT_FALSE(put(testing::oru(other, fmt::format("MSG-{}", i), fmt::format("FL-CANARYACC{}", i),
                                  "98765.4321"))
                     .error);
  }
  ASSERT_FALSE(put(testing::oru(p, "MSG-CORR", "FL-CANARYACC", "98765.4321", "C")).error);
  auto import = store_->begin_import(lab_, "hl7", "CANARYFAMILYQZX.hl7");
  ASSERT_TRUE(import.has_value());

  auto scan = [&](std::string_view when) -> bool {
    std::vector<std::filesystem::path> files = all_files(root_ / "data");
    for (const auto& f : all_files(tmp_)) files.push_back(f);
    EXPECT_FALSE(files.empty());
    bool saw_wal = false;
    for (const auto& f : files) {
      saw_wal |= f.string().ends_with("-wal");
      std::string bytes = testing::read_bytes(f);
      for (const auto& c : canaries(p)) {
        EXPECT_EQ(bytes.find(c), std::string::npos) << when << ": " << c << " in " << f;
      }
    }
    return saw_wal;
  };
  EXPECT_TRUE(scan("while open"));  // the WAL exists and was scanned
  store_.reset();                   // checkpoint on close: the database file gets everything
  scan("after close");
  // The scan itself works: the same bytes in clear would be found.
  EXPECT_NE(first.find(p.family), std::string::npos);
}

}  // namespace
}  // namespace labvault
