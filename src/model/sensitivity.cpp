#include "model/sensitivity.hpp"

#include <initializer_list>

namespace labvault::model {

SensitivityRules SensitivityRules::defaults() {
  SensitivityRules rules;
  auto add_all = [&](Sensitivity s, std::initializer_list<std::string_view> codes) {
    for (auto c : codes) rules.add(s, c);
  };
  // HIV antigen/antibody, RNA/viral load, genotype panels.
  add_all(Sensitivity::kHiv,
          {"75622-1", "56888-1", "7917-8",  "7918-6",  "68961-2", "31201-7", "5221-7",  "20447-9",
           "25835-0", "25836-8", "29893-5", "48345-3", "48346-0", "49905-3", "43009-0", "14092-1",
           "80387-4", "44533-7", "44873-7", "16975-5", "21007-0", "41515-8", "10351-5", "24012-7"});
  // Genetic testing: variant reporting panels and their observations.
  add_all(Sensitivity::kGenetic,
          {"81247-9", "48018-6", "53037-8", "48004-6", "48005-3", "69548-6", "51958-7", "81252-9",
           "62374-4", "47998-0", "48013-7", "82121-5", "21636-6", "21637-4", "51963-7", "48002-0",
           "48019-4", "53034-5", "81258-6", "81290-9", "55233-1", "94076-7"});
  // Drug screens and confirmations (substance use, 42 CFR Part 2 territory).
  add_all(Sensitivity::kSubstanceUse,
          {"18717-9", "3397-7",  "18282-4", "19295-5", "3426-4",  "19659-2", "14314-9", "5643-2",
           "3349-8",  "19261-7", "19270-8", "3879-4",  "19550-3", "19415-9", "8214-9",  "3377-9",
           "16226-3", "3779-7",  "19141-1", "70146-6", "20518-7", "3393-6",  "12286-3", "59615-5"});
  // Behavioral health instruments and drug levels whose presence implies a diagnosis.
  add_all(Sensitivity::kBehavioralHealth,
          {"44249-1", "69737-5", "55757-9", "44261-6", "70274-6", "14334-7", "3719-3", "4086-6"});
  // Sexually transmitted infections.
  add_all(Sensitivity::kSexualHealth,
          {"21613-5", "43304-5", "24111-7", "43305-2", "20507-0", "5292-8", "22461-8", "47236-5",
           "21440-3", "69937-1", "5196-1", "47238-1", "36902-5", "36903-3", "53879-3", "11084-1"});
  return rules;
}

void SensitivityRules::add(Sensitivity category, std::string_view code) {
  by_code_[std::string(code)] = category;
}

void SensitivityRules::clear() { by_code_.clear(); }

Sensitivity SensitivityRules::classify(const CodeableConcept& code) const {
  for (const Coding& c : code.codings) {
    bool loinc = c.system == "LN" || c.system == "pCLOCD" || c.system == "http://loinc.org";
    auto it = loinc ? by_code_.find(c.code) : by_code_.find(c.system + "|" + c.code);
    if (it != by_code_.end()) return it->second;
  }
  return Sensitivity::kNone;
}

Sensitivity SensitivityRules::classify(const Observation& obs,
                                       const CodeableConcept& service) const {
  Sensitivity own = classify(obs.code);
  return own != Sensitivity::kNone ? own : classify(service);
}

void SensitivityRules::apply(LabMessage& message) const {
  // Never clears a category: a label the sender set (e.g. FHIR meta.security) stays when the
  // value sets do not know the code, because under-labelling discloses and over-labelling masks.
  auto label = [&](Observation& o, const CodeableConcept& service) {
    if (Sensitivity s = classify(o, service); s != Sensitivity::kNone) o.sensitivity = s;
  };
  for (Report& r : message.reports)
    for (Observation& o : r.observations) label(o, r.service);
  for (Order& order : message.orders)
    for (Observation& o : order.ask_at_order_entry) label(o, order.service);
}

}  // namespace labvault::model
