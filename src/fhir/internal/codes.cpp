#include "fhir/internal/codes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>
#include <utility>

namespace labvault::fhir::internal {
namespace {

using Pair = std::pair<std::string_view, std::string_view>;

constexpr std::string_view kLocalSystemPrefix = "urn:labvault:codesystem:";
constexpr std::string_view kAssignerPrefix = "urn:labvault:assigner:";
constexpr std::string_view kV2Prefix = "http://terminology.hl7.org/CodeSystem/v2-";

// HL7 v2.5.1 table 0396 names with a canonical FHIR URI (R4 terminologies-systems.html). The
// first row for a URI is what the reverse mapping gives back (pCLOCD codes are LOINC codes).
constexpr std::array<Pair, 9> kSystems{{
    {"LN", kLoinc},
    {"pCLOCD", kLoinc},
    {"SCT", "http://snomed.info/sct"},
    {"UCUM", kUcum},
    {"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I10", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"HGNC", "http://www.genenames.org/geneId"},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_uri(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("urn:");
}

// ISO/IEC 8824 OID: digits separated by single dots, e.g. 2.16.840.1.113883.3.72.
bool is_oid(std::string_view s) {
  if (s.empty() || s.find('.') == std::string_view::npos || s.front() == '.' || s.back() == '.')
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' ? s[i + 1] == '.' : !is_digit(s[i])) return false;
  }
  return true;
}

// URIs may not hold whitespace (R4 datatypes.html#uri), and names like "Good Health Hospital"
// do; RFC 3986 2.1 percent-encoding keeps them reversible.
std::string percent_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      is_digit(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' ||
                      c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (is_digit(c)) return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view lookup(std::span<const Pair> table, std::string_view key) {
  for (auto [k, v] : table)
    if (k == key) return v;
  return {};
}

std::string_view reverse_lookup(std::span<const Pair> table, std::string_view value) {
  for (auto [k, v] : table)
    if (v == value) return k;
  return {};
}

}  // namespace

std::string system_uri(std::string_view name) {
  if (name.empty() || is_uri(name)) return std::string(name);
  if (auto uri = lookup(kSystems, name); !uri.empty()) return std::string(uri);
  // HL7 tables: "HL70078" -> v2-0078 (R4 terminologies-v2.html).
  if (name.size() == 7 && name.starts_with("HL7") &&
      std::all_of(name.begin() + 3, name.end(), is_digit))
    return fmt::format("{}{}", kV2Prefix, name.substr(3));
  return fmt::format("{}{}", kLocalSystemPrefix, percent_encode(name));
}

std::string system_name(std::string_view uri) {
  if (auto name = reverse_lookup(kSystems, uri); !name.empty()) return std::string(name);
  if (uri.starts_with(kV2Prefix)) {
    std::string_view table = uri.substr(kV2Prefix.size());
    if (table.size() == 4 && std::all_of(table.begin(), table.end(), is_digit))
      return fmt::format("HL7{}", table);
  }
  if (uri.starts_with(kLocalSystemPrefix))
    return percent_decode(uri.substr(kLocalSystemPrefix.size()));
  return std::string(uri);
}

std::string identifier_system(std::string_view authority) {
  if (authority.empty() || is_uri(authority)) return std::string(authority);
  if (is_oid(authority)) return fmt::format("urn:oid:{}", authority);
  return fmt::format("{}{}", kAssignerPrefix, percent_encode(authority));
}

std::string authority_from_system(std::string_view system) {
  if (system.starts_with("urn:oid:")) return std::string(system.substr(8));
  if (system.starts_with(kAssignerPrefix))
    return percent_decode(system.substr(kAssignerPrefix.size()));
  return std::string(system);
}

std::string fhir_code(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string_view observation_status(model::ResultStatus status) {
  using S = model::ResultStatus;
  switch (status) {
    case S::kPending:
      return "registered";
    case S::kPreliminary:
    case S::kEntered:
    case S::kPartial:
      return "preliminary";
    case S::kFinal:
    case S::kFinalUnchanged:
      return "final";
    case S::kCorrected:
      return "corrected";
    case S::kCancelled:
      return "cancelled";
    case S::kWrong:
    case S::kDeleted:
      return "entered-in-error";
    case S::kNotAsked:
    case S::kOrderDetail:
      return "unknown";
  }
  return "unknown";
}

std::optional<model::ResultStatus> result_status_from_fhir(std::string_view code,
                                                           bool ask_at_order_entry) {
  using S = model::ResultStatus;
  if (code == "registered") return S::kPending;
  if (code == "preliminary") return S::kPreliminary;
  if (code == "final") return S::kFinal;
  if (code == "amended" || code == "corrected") return S::kCorrected;
  if (code == "cancelled") return S::kCancelled;
  if (code == "entered-in-error") return S::kWrong;
  if (code == "unknown") return ask_at_order_entry ? S::kOrderDetail : S::kNotAsked;
  return std::nullopt;
}

std::string_view report_status(model::ReportStatus status) {
  using R = model::ReportStatus;
  switch (status) {
    case R::kRegistered:
      return "registered";
    case R::kPartial:
      return "partial";
    case R::kPreliminary:
      return "preliminary";
    case R::kFinal:
      return "final";
    case R::kCorrected:
      return "corrected";
    case R::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<model::ReportStatus> report_status_from_fhir(std::string_view code) {
  using R = model::ReportStatus;
  if (code == "registered" || code == "unknown") return R::kRegistered;
  if (code == "partial") return R::kPartial;
  if (code == "preliminary") return R::kPreliminary;
  if (code == "final") return R::kFinal;
  if (code == "amended" || code == "corrected" || code == "appended") return R::kCorrected;
  if (code == "cancelled" || code == "entered-in-error") return R::kCancelled;
  return std::nullopt;
}

std::string_view gender(model::Sex sex) {
  switch (sex) {
    case model::Sex::kFemale:
      return "female";
    case model::Sex::kMale:
      return "male";
    case model::Sex::kOther:
      return "other";
    case model::Sex::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<model::Sex> sex_from_gender(std::string_view code) {
  if (code == "female") return model::Sex::kFemale;
  if (code == "male") return model::Sex::kMale;
  if (code == "other") return model::Sex::kOther;
  if (code == "unknown") return model::Sex::kUnknown;
  return std::nullopt;
}

// HL7 table 0027 -> R4 valueset-request-priority (routine | urgent | asap | stat).
constexpr std::array<Pair, 4> kPriority{
    {{"S", "stat"}, {"A", "asap"}, {"R", "routine"}, {"U", "urgent"}}};

std::string_view request_priority(std::string_view hl7) { return lookup(kPriority, hl7); }
std::string_view priority_from_fhir(std::string_view code) {
  return reverse_lookup(kPriority, code);
}

// HL7 table 0119 order control -> R4 valueset-request-status. NW and everything not listed is
// an order in force ("active"); RE (observations to follow) is a filled order.
// Cancel, discontinue and their acknowledgements (OC, CR, OD, DR) all mean the order is off;
// the first code listed for a FHIR status is the one written back.
constexpr std::array<Pair, 10> kOrderControl{{{"NW", "active"},
                                              {"RE", "completed"},
                                              {"CA", "revoked"},
                                              {"DC", "revoked"},
                                              {"OC", "revoked"},
                                              {"CR", "revoked"},
                                              {"OD", "revoked"},
                                              {"DR", "revoked"},
                                              {"HD", "on-hold"},
                                              {"OH", "on-hold"}}};

std::string_view request_status(std::string_view order_control) {
  std::string_view status = lookup(kOrderControl, order_control);
  return status.empty() ? "active" : status;
}
std::string_view order_control_from_fhir(std::string_view status) {
  return reverse_lookup(kOrderControl, status);
}

std::string_view interpretation_system(std::string_view flag) {
  // R4 v3-ObservationInterpretation codes
  // (terminology.hl7.org/CodeSystem/v3-ObservationInterpretation).
  static constexpr std::array<std::string_view, 47> kV3{
      "<",   ">",  "A",   "AA",    "AC",    "B",   "CAR", "Carrier", "D",   "DET", "E",   "EX",
      "EXP", "H",  "H>",  "HH",    "HU",    "HX",  "I",   "IE",      "IND", "L",   "L<",  "LL",
      "LU",  "LX", "MS",  "N",     "NCL",   "ND",  "NEG", "NR",      "NS",  "POS", "QCF", "R",
      "RR",  "S",  "SDD", "SYN-R", "SYN-S", "TOX", "U",   "UNE",     "VS",  "W",   "WR"};
  // Every table 0078 code is also a v3 code; anything else is not a code of either system and
  // is written as text rather than invented under an official system.
  if (std::ranges::find(kV3, flag) != kV3.end())
    return "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
  return {};
}

std::optional<SecurityLabel> security_label(model::Sensitivity sensitivity) {
  // v3-ActCode, value set v3-ActInformationSensitivityPolicy (OID 2.16.840.1.113883.1.11.20429),
  // which R4 security-labels.html lists for meta.security: HIV, GDIS (genetic disease), ETH
  // (substance abuse), BH (behavioral health), STD (sexually transmitted disease).
  using S = model::Sensitivity;
  switch (sensitivity) {
    case S::kHiv:
      return SecurityLabel{"HIV", "HIV/AIDS information sensitivity"};
    case S::kGenetic:
      return SecurityLabel{"GDIS", "genetic disease information sensitivity"};
    case S::kSubstanceUse:
      return SecurityLabel{"ETH", "substance abuse information sensitivity"};
    case S::kBehavioralHealth:
      return SecurityLabel{"BH", "behavioral health information sensitivity"};
    case S::kSexualHealth:
      return SecurityLabel{"STD", "sexually transmitted disease information sensitivity"};
    case S::kNone:
      return std::nullopt;
  }
  return std::nullopt;
}

bool looks_like_ucum(std::string_view unit) {
  // Units labs send without naming UCUM that are UCUM as written (case matters in UCUM, so
  // "MG/DL" is not on the list). "10^9/L" is not UCUM (UCUM writes 10*9/L) and stays text.
  static constexpr std::array<std::string_view, 47> kCommon{"%",
                                                            "/uL",
                                                            "10*3/uL",
                                                            "10*6/uL",
                                                            "10*9/L",
                                                            "10*12/L",
                                                            "fL",
                                                            "pg",
                                                            "g/dL",
                                                            "g/L",
                                                            "mg/dL",
                                                            "mg/L",
                                                            "ug/dL",
                                                            "ug/L",
                                                            "ug/mL",
                                                            "ng/mL",
                                                            "ng/dL",
                                                            "ng/L",
                                                            "pg/mL",
                                                            "mmol/L",
                                                            "umol/L",
                                                            "nmol/L",
                                                            "pmol/L",
                                                            "mol/L",
                                                            "meq/L",
                                                            "U/L",
                                                            "[IU]/L",
                                                            "m[IU]/L",
                                                            "[IU]/mL",
                                                            "mU/L",
                                                            "U/mL",
                                                            "mL/min",
                                                            "mm[Hg]",
                                                            "mm/h",
                                                            "s",
                                                            "min",
                                                            "h",
                                                            "d",
                                                            "kg",
                                                            "g",
                                                            "mg",
                                                            "mL",
                                                            "L",
                                                            "mosm/kg",
                                                            "[pH]",
                                                            "{ratio}",
                                                            "mL/min/{1.73_m2}"};
  return std::ranges::find(kCommon, unit) != kCommon.end();
}

// HL7 0200 -> R4 name-use. Table rows without a FHIR counterpart map to nothing.
constexpr std::array<Pair, 5> kNameUse{
    {{"L", "official"}, {"M", "maiden"}, {"N", "nickname"}, {"S", "anonymous"}, {"D", "usual"}}};
std::string_view name_use(std::string_view hl7) { return lookup(kNameUse, hl7); }
std::string_view name_use_from_fhir(std::string_view use) { return reverse_lookup(kNameUse, use); }

// HL7 0190 -> R4 address-use; M (mailing) is an address *type* (postal) in FHIR.
constexpr std::array<Pair, 5> kAddressUse{
    {{"H", "home"}, {"B", "work"}, {"O", "work"}, {"C", "temp"}, {"BA", "old"}}};
std::string_view address_use(std::string_view hl7) { return lookup(kAddressUse, hl7); }
std::string_view address_use_from_fhir(std::string_view use, std::string_view type) {
  if (use.empty() && type == "postal") return "M";
  return reverse_lookup(kAddressUse, use);
}

// HL7 0201 -> R4 contact-point-use.
constexpr std::array<Pair, 4> kTelecomUse{
    {{"PRN", "home"}, {"WPN", "work"}, {"VHN", "temp"}, {"PRS", "mobile"}}};
std::string_view telecom_use(std::string_view hl7) { return lookup(kTelecomUse, hl7); }
std::string_view telecom_use_from_fhir(std::string_view use) {
  return reverse_lookup(kTelecomUse, use);
}

// HL7 0202 -> R4 contact-point-system. The first row of a system is the reverse.
constexpr std::array<Pair, 8> kEquipment{{{"PH", "phone"},
                                          {"CP", "phone"},
                                          {"FX", "fax"},
                                          {"Internet", "email"},
                                          {"X.400", "email"},
                                          {"BP", "pager"},
                                          {"MD", "other"},
                                          {"TDD", "other"}}};
std::string_view telecom_system(std::string_view equipment) {
  std::string_view system = lookup(kEquipment, equipment);
  return system.empty() ? "phone" : system;  // XTN without equipment is a phone number
}
std::string_view telecom_equipment_from_fhir(std::string_view system) {
  return reverse_lookup(kEquipment, system);
}

// HL7 0004 -> v3 ActEncounterCode, which R4 binds Encounter.class to (extensible); classes
// without a v3 counterpart keep their v2 code.
constexpr std::array<Pair, 4> kPatientClass{
    {{"I", "IMP"}, {"O", "AMB"}, {"E", "EMER"}, {"P", "PRENC"}}};

ClassCoding encounter_class(std::string_view patient_class) {
  if (patient_class.empty()) return {"http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK"};
  if (auto v3 = lookup(kPatientClass, patient_class); !v3.empty())
    return {std::string(kV3ActCode), std::string(v3)};
  return {std::string(kV2Prefix) + "0004", fhir_code(patient_class)};
}

std::string patient_class_from_fhir(std::string_view system, std::string_view code) {
  if (system == kV3ActCode) {
    std::string_view v2 = reverse_lookup(kPatientClass, code);
    return std::string(v2.empty() ? code : v2);
  }
  if (system.ends_with("v3-NullFlavor")) return {};
  return std::string(code);
}

std::string deterministic_uuid(std::string_view seed) {
  // FNV-1a, 128-bit (offset basis and prime from draft-eastlake-fnv). Not cryptographic: the
  // id only has to be stable and unlikely to collide within one Bundle.
  __extension__ using U128 = unsigned __int128;
  const U128 prime = (U128{1} << 88) | 0x13b;
  U128 hash = (U128{0x6c62272e07bb0142ULL} << 64) | 0x62b821756295c58dULL;
  for (unsigned char c : seed) {
    hash ^= c;
    hash *= prime;
  }
  auto hi = static_cast<std::uint64_t>(hash >> 64);
  auto lo = static_cast<std::uint64_t>(hash);
  // FNV-1a barely changes when only the last byte does ("...;1" vs "...;2"), so ids of
  // neighbouring entries would look alike. MurmurHash3's fmix64, applied in this Feistel-like
  // order, is a bijection: it spreads the difference without creating collisions.
  auto fmix64 = [](std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
  };
  lo = fmix64(lo ^ fmix64(hi));
  hi = fmix64(hi ^ fmix64(lo));
  // RFC 9562 4.1/4.2: version nibble 4 and variant bits 10, so validators accept the format.
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

}  // namespace labvault::fhir::internal
