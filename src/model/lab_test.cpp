#include "model/lab.hpp"

#include <gtest/gtest.h>

#include "model/sensitivity.hpp"

namespace labvault::model {
namespace {

Observation potassium(std::string text, ResultStatus status) {
  Observation o;
  o.value_type = "NM";
  o.code.codings.push_back({"2823-3", "Potassium", "LN", ""});
  o.value = NumericValue{text, std::stod(text)};
  o.status = status;
  return o;
}

TEST(Correction, PreliminaryValueIsKeptInHistoryWhenCorrected) {
  Report current;
  current.observations.push_back(potassium("5.9", ResultStatus::kPreliminary));
  Report corrected;
  corrected.result_status_code = "C";
  corrected.observations.push_back(potassium("4.3", ResultStatus::kCorrected));

  apply_correction(current, corrected);

  ASSERT_EQ(current.observations.size(), 1u);
  const Observation& o = current.observations[0];
  EXPECT_EQ(std::get<NumericValue>(o.value).text, "4.3");
  EXPECT_EQ(o.status, ResultStatus::kCorrected);
  ASSERT_EQ(o.history.size(), 1u);
  EXPECT_EQ(std::get<NumericValue>(o.history[0].value).text, "5.9");
  EXPECT_EQ(o.history[0].status, ResultStatus::kPreliminary);
  EXPECT_EQ(current.result_status_code, "C");
}

TEST(Correction, RetransmittedIdenticalResultAddsNoHistory) {
  Report current;
  current.observations.push_back(potassium("4.3", ResultStatus::kFinal));
  Report again = current;
  apply_correction(current, again);
  ASSERT_EQ(current.observations.size(), 1u);
  EXPECT_TRUE(current.observations[0].history.empty());
}

TEST(Correction, NewObservationIsAppended) {
  Report current;
  current.observations.push_back(potassium("4.3", ResultStatus::kFinal));
  Report more;
  Observation sodium = potassium("140", ResultStatus::kFinal);
  sodium.code.codings[0].code = "2951-2";
  more.observations.push_back(sodium);
  apply_correction(current, more);
  EXPECT_EQ(current.observations.size(), 2u);
}

TEST(Correction, RepeatedCodesMatchLineByLine) {
  Report current;
  current.observations.push_back(potassium("1.0", ResultStatus::kPreliminary));
  current.observations.push_back(potassium("2.0", ResultStatus::kPreliminary));
  Report final_report;
  final_report.observations.push_back(potassium("1.0", ResultStatus::kFinal));
  final_report.observations.push_back(potassium("2.5", ResultStatus::kFinal));
  apply_correction(current, final_report);
  ASSERT_EQ(current.observations.size(), 2u);
  EXPECT_EQ(std::get<NumericValue>(current.observations[0].value).text, "1.0");
  EXPECT_EQ(std::get<NumericValue>(current.observations[1].value).text, "2.5");
  ASSERT_EQ(current.observations[1].history.size(), 1u);
  EXPECT_EQ(std::get<NumericValue>(current.observations[1].history[0].value).text, "2.0");
}

TEST(Sensitivity, PanelCodeMarksEveryObservationOfTheReport) {
  SensitivityRules rules = SensitivityRules::defaults();
  LabMessage m;
  Report r;
  r.service.codings.push_back({"18717-9", "Drug screen panel", "LN", ""});
  Observation unknown;
  unknown.code.codings.push_back({"99999-9", "Something", "LN", ""});
  r.observations.push_back(unknown);
  m.reports.push_back(r);
  rules.apply(m);
  EXPECT_EQ(m.reports[0].observations[0].sensitivity, Sensitivity::kSubstanceUse);
}

TEST(Sensitivity, LocalCodesNeedTheirSystemAndConfigCanAddThem) {
  SensitivityRules rules = SensitivityRules::defaults();
  CodeableConcept local;
  local.codings.push_back({"1320", "HIV Ag/Ab - Serum", "L", ""});
  EXPECT_EQ(rules.classify(local), Sensitivity::kNone);
  rules.add(Sensitivity::kHiv, "L|1320");
  EXPECT_EQ(rules.classify(local), Sensitivity::kHiv);
  CodeableConcept glucose;
  glucose.codings.push_back({"2345-7", "Glucose", "LN", ""});
  EXPECT_EQ(rules.classify(glucose), Sensitivity::kNone);
}

TEST(Sensitivity, SenderLabelIsKeptWhenTheValueSetsDoNotKnowTheCode) {
  SensitivityRules rules = SensitivityRules::defaults();
  LabMessage m;
  Report r;
  Observation o;
  o.code.codings.push_back({"LOCAL-1", "Local test", "L", ""});
  o.sensitivity = Sensitivity::kBehavioralHealth;  // as read from FHIR meta.security
  r.observations.push_back(o);
  m.reports.push_back(r);
  rules.apply(m);
  EXPECT_EQ(m.reports[0].observations[0].sensitivity, Sensitivity::kBehavioralHealth);
}

TEST(Sensitivity, AlternateLoincCodingIsConsulted) {
  SensitivityRules rules = SensitivityRules::defaults();
  CodeableConcept cc;
  cc.codings.push_back({"301.0500", "HIV local", "L", ""});
  cc.codings.push_back({"75622-1", "HIV 1+2 Ag+Ab", "pCLOCD", ""});
  EXPECT_EQ(rules.classify(cc), Sensitivity::kHiv);
}

}  // namespace
}  // namespace labvault::model
