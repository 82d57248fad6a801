// End-to-end tests of the `labvault` binary: the exit-code contract, error messages that name
// file/line/segment/field without PHI, and conversions across formats.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "support/cli_run.hpp"
#include "support/testdata.hpp"

namespace {

using labvault::testing::CliRun;
using labvault::testing::labvault;

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return labvault::testing::testdata(rel).string(); }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = labvault::testing::fresh_test_dir("cli"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string tmp(const std::string& name) { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(Cli, HelpExitsZeroAndUsageErrorsExitTwo) {
  EXPECT_EQ(labvault("--help").exit_code, 0);
  EXPECT_EQ(labvault("convert --help").exit_code, 0);
  EXPECT_EQ(labvault("validate --help").exit_code, 0);
  EXPECT_EQ(labvault("").exit_code, 2);
  EXPECT_EQ(labvault("convert --from hl7 --to xml x.hl7").exit_code, 2);
  EXPECT_EQ(labvault("frobnicate").exit_code, 2);
  EXPECT_EQ(labvault("convert --from csv --to fhir x.csv").exit_code, 2);  // no mapping
}

TEST_F(Cli, ValidateAcceptsEveryValidFile) {
  for (const auto& f : labvault::testing::files_in("hl7/valid")) {
    CliRun r = labvault("validate " + f.string());
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("OK, 1 message"), std::string::npos) << r.out;
  }
}

TEST_F(Cli, ValidateNamesFileSegmentAndFieldOfEveryInvalidFile) {
  const std::map<std::string, std::vector<std::string>> expected{
      {"authored_bad_obx_datatype.hl7", {":4: OBX[1]-2:", "table 0125"}},
      {"authored_bad_timestamp.hl7", {":1: MSH[1]-7", "DTM"}},
      {"authored_batch_count_mismatch.hl7", {":7: BTS-1:", "holds 5 messages, found 1"}},
      {"authored_mllp_framing_in_file.hl7", {":1:", "0x0B"}},
      {"authored_msh_only.hl7", {"MSH[1]", "no PID", "no OBR"}},
      {"authored_random_bytes.bin", {":1:", "does not start with an MSH"}},
      {"authored_unknown_result_status.hl7", {":4: OBX[1]-11:", "table 0085"}},
      {"authored_unsupported_version.hl7", {":1: MSH[1]-12:", "not supported"}},
      {"authored_utf16.hl7", {":1:", "UTF-16"}},
      {"nHapiNET_id_000001.hl7", {":1: MSH-2:"}},
      {"nHapiNET_id_000064.hl7", {":1: MSH-2:", "4 encoding characters"}},
      {"nHapiNET_id_000087.hl7", {":1: MSH-2:"}},
      {"nHapiNET_nullref1.hl7", {":1: MSH-1:", "field separator"}},
      {"nHapiNET_so2.hl7", {":1: MSH-2:"}},
      {"nHapiNET_stackoverflow1.hl7", {":1: MSH-2:", "found 1"}},
  };
  for (const auto& f : labvault::testing::files_in("hl7/invalid")) {
    CliRun r = labvault("validate --format hl7 " + f.string());
    EXPECT_EQ(r.exit_code, 1) << f << r.out;
    auto it = expected.find(f.filename().string());
    ASSERT_NE(it, expected.end()) << "no expectation for " << f;
    for (const std::string& part : it->second)
      EXPECT_NE(r.out.find(part), std::string::npos) << f.filename() << " lacks '" << part << "':\n"
                                                     << r.out;
    EXPECT_NE(r.out.find(f.string() + ":"), std::string::npos) << r.out;
  }
}

TEST_F(Cli, ValidateReportsEveryProblemNotJustTheFirst) {
  write("two.hl7",
        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||X^^^A^MR\rOBR|1||F|C^C^LN\r"
        "OBX|1|ZZ|C^C^LN||1||||||F\rOBX|2|NM|C^C^LN||1||||||Q\r");
  CliRun r = labvault("validate " + tmp("two.hl7"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("OBX[1]-2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OBX[2]-11"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 problem(s)"), std::string::npos) << r.out;
}

TEST_F(Cli, ErrorsCarryNoPhi) {
  write("canary.hl7",
        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\r"
        "PID|1||CANARY-MRN-5521^^^A^MR||CANARYSURNAME^CANARYGIVEN||1970XXXX|F\r"
        "OBR|1||F|C^C^LN\rOBX|1|NM|C^C^LN||CANARY-VALUE-99||||||F\r");
  CliRun r = labvault("validate " + tmp("canary.hl7"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("CANARY"), std::string::npos) << r.out;
  CliRun c = labvault("convert --from hl7 --to fhir " + tmp("canary.hl7"));
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.out.find("CANARY"), std::string::npos) << c.out;
}

TEST_F(Cli, Hl7ToFhirToHl7KeepsTheResults) {
  std::string in = data("hl7/valid/hamaluik_sample_oru_r01_lab.hl7");
  CliRun a = labvault("convert --from hl7 --to fhir " + in + " -o " + tmp("b.json"));
  ASSERT_EQ(a.exit_code, 0) << a.out;
  CliRun b = labvault("convert --from fhir --to hl7 --lf " + tmp("b.json"));
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("|10.1|10\\S\\9/L"), std::string::npos)
      << b.out;  // ^ escaped again on output
  EXPECT_NE(b.out.find("OBX|14|NM|"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("6690-2"), std::string::npos);
}

TEST_F(Cli, FailedConversionLeavesThePreviousOutputUntouched) {
  write("out.json", "previous");
  CliRun r = labvault("convert --from hl7 --to fhir " +
                      data("hl7/invalid/authored_bad_timestamp.hl7") + " -o " + tmp("out.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("MSH[1]-7"), std::string::npos) << r.out;
  EXPECT_EQ(labvault::testing::read_bytes(tmp("out.json")), "previous");
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(Cli, OutputFilesAreReadableOnlyByTheOwner) {
  CliRun r = labvault("convert --from hl7 --to fhir " + data("hl7/valid/authored_oru_prelim.hl7") +
                      " -o " + tmp("out.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto perms = fs::status(tmp("out.json")).permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
}

TEST_F(Cli, WriteFailureOnStandardOutputIsAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  std::string cmd = std::string(LABVAULT_BINARY) + " convert --from hl7 --to fhir " +
                    data("hl7/valid/authored_oru_prelim.hl7") + " >/dev/full 2>" + tmp("err");
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(labvault::testing::read_bytes(tmp("err")).find("cannot write to standard output"),
            std::string::npos);
}

TEST_F(Cli, Hl7ToCsvAndBackWithTheSampleMapping) {
  std::string mapping = std::string(LABVAULT_SOURCE_DIR) + "/samples/csv/mapping.toml";
  std::string in = data("hl7/valid/microsoft_LRI_2.0-NG_CBC_Typ_Message.hl7");
  CliRun a = labvault("convert --from hl7 --to csv --mapping " + mapping + " " + in + " -o " +
                      tmp("r.csv"));
  ASSERT_EQ(a.exit_code, 0) << a.out;
  std::string csv = labvault::testing::read_bytes(tmp("r.csv"));
  EXPECT_EQ(std::ranges::count(csv, '\n'), 29);  // header + 28 observations
  CliRun b = labvault("convert --from csv --to hl7 --lf --mapping " + mapping + " " + tmp("r.csv"));
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("26453-1"), std::string::npos);
  EXPECT_NE(b.out.find("|4.41|"), std::string::npos) << b.out;
}

TEST_F(Cli, BatchFileConvertsEveryMessage) {
  CliRun r =
      labvault("convert --from hl7 --to hl7 --lf " + data("hl7/batch/authored_batch_2msgs.hl7"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("T-BATCH-1"), std::string::npos);
  EXPECT_NE(r.out.find("T-BATCH-2"), std::string::npos);
}

TEST_F(Cli, SensitivityValueSetsComeFromConfig) {
  // The ask-at-order-entry answer hangs from order 2, local code 1680 (syphilis).
  write("lv.toml", "[sensitivity]\nsexual-health = [\"L|1680\"]\n");
  std::string in = data("hl7/valid/microsoft_MDHHS-OML-O21-2.hl7");
  CliRun plain = labvault("convert --from hl7 --to fhir " + in);
  CliRun configured =
      labvault("convert --from hl7 --to fhir --config " + tmp("lv.toml") + " " + in);
  ASSERT_EQ(configured.exit_code, 0) << configured.out;
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_NE(plain.out.find("\"resourceType\": \"Bundle\""), std::string::npos);
  EXPECT_EQ(plain.out.find("\"STD\""), std::string::npos);
  EXPECT_NE(configured.out.find("\"STD\""), std::string::npos);
  // The ServiceRequest of that order carries the label too, not only its answer.
  size_t request = configured.out.find("\"resourceType\": \"ServiceRequest\"");
  size_t second_request = configured.out.find("\"resourceType\": \"ServiceRequest\"", request + 1);
  ASSERT_NE(second_request, std::string::npos);
  EXPECT_NE(configured.out.find("\"STD\"", second_request), std::string::npos);
  write("bad.toml", "[sensitivity]\nhiv-ish = [\"1\"]\n");
  CliRun bad = labvault("convert --from hl7 --to fhir --config " + tmp("bad.toml") + " " + in);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("bad.toml:2"), std::string::npos) << bad.out;
}

}  // namespace
