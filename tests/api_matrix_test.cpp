// The access-policy matrix (tests/access/matrix.csv, written from the issue independently of the
// engine) again, over HTTPS: every cell that needs no grant (read and search of the clinical
// kinds, no sensitive result, no break-glass) for every role, against a record the requester
// cares for and one it does not, in its own lab and in another. permit must be 200, deny 403 and
// not-found 404 (DESIGN.md invariant 6: never 403 for another lab).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/api_fixture.hpp"

namespace labvault::testing {
namespace {

struct Cell {
  std::string role, action, kind, lab, care, decision;
};

std::vector<Cell> sampled_cells() {
  std::ifstream in(std::string(LABVAULT_SOURCE_DIR) + "/tests/access/matrix.csv");
  std::vector<Cell> out;
  std::string line;
  std::getline(in, line);  // header
  static const std::set<std::string> kClinical = {"Patient", "Observation", "DiagnosticReport",
                                                  "Specimen", "ServiceRequest"};
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, ',');) f.push_back(part);
    if (f.size() < 12) continue;
    // role,purpose,action,kind,lab,care,sensitive,break_glass,decision,view,flagged,masked
    if ((f[2] != "read" && f[2] != "search") || !kClinical.contains(f[3]) || f[6] != "no" ||
        f[7] != "no" || f[0] == "patient")
      continue;
    out.push_back({f[0], f[2], f[3], f[4], f[5], f[8]});
  }
  return out;
}

TEST_F(ApiE2e, PolicyMatrixOverHttps) {
  // LAB1: a record the requesters care for (A) and one they do not (B); LAB2: one record.
  CanaryPatient a, b, c;
  b.mrn = "CANARYMRN4472";
  c.mrn = "CANARYMRN4473";
  ASSERT_NE(send_oru(a, "M-A").find("MSA|AA"), std::string::npos);
  ASSERT_NE(send_oru(b, "M-B").find("MSA|AA"), std::string::npos);
  ASSERT_NE(send_oru(c, "M-C", "LAB2").find("MSA|AA"), std::string::npos);
  auto ids = store_->list_patients(lab_);
  ASSERT_EQ(ids->size(), 2u);
  const store::Id cared = (*ids)[0], uncared = (*ids)[1];
  const store::Id elsewhere = only_patient(other_lab_);

  std::vector<Cell> cells = sampled_cells();
  ASSERT_GE(cells.size(), 400u);
  std::map<std::string, std::unique_ptr<HttpsClient>> sessions;
  auto session = [&](const std::string& role) -> HttpsClient& {
    auto& s = sessions[role];
    if (s) return *s;
    if (role == "client") {
      register_client("ehr-m", "system/Observation.rs system/DiagnosticReport.rs system/Patient.r");
      s = client();
      auto t = s->request("POST", "/auth/token", token_form("ehr-m", "jti-m"),
                          "application/x-www-form-urlencoded");
      EXPECT_EQ(t.status, 200) << t.body;
      s->bearer = nlohmann::json::parse(t.body)["access_token"];
      return *s;
    }
    const std::string name = "m-" + role;
    if (role == "system-admin") {
      auto created =
          identity_->create_by_operator({name, "Admin", "", "", true, {}}, "cli:0", ctx_);
      EXPECT_TRUE(created.has_value());
      s = login(enroll(name, created->initial_password));
    } else {
      s = login(add(name, role));
      assign_care(name, cared);
    }
    return *s;
  };

  int checked = 0, cross_lab_leaks = 0;
  for (const Cell& cell : cells) {
    HttpsClient& h = session(cell.role);
    const bool same = cell.lab == "same";
    const store::Id lab = same ? lab_ : other_lab_;
    const store::Id patient = !same ? elsewhere : cell.care == "yes" ? cared : uncared;
    const std::string base = same ? "/fhir/LAB1/" : "/fhir/LAB2/";
    std::string target;
    if (cell.action == "read") {
      target = base + cell.kind + "/" + fhir_id(lab, patient, cell.kind);
    } else {
      target = base + cell.kind + (cell.kind == "Patient" ? "?_id=" : "?patient=") +
               std::to_string(patient);
    }
    auto r = h.get(target);
    const int expected = cell.decision == "permit" ? 200 : cell.decision == "deny" ? 403 : 404;
    EXPECT_EQ(r.status, expected) << cell.role << " " << cell.action << " " << cell.kind << " "
                                  << cell.lab << " care=" << cell.care << ": " << r.body;
    if (r.status == 200 && cell.action == "search")
      EXPECT_GE(nlohmann::json::parse(r.body)["total"].get<int>(), 1) << target;
    cross_lab_leaks += !same && r.status == 200;
    ++checked;
    // Keep the sessions alive: each request is activity, and the clock only moves at logins.
  }
  EXPECT_EQ(cross_lab_leaks, 0);
  EXPECT_EQ(checked, static_cast<int>(cells.size()));
}

}  // namespace
}  // namespace labvault::testing
