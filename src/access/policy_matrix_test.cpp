// Issue 8's authorization matrix: every cell of tests/access/matrix.csv (role x action x kind x
// same/other lab x care relationship x sensitive x break-glass, written from the specification by
// tests/access/generate_matrix.py) against the shipped policy. Zero cross-lab leaks is the "lab
// = other" half of the file: every such row must answer "not found".
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "access/policy.hpp"

namespace labvault::access {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) out.push_back(cell);
  return out;
}

bool clinical(const std::string& kind) {
  return kind == "Patient" || kind == "Observation" || kind == "DiagnosticReport" ||
         kind == "Specimen" || kind == "ServiceRequest";
}

TEST(PolicyMatrix, EveryCellOfTheMatrixGetsItsExpectedDecisionViewAndMasks) {
  std::ifstream in(std::string(LABVAULT_SOURCE_DIR) + "/tests/access/matrix.csv");
  ASSERT_TRUE(in) << "tests/access/matrix.csv";
  const Policy policy = Policy::defaults();
  ASSERT_FALSE(policy.rules().empty());
  std::string line;
  std::getline(in, line);  // header
  int rows = 0, failures = 0, other_lab_leaks = 0;
  constexpr Id kLab = 1, kOtherLab = 2, kPatient = 7;
  while (std::getline(in, line)) {
    auto c = split(line);
    ASSERT_EQ(c.size(), 12u) << line;
    const std::string &role = c[0], &purpose = c[1], &action = c[2], &kind = c[3];
    const bool same = c[4] == "same", care = c[5] == "yes", sensitive = c[6] == "yes",
               bg = c[7] == "yes";
    Requester who;
    who.actor = "user:1";
    if (role == "system-admin") {
      who.system_admin = true;
    } else if (role == "client") {
      who.actor = "client:ehr";
      who.is_client = true;
      who.client_lab = kLab;
      who.scopes = {"system/Observation.rs", "system/DiagnosticReport.rs", "system/Patient.r"};
    } else {
      who.roles = {{kLab, role, "", role == "patient" ? (care ? kPatient : kPatient + 1) : 0}};
    }
    Resource what{kind, same ? kLab : kOtherLab, clinical(kind) ? kPatient : 0, {}};
    if (sensitive && clinical(kind)) what.sensitive.insert(model::Sensitivity::kHiv);
    Context ctx;
    ctx.purpose = purpose;
    ctx.now_us = 1'700'000'000'000'000;
    ctx.local_minutes = 10 * 60;
    ctx.care_relationship = care && role != "patient";
    ctx.break_glass = bg;
    Decision d = policy.decide(who, action, what, ctx);
    const std::string got = d.permit ? "permit" : d.not_found ? "not-found" : "deny";
    std::string masked = "-";
    if (!d.masked_categories.empty())
      masked = std::string(sensitivity_code(*d.masked_categories.begin()));
    const bool ok = got == c[8] && (d.permit ? d.view : "-") == c[9] &&
                    (d.break_glass ? "yes" : "no") == c[10] && masked == c[11];
    if (!ok && ++failures <= 20) {
      ADD_FAILURE() << line << "\n  got " << got << "," << (d.permit ? d.view : "-") << ","
                    << (d.break_glass ? "yes" : "no") << "," << masked << " (" << d.rule << ")";
    }
    if (!same && role != "system-admin" && d.permit) ++other_lab_leaks;
    ++rows;
  }
  EXPECT_EQ(rows, 7680);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(other_lab_leaks, 0);
}

}  // namespace
}  // namespace labvault::access
