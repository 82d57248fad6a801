// The policy as data: overrides, checked TOML, time windows, unmasking, explanations.
#include "access/policy.hpp"

#include <gtest/gtest.h>

namespace labvault::access {
namespace {

Requester person(std::string role, Id lab = 1, std::string department = "") {
  Requester r;
  r.actor = "user:5";
  r.roles = {{lab, std::move(role), std::move(department)}};
  return r;
}

Resource observation(bool hiv = false) {
  Resource r{"Observation", 1, 7, {}};
  if (hiv) r.sensitive.insert(model::Sensitivity::kHiv);
  return r;
}

Context at(std::string purpose, int hour = 10) {
  Context c;
  c.purpose = std::move(purpose);
  c.local_minutes = hour * 60;
  return c;
}

TEST(Policy, DefaultsDenyWithoutAPurposeTheRoleServes) {
  Policy p = Policy::defaults();
  EXPECT_TRUE(p.decide(person("billing"), "read", observation(), at("HPAYMT")).permit);
  Decision d = p.decide(person("billing"), "read", observation(), at("TREAT"));
  EXPECT_FALSE(d.permit);
  EXPECT_FALSE(d.not_found);
  EXPECT_EQ(d.rule, "no-rule-permits");
}

TEST(Policy, AnOverrideReplacesADefaultRuleInPlaceAndCanAllowACategory) {
  auto p = Policy::with_overrides(R"(
[[rules]]
id = "pathologist-in-lab"
roles = ["pathologist"]
actions = ["read"]
kinds = ["Observation"]
purposes = ["TREAT"]
sensitive = ["hiv"]
hours = "07:00-19:00"
view = "clinical"
)",
                                  "site.toml");
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  Decision day = p->decide(person("pathologist"), "read", observation(true), at("TREAT", 10));
  EXPECT_TRUE(day.permit);
  EXPECT_TRUE(day.masked_categories.empty());  // this site shows HIV results to pathologists
  EXPECT_FALSE(p->decide(person("pathologist"), "read", observation(), at("TREAT", 22)).permit);
  EXPECT_FALSE(p->decide(person("pathologist"), "search", observation(), at("TREAT")).permit);
  // The default, untouched, masks it.
  Decision def =
      Policy::defaults().decide(person("pathologist"), "read", observation(true), at("TREAT"));
  EXPECT_TRUE(def.masked_categories.contains(model::Sensitivity::kHiv));
}

TEST(Policy, ATypoInAPolicyIsAnErrorNamingTheLine) {
  auto bad_role = Policy::with_overrides(
      "[[rules]]\nid = \"x\"\nroles = [\"billling\"]\n"
      "actions = [\"read\"]\nkinds = [\"Patient\"]\n"
      "view = \"billing\"\n",
      "site.toml");
  ASSERT_FALSE(bad_role.has_value());
  EXPECT_EQ(bad_role.error().location.file, "site.toml");
  EXPECT_EQ(bad_role.error().location.line, 3);
  EXPECT_NE(bad_role.error().message.find("billling"), std::string::npos);
  auto bad_view = Policy::with_overrides(
      "[[rules]]\nid = \"x\"\nroles = [\"billing\"]\n"
      "actions = [\"read\"]\nkinds = [\"Patient\"]\n"
      "view = \"everything\"\n",
      "site.toml");
  ASSERT_FALSE(bad_view.has_value());
  EXPECT_NE(bad_view.error().message.find("everything"), std::string::npos);
  EXPECT_FALSE(Policy::with_overrides("[views.x]\nfields = [\"Patient.ssn\"]\n", "s").has_value());
}

TEST(Policy, ADepartmentRuleMatchesTheEncountersDepartment) {
  auto p = Policy::with_overrides(R"(
[[rules]]
id = "ed-nurses"
roles = ["care-team-clinician"]
actions = ["read"]
kinds = ["Observation"]
require = ["same-department"]
view = "clinical"
)",
                                  "site.toml");
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  Resource ed = observation();
  ed.department = "ED";
  Context c = at("TREAT");
  EXPECT_TRUE(p->decide(person("care-team-clinician", 1, "ED"), "read", ed, c).permit);
  EXPECT_FALSE(p->decide(person("care-team-clinician", 1, "ICU"), "read", ed, c).permit);
  // No department on either side is not a match.
  EXPECT_FALSE(p->decide(person("care-team-clinician", 1, ""), "read", observation(), c).permit);
}

TEST(Policy, AJustInTimeUnmaskLiftsOnlyItsCategory) {
  Policy p = Policy::defaults();
  Requester doc = person("ordering-provider");
  Resource r = observation(true);
  r.sensitive.insert(model::Sensitivity::kGenetic);
  Context c = at("TREAT");
  c.care_relationship = true;
  c.unmasked = {model::Sensitivity::kHiv};
  Decision d = p.decide(doc, "read", r, c);
  ASSERT_TRUE(d.permit);
  EXPECT_EQ(d.masked_categories, std::set<model::Sensitivity>{model::Sensitivity::kGenetic});
}

TEST(Policy, TheExplanationNamesEachRuleAndWhyWithoutPhi) {
  Policy p = Policy::defaults();
  Decision d = p.decide(person("ordering-provider"), "read", observation(), at("TREAT"));
  EXPECT_FALSE(d.permit);
  bool care_line = false;
  for (const std::string& line : d.explanation) {
    care_line |= line.find("clinician-with-care-relationship") != std::string::npos &&
                 line.find("no care relationship") != std::string::npos;
  }
  EXPECT_TRUE(care_line);
  Decision other = p.decide(person("pathologist", 2), "read", observation(), at("TREAT"));
  EXPECT_TRUE(other.not_found);
}

}  // namespace
}  // namespace labvault::access
