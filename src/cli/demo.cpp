#include "cli/demo.hpp"

namespace labvault::cli {

const std::vector<std::string_view>& demo_messages() {
  static const std::vector<std::string_view> messages = {
      // CBC for Ada Sample, hemoglobin low.
      "MSH|^~\\&|DEMO-ANALYZER|DEMOLAB|LABVAULT|DEMOHOSP|20261125083000-0500||ORU^R01^ORU_R01|"
      "DEMO-0001|P|2.5.1\r"
      "PID|1||DEMO-MRN-1001^^^DEMOLAB^MR||Sample^Ada^Q||19800115|F|||1 Example Way^^Springfield^"
      "IL^62701^USA^H||^PRN^PH^^1^555^0100\r"
      "PV1|1|O|LAB^101^A||||||||||||||||DEMO-V-1\r"
      "ORC|RE|PL-9001|FL-9001||CM||||20261125070000-0500|||1234567893^Okafor^Chidi\r"
      "OBR|1|PL-9001|FL-9001|58410-2^CBC panel - Blood by Automated count^LN|||"
      "20261125071500-0500|||||||||1234567893^Okafor^Chidi||||||20261125082900-0500|||F\r"
      "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||10.1|10*3/uL^^UCUM|4.5-11.0|N|||F|||"
      "20261125071500-0500\r"
      "OBX|2|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||11.2|g/dL^^UCUM|12.0-16.0|L|||F|||"
      "20261125071500-0500\r"
      "OBX|3|NM|777-3^Platelets [#/volume] in Blood^LN||425|10*3/uL^^UCUM|150-400|H|||F|||"
      "20261125071500-0500\r"
      "SPM|1|^SP-9001||119297000^Blood specimen^SCT|||||||||||||20261125071500-0500|"
      "20261125073000-0500\r",
      // The lab corrects the hemoglobin: the earlier 11.2 stays in the history.
      "MSH|^~\\&|DEMO-ANALYZER|DEMOLAB|LABVAULT|DEMOHOSP|20261125101500-0500||ORU^R01^ORU_R01|"
      "DEMO-0002|P|2.5.1\r"
      "PID|1||DEMO-MRN-1001^^^DEMOLAB^MR||Sample^Ada^Q||19800115|F\r"
      "ORC|RE|PL-9001|FL-9001||CM\r"
      "OBR|1|PL-9001|FL-9001|58410-2^CBC panel - Blood by Automated count^LN|||"
      "20261125071500-0500|||||||||1234567893^Okafor^Chidi||||||20261125101400-0500|||C\r"
      "OBX|1|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||12.1|g/dL^^UCUM|12.0-16.0|N|||C|||"
      "20261125071500-0500\r"
      "NTE|1|L|Corrected after repeat analysis.\r",
      // Basic metabolic panel for Ben Example.
      "MSH|^~\\&|DEMO-ANALYZER|DEMOLAB|LABVAULT|DEMOHOSP|20261125090000-0500||ORU^R01^ORU_R01|"
      "DEMO-0003|P|2.5.1\r"
      "PID|1||DEMO-MRN-1002^^^DEMOLAB^MR||Example^Ben||19671203|M|||22 Sample St^^Springfield^IL^"
      "62702^USA^H\r"
      "ORC|RE|PL-9002|FL-9002||CM\r"
      "OBR|1|PL-9002|FL-9002|51990-0^Basic metabolic panel - Blood^LN|||20261125081000-0500|||||"
      "||||1234567893^Okafor^Chidi||||||20261125085500-0500|||F\r"
      "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||182|mg/dL^^UCUM|70-99|H|||F\r"
      "OBX|2|NM|2951-2^Sodium [Moles/volume] in Serum or Plasma^LN||139|mmol/L^^UCUM|136-145|N|||"
      "F\r"
      "OBX|3|NM|2823-3^Potassium [Moles/volume] in Serum or Plasma^LN||4.1|mmol/L^^UCUM|3.5-5.1|"
      "N|||F\r"
      "OBX|4|NM|2160-0^Creatinine [Mass/volume] in Serum or Plasma^LN||1.4|mg/dL^^UCUM|0.7-1.3|"
      "H|||F\r",
      // HIV screen for Cy Demo: a sensitive category, masked by default in later releases.
      "MSH|^~\\&|DEMO-ANALYZER|DEMOLAB|LABVAULT|DEMOHOSP|20261125093000-0500||ORU^R01^ORU_R01|"
      "DEMO-0004|P|2.5.1\r"
      "PID|1||DEMO-MRN-1003^^^DEMOLAB^MR||Demo^Cy||19920708|O\r"
      "ORC|RE|PL-9003|FL-9003||CM\r"
      "OBR|1|PL-9003|FL-9003|75622-1^HIV 1+2 Ab+Ag screen^LN|||20261125084000-0500|||||||||"
      "1234567893^Okafor^Chidi||||||20261125092500-0500|||F\r"
      "OBX|1|CWE|75622-1^HIV 1+2 Ab+Ag screen^LN||260385009^Negative^SCT||||||F\r",
  };
  return messages;
}

}  // namespace labvault::cli
