// The view engine on a real mapped message: each view lets out only its fields, and a masked
// sensitive observation loses its value and its correction history.
#include "access/view.hpp"

#include <gtest/gtest.h>

#include "hl7/hl7.hpp"
#include "support/store_fixture.hpp"

namespace labvault::access {
namespace {

model::LabMessage sample() {
  auto m = hl7::parse_to_model(testing::oru(testing::CanaryPatient{}, "V-1"));
  EXPECT_TRUE(m.has_value());
  return m ? *m : model::LabMessage{};
}

TEST(View, BillingGetsIdsCodesAndDatesButNoValuesNamesOrAddresses) {
  model::LabMessage m = sample();
  const Policy p = Policy::defaults();
  model::Patient patient = m.patient;
  Withheld w = apply_view(*p.view("billing"), {}, patient);
  EXPECT_FALSE(patient.identifiers.empty());
  EXPECT_TRUE(patient.names.empty());
  EXPECT_TRUE(patient.addresses.empty());
  EXPECT_TRUE(patient.phones.empty());
  EXPECT_TRUE(w.contains("Patient.name"));
  model::Report r = m.reports.at(0);
  w = apply_view(*p.view("billing"), {}, r);
  ASSERT_FALSE(r.observations.empty());
  for (const auto& o : r.observations) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(o.value));
    EXPECT_FALSE(o.code.codings.empty());
    EXPECT_TRUE(o.notes.empty());
  }
  EXPECT_TRUE(w.contains("Observation.value"));
  EXPECT_FALSE(w.contains("Observation.code"));
}

TEST(View, TheTechnologistSeesValuesButNotWhereThePatientLives) {
  model::LabMessage m = sample();
  const Policy p = Policy::defaults();
  Withheld w = apply_view(*p.view("technologist"), {}, m.patient);
  EXPECT_FALSE(m.patient.names.empty());
  EXPECT_TRUE(m.patient.addresses.empty());
  EXPECT_TRUE(m.patient.phones.empty());
  EXPECT_EQ(w, (Withheld{"Patient.address", "Patient.telecom"}));
  model::Report r = m.reports.at(0);
  EXPECT_TRUE(apply_view(*p.view("technologist"), {}, r).empty());
}

TEST(View, AMaskedCategoryLosesValueRangeNotesAndHistoryEvenInTheClinicalView) {
  model::LabMessage m = sample();
  model::Report r = m.reports.at(0);
  r.observations[0].sensitivity = model::Sensitivity::kHiv;
  r.observations[0].history.push_back({});
  const Policy p = Policy::defaults();
  Withheld w = apply_view(*p.view("clinical"), {model::Sensitivity::kHiv}, r);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.observations[0].value));
  EXPECT_TRUE(r.observations[0].history.empty());
  EXPECT_TRUE(r.observations[0].abnormal_flags.empty());
  EXPECT_FALSE(std::holds_alternative<std::monostate>(r.observations[1].value));  // not sensitive
  EXPECT_TRUE(w.contains("Observation.value"));
  EXPECT_EQ(sensitive_categories(r), std::set<model::Sensitivity>{model::Sensitivity::kHiv});
}

TEST(View, AReportWithAMaskedResultLosesItsConclusion) {
  model::LabMessage m = sample();
  model::Report r = m.reports.at(0);
  r.notes = {"CANARYCONCLUSION reactive, confirm by PCR"};
  const Policy p = Policy::defaults();
  model::Report plain = r;
  EXPECT_TRUE(apply_view(*p.view("clinical"), {model::Sensitivity::kHiv}, plain).empty());
  EXPECT_EQ(plain.notes, r.notes);  // nothing masked in it: the conclusion stays
  r.observations[0].sensitivity = model::Sensitivity::kHiv;
  Withheld w = apply_view(*p.view("clinical"), {model::Sensitivity::kHiv}, r);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_TRUE(w.contains("DiagnosticReport.conclusion"));
}

TEST(View, TheClinicalViewIsEveryFieldTheEngineKnows) {
  const Policy policy = Policy::defaults();
  const View* clinical = policy.view("clinical");
  ASSERT_NE(clinical, nullptr);
  EXPECT_EQ(clinical->fields, std::set<std::string>(kViewFields.begin(), kViewFields.end()));
  // With every field allowed and nothing masked, nothing is withheld from a full record.
  model::LabMessage m = sample();
  model::Report r = m.reports.at(0);
  EXPECT_TRUE(apply_view(*clinical, {}, m.patient).empty());
  EXPECT_TRUE(apply_view(*clinical, {}, r).empty());
}

}  // namespace
}  // namespace labvault::access
