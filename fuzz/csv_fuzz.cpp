// libFuzzer target for the CSV reader: any bytes must give messages or an Error, never a crash,
// hang or unbounded allocation. When read() succeeds, write() then read() must give back the
// same model (the round trip the csv module promises), so the fuzzer also hunts for writer bugs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "csv/csv.hpp"

namespace {

// Every field, a strftime-like date format and a declared value type, so inputs reach every
// conversion. Header names are short so that mutations find them.
constexpr std::string_view kMapping = R"(
[csv]
date_format = "%m/%d/%Y %I:%M %p"
[columns]
patient.id = "id"
patient.id_authority = "auth"
patient.family = "fam"
patient.given = "giv"
patient.birth_date = "dob"
patient.sex = "sex"
patient.phone = "tel"
patient.address_line = "adr"
patient.city = "cty"
patient.state = "st"
patient.postal_code = "zip"
order.placer = "plc"
order.filler = "acc"
order.provider_id = "prv"
order.provider_family = "pfam"
order.provider_given = "pgiv"
report.code = "rc"
report.code_system = "rcs"
report.display = "rd"
report.status = "rst"
report.observed = "rob"
report.issued = "ris"
specimen.id = "sid"
specimen.type = "sty"
specimen.collected = "col"
specimen.received = "rcv"
obs.code = "c"
obs.code_system = "cs"
obs.display = "d"
obs.value = "v"
obs.value_type = "t"
obs.unit = "u"
obs.reference_range = "rr"
obs.flags = "f"
obs.status = "s"
obs.observed = "ob"
obs.issued = "is"
obs.note = "n"
)";

const labvault::csv::Mapping& mapping() {
  static const labvault::csv::Mapping m = [] {
    auto parsed = labvault::csv::parse_mapping(kMapping, "fuzz-mapping.toml");
    if (!parsed) std::abort();
    return *parsed;
  }();
  return m;
}

// MSH-10 names the line of a patient's first row, which moves when write() drops blank lines
// or unquotes fields; everything else must survive.
void forget_control_ids(std::vector<labvault::model::LabMessage>& messages) {
  for (auto& m : messages) m.header.control_id.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto messages = labvault::csv::read(text, mapping(), "fuzz.csv");
  if (!messages) return 0;
  std::string written = labvault::csv::write(*messages, mapping());
  auto again = labvault::csv::read(written, mapping(), "fuzz.csv");
  if (!again) std::abort();
  forget_control_ids(*messages);
  forget_control_ids(*again);
  if (*again != *messages) std::abort();
  return 0;
}
