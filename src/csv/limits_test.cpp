// read()'s bounds: file, field and column limits, and linear time on hostile shapes.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <chrono>

#include "csv/csv.hpp"
#include "csv/csv_test_util.hpp"

namespace labvault::csv {
namespace {

using namespace testing;
using model::ErrorCode;

Mapping two_columns() {
  return mapping_from("[columns]\npatient.id = \"MRN\"\nobs.code = \"Test\"\nobs.value = \"V\"\n");
}

TEST(CsvLimits, FileOver256MebibytesIsRejectedBeforeParsing) {
  // An untouched anonymous mapping costs no memory; read() must refuse it on size alone
  // (were it parsed, the zero bytes would give an encoding error instead).
  const std::size_t size = (std::size_t{256} << 20) + 1;
  void* bytes = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(bytes, MAP_FAILED);
  auto result =
      read(std::string_view(static_cast<const char*>(bytes), size), two_columns(), "huge.csv");
  munmap(bytes, size);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kValueTooLong);
  EXPECT_NE(result.error().message.find("256 MiB"), std::string::npos);
  EXPECT_EQ(result.error().location.file, "huge.csv");
}

TEST(CsvLimits, FieldOverOneMebibyteIsRejected) {
  const std::string big((std::size_t{1} << 20) + 1, 'x');
  const std::string fits(std::size_t{1} << 20, 'x');
  auto unquoted = read_error("MRN,Test,V\n1,c," + big + "\n", two_columns());
  EXPECT_EQ(unquoted.code, ErrorCode::kValueTooLong);
  EXPECT_EQ(unquoted.location.line, 2);
  EXPECT_EQ(unquoted.location.column, 3);
  EXPECT_EQ(unquoted.location.column_name, "V");
  auto quoted = read_error("MRN,Test,V\n1,c,\"" + big + "\"\n", two_columns());
  EXPECT_EQ(quoted.code, ErrorCode::kValueTooLong);
  EXPECT_EQ(quoted.location.column, 3);
  EXPECT_EQ(read_ok("MRN,Test,V\n1,c,\"" + fits + "\"\n", two_columns()).size(), 1u);
}

TEST(CsvLimits, MoreThan512ColumnsIsRejected) {
  std::string header = "MRN,Test,V";
  for (int i = 4; i <= 512; ++i) header += ",c" + std::to_string(i);
  std::string row = "1,c,5" + std::string(509, ',');
  EXPECT_EQ(read_ok(header + "\n" + row + "\n", two_columns()).size(), 1u);
  auto error = read_error(header + ",c513\n" + row + ",\n", two_columns());
  EXPECT_EQ(error.code, ErrorCode::kValueTooLong);
  EXPECT_EQ(error.location.line, 1);
  EXPECT_EQ(error.location.column, 513);
  EXPECT_NE(error.message.find("512 columns"), std::string::npos);
}

TEST(CsvLimits, HostileShapesReadInLinearTime) {
  // A field made of doubled quotes, a huge unterminated quote, and many rows of one report:
  // each would take minutes on a quadratic path.
  std::string quotes = "MRN,Test,V\n1,c,\"";
  for (int i = 0; i < 500'000; ++i) quotes += "\"\"";
  quotes += "\"\n";
  std::string unterminated = "MRN,Test,V\n1,c,\"" + std::string(50u << 20, 'x');
  std::string rows = "MRN,Test,V\n";
  for (int i = 0; i < 200'000; ++i) rows += "1,c" + std::to_string(i) + ",5\n";

  auto start = std::chrono::steady_clock::now();
  auto one = read_ok(quotes, two_columns());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(std::get<model::TextValue>(one[0].reports[0].observations[0].value).lines[0],
            std::string(500'000, '"'));
  EXPECT_NE(read_error(unterminated, two_columns()).message.find("unterminated"),
            std::string::npos);
  auto many = read_ok(rows, two_columns());
  ASSERT_EQ(many.size(), 1u);
  EXPECT_EQ(many[0].reports[0].observations.size(), 200'000u);
  // A guard against quadratic paths, not a speed target: linear reading takes about 2 s under
  // ASan here, a quadratic one minutes. 20 s failed once on a machine busy with two builds.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

}  // namespace
}  // namespace labvault::csv
