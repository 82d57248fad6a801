#include "store/codec.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>

#include "hl7/hl7.hpp"
#include "support/testdata.hpp"

namespace labvault::store::codec {
namespace {

using namespace labvault::model;
using P = DateTime::Precision;

// Planted in every string the robustness tests encode: an error message must never echo it.
constexpr std::string_view kCanary = "CANARY-NAME-7731";

std::string canary(std::string_view field) {
  return std::string(kCanary) + "-" + std::string(field);
}

// A DateTime as a parser would give it: only the fields the precision covers, a fraction with
// seconds, and a negative offset (it exercises zigzag) from hours on.
DateTime date(P p) {
  DateTime d;
  d.precision = p;
  if (p >= P::kYear) d.year = 2024;
  if (p >= P::kMonth) d.month = 2;
  if (p >= P::kDay) d.day = 29;
  if (p >= P::kHour) d.hour = 23, d.utc_offset_minutes = -(5 * 60 + 30);
  if (p >= P::kMinute) d.minute = 59;
  if (p >= P::kSecond) d.second = 60, d.fraction = "0125";
  return d;
}

Coding coding(std::string_view tag) {
  return {canary(tag) + "-code", canary(tag) + "-display", "LN", "2.77"};
}
CodeableConcept concept_of(std::string_view tag) {
  return {{coding(tag), coding(std::string(tag) + "-alt")}, canary(tag) + "-text"};
}
Identifier identifier(std::string_view tag) { return {canary(tag), "2.16.840.1.113883", "MR"}; }
HumanName name(std::string_view tag) { return {canary(tag), {"Ada", "Augusta"}, "III", "Dr", "L"}; }
Practitioner practitioner(std::string_view tag) {
  return {canary(tag) + "-id", "NPI", name(std::string(tag) + "-name")};
}

Patient full_patient() {
  Patient p;
  p.identifiers = {identifier("mrn"), identifier("ssn")};
  p.names = {name("legal"), name("maiden")};
  p.birth_date = date(P::kDay);
  p.sex = Sex::kFemale;
  p.addresses = {{{canary("line1"), "Apt 4"}, "Springfield", "IL", "62701", "USA", "H"},
                 {{"PO Box 7"}, "Shelbyville", "IL", "62565", "USA", "M"}};
  p.phones = {{canary("phone"), "PRN", "PH"}, {"a@example.org", "NET", "Internet"}};
  return p;
}

Encounter full_encounter() {
  return {"O", canary("location"), canary("visit"), practitioner("attending"), date(P::kMinute)};
}

Specimen full_specimen() {
  return {canary("specimen"), concept_of("type"), concept_of("method"),
          concept_of("site"), date(P::kSecond),   date(P::kHour)};
}

ObservationVersion full_version(ObservationValue value) {
  return {std::move(value), ResultStatus::kPreliminary, date(P::kSecond), date(P::kMinute)};
}

Observation full_observation(ObservationValue value) {
  Observation o;
  o.set_id = "3";
  o.value_type = "NM";
  o.code = concept_of("code");
  o.sub_id = "1.2";
  o.value = std::move(value);
  o.unit = coding("unit");
  o.reference_range = {"3.1-9.7", 3.1, 9.7};
  o.abnormal_flags = {"H", "A"};
  o.status = ResultStatus::kCorrected;
  o.observed = date(P::kSecond);
  o.issued = date(P::kMinute);
  o.performers = {practitioner("perf1"), practitioner("perf2")};
  o.performing_lab = {canary("lab"), "05D0000000"};
  o.notes = {canary("note1"), "", "line three"};
  o.sensitivity = Sensitivity::kGenetic;
  return o;
}

// Every alternative of ObservationValue, each fully populated.
std::vector<ObservationValue> all_values() {
  return {std::monostate{}, NumericValue{canary("num"), -98.25},
          StructuredNumeric{">=", "1", ":", "128"}, TextValue{{canary("tx1"), "", "tx3"}},
          concept_of("coded")};
}

Order full_order() {
  Order o;
  o.control = "NW";
  o.placer_order_number = identifier("placer");
  o.filler_order_number = identifier("filler");
  o.placer_group_number = identifier("group");
  o.service = concept_of("service");
  o.priority = "S";
  o.ordered = date(P::kSecond);
  o.ordering_provider = practitioner("orderer");
  o.reason = concept_of("reason");
  o.ask_at_order_entry = {full_observation(TextValue{{"fasting"}}),
                          full_observation(NumericValue{"12", 12})};
  o.ask_at_order_entry[1].history = {full_version(NumericValue{"11", 11})};
  o.specimens = {full_specimen()};
  o.notes = {canary("order-note"), "second"};
  return o;
}

Report full_report() {
  Report r;
  r.set_id = "1";
  r.placer_order_number = identifier("placer");
  r.filler_order_number = identifier("filler");
  r.service = concept_of("service");
  r.observed = date(P::kSecond);
  r.issued = date(P::kMinute);
  r.diagnostic_section = "HM";
  r.result_status_code = "C";
  r.status = ReportStatus::kCorrected;
  r.parent_result_code = concept_of("parent");
  r.parent_result_sub_id = "2";
  r.parent_result_text = canary("parent-text");
  r.parent_filler_order_number = identifier("parent-filler");
  r.result_interpreters = {practitioner("interp1"), practitioner("interp2")};
  r.observations = {full_observation(NumericValue{"1", 1})};
  r.specimens = {full_specimen()};
  r.notes = {canary("report-note"), "x"};
  return r;
}

MessageHeader full_header() {
  return {"LIS", "LAB^1.2.3^ISO", "LABVAULT",    "HOSP", date(P::kSecond),
          "ORU", "R01",           canary("ctl"), "P",    "2.5.1"};
}

template <typename T>
T round_trip(const T& v) {
  const std::string bytes = encode(v);
  T out{};
  auto r = decode(bytes, out);
  EXPECT_TRUE(r) << r.error().message;
  return out;
}

template <typename T>
Error decode_error(std::string_view bytes) {
  T out{};
  auto r = decode(bytes, out);
  EXPECT_FALSE(r) << "decoded " << bytes.size() << " bytes that should fail";
  if (r) return {};
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_EQ(r.error().message.find(kCanary), std::string::npos) << r.error().message;
  return r.error();
}

TEST(StoreCodec, PatientEncounterSpecimenHeaderRoundTrip) {
  EXPECT_EQ(round_trip(full_patient()), full_patient());
  EXPECT_EQ(round_trip(full_encounter()), full_encounter());
  EXPECT_EQ(round_trip(full_specimen()), full_specimen());
  EXPECT_EQ(round_trip(full_header()), full_header());
}

TEST(StoreCodec, EveryObservationValueKindRoundTrips) {
  for (const ObservationValue& value : all_values()) {
    SCOPED_TRACE(value.index());
    EXPECT_EQ(round_trip(full_observation(value)), full_observation(value));
    EXPECT_EQ(round_trip(full_version(value)), full_version(value));
  }
}

TEST(StoreCodec, ObservationLeavesHistoryToItsTable) {
  Observation o = full_observation(NumericValue{"4.3", 4.3});
  o.history = {full_version(NumericValue{"5.9", 5.9}), full_version(TextValue{{"x"}})};
  Observation expected = o;
  expected.history.clear();
  EXPECT_EQ(round_trip(o), expected);
}

TEST(StoreCodec, OrderLeavesSpecimensOutButKeepsAnswersWithTheirHistory) {
  const Order o = full_order();
  Order expected = o;
  expected.specimens.clear();
  const Order back = round_trip(o);
  EXPECT_EQ(back, expected);
  // Answers live only inside their Order, so nothing else would keep their history.
  ASSERT_EQ(back.ask_at_order_entry.size(), 2u);
  EXPECT_EQ(back.ask_at_order_entry[1].history.size(), 1u);
}

TEST(StoreCodec, ReportLeavesObservationsAndSpecimensOut) {
  Report expected = full_report();
  expected.observations.clear();
  expected.specimens.clear();
  EXPECT_EQ(round_trip(full_report()), expected);
}

TEST(StoreCodec, DefaultValuesRoundTrip) {
  EXPECT_EQ(round_trip(Patient{}), Patient{});
  EXPECT_EQ(round_trip(Encounter{}), Encounter{});
  EXPECT_EQ(round_trip(Specimen{}), Specimen{});
  EXPECT_EQ(round_trip(Order{}), Order{});
  EXPECT_EQ(round_trip(Report{}), Report{});
  EXPECT_EQ(round_trip(Observation{}), Observation{});
  EXPECT_EQ(round_trip(ObservationVersion{}), ObservationVersion{});
  EXPECT_EQ(round_trip(MessageHeader{}), MessageHeader{});
  EXPECT_EQ(round_trip(std::vector<std::string>{}), std::vector<std::string>{});
}

TEST(StoreCodec, StringListsRoundTrip) {
  const std::vector<std::string> v = {canary("a"), "", std::string(300, 'x'),
                                      std::string("nul\0inside", 10)};
  EXPECT_EQ(round_trip(v), v);
}

TEST(StoreCodec, EveryDateTimePrecisionRoundTrips) {
  for (P p : {P::kNone, P::kYear, P::kMonth, P::kDay, P::kHour, P::kMinute, P::kSecond}) {
    SCOPED_TRACE(static_cast<int>(p));
    Specimen s;
    s.collected = date(p);
    s.received = date(p);
    s.received.utc_offset_minutes.reset();
    EXPECT_EQ(round_trip(s), s);
  }
}

// No parser produces these, but the header promises decode(encode(x)) == x for every value.
TEST(StoreCodec, DateTimeFieldsBeyondThePrecisionAreKept) {
  Specimen s;
  s.collected = date(P::kDay);
  s.collected.minute = 7;
  s.collected.fraction = "5";
  s.received.year = INT_MIN;
  s.received.second = INT_MAX;
  s.received.utc_offset_minutes = INT_MIN;
  EXPECT_EQ(round_trip(s), s);
}

TEST(StoreCodec, DoublesKeepTheirBitPattern) {
  for (double d : {0.0, -0.0, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::denorm_min(), -1e308}) {
    Observation o;
    o.value = NumericValue{"x", d};
    o.reference_range.low = d;
    const Observation back = round_trip(o);
    EXPECT_EQ(std::bit_cast<uint64_t>(std::get<NumericValue>(back.value).value),
              std::bit_cast<uint64_t>(d));
    ASSERT_TRUE(back.reference_range.low.has_value());
    EXPECT_EQ(std::bit_cast<uint64_t>(*back.reference_range.low), std::bit_cast<uint64_t>(d));
    EXPECT_FALSE(back.reference_range.high.has_value());
  }
}

TEST(StoreCodec, EveryEnumeratorRoundTrips) {
  for (int i = 0; i <= static_cast<int>(Sex::kOther); ++i) {
    Patient p;
    p.sex = static_cast<Sex>(i);
    EXPECT_EQ(round_trip(p), p);
  }
  for (int i = 0; i <= static_cast<int>(ResultStatus::kFinalUnchanged); ++i) {
    ObservationVersion v;
    v.status = static_cast<ResultStatus>(i);
    EXPECT_EQ(round_trip(v), v);
  }
  for (int i = 0; i <= static_cast<int>(Sensitivity::kSexualHealth); ++i) {
    Observation o;
    o.sensitivity = static_cast<Sensitivity>(i);
    EXPECT_EQ(round_trip(o), o);
  }
  for (int i = 0; i <= static_cast<int>(ReportStatus::kCancelled); ++i) {
    Report r;
    r.status = static_cast<ReportStatus>(i);
    EXPECT_EQ(round_trip(r), r);
  }
}

TEST(StoreCodec, DecodeReplacesTheWholeValueAndLeavesItAloneOnFailure) {
  Report target = full_report();
  ASSERT_TRUE(decode(encode(Report{}), target));
  EXPECT_EQ(target, Report{});  // observations and specimens are the store's to refill

  Patient untouched = full_patient();
  std::string bytes = encode(Patient{});
  bytes.pop_back();
  EXPECT_FALSE(decode(bytes, untouched));
  EXPECT_EQ(untouched, full_patient());
}

// Every prefix of a valid encoding is missing at least one field.
template <typename T>
void every_truncation_fails(const T& v) {
  const std::string bytes = encode(v);
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    decode_error<T>(std::string_view(bytes).substr(0, n));
  }
}

TEST(StoreCodec, EveryTruncationFails) {
  every_truncation_fails(full_observation(NumericValue{canary("v"), 1.5}));
  every_truncation_fails(full_observation(concept_of("v")));
  every_truncation_fails(full_patient());
  every_truncation_fails(full_order());
}

TEST(StoreCodec, ErrorsNameTheFieldNeverTheValue) {
  // Default Observation: version, set_id, value_type, code (2), sub_id, value, unit.code,
  // unit.display, then unit.system.
  const std::string bytes = encode(Observation{});
  EXPECT_EQ(decode_error<Observation>(bytes.substr(0, 9)).message,
            "stored Observation: truncated at unit.system");

  const std::string patient = encode(full_patient());
  const std::string cut = patient.substr(0, patient.find("Augusta"));
  EXPECT_EQ(decode_error<Patient>(cut).message,
            "stored Patient: length exceeds the remaining bytes at names[0].given[1]");
}

TEST(StoreCodec, FormatByteIsChecked) {
  std::string bytes = encode(full_patient());
  bytes[0] = 0x02;
  EXPECT_EQ(decode_error<Patient>(bytes).message, "stored Patient: unsupported format version 2");
  bytes[0] = static_cast<char>(0xFE);
  decode_error<Patient>(bytes);
  EXPECT_EQ(decode_error<Patient>("").message, "stored Patient: empty");
}

TEST(StoreCodec, TrailingBytesFail) {
  std::string bytes = encode(full_observation(TextValue{{"t"}})) + canary("tail");
  EXPECT_EQ(decode_error<Observation>(bytes).message,
            "stored Observation: unexpected bytes after the last field (21)");
  decode_error<std::vector<std::string>>(encode(std::vector<std::string>{"a"}) + '\0');
}

TEST(StoreCodec, HugeCountsAndLengthsFailBeforeAllocating) {
  const std::string huge = "\x80\x80\x80\x80\x80\x80\x80\x80\x7f";  // 2^56 - 1
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(decode_error<Patient>("\x01" + huge + "abc").message,
            "stored Patient: count exceeds the remaining bytes at identifiers");
  EXPECT_EQ(decode_error<std::vector<std::string>>("\x01" + huge).message,
            "stored string list: count exceeds the remaining bytes");
  EXPECT_EQ(decode_error<std::vector<std::string>>("\x01\x01" + huge + "ab").message,
            "stored string list: length exceeds the remaining bytes at [0]");
  // A count may claim every remaining byte; it must still fail without quadratic work.
  std::string many = "\x01\xff\xff\x03" + std::string(65535, '\0');
  EXPECT_EQ(decode_error<Patient>(many).message,
            "stored Patient: truncated at identifiers[21845].value");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(StoreCodec, MalformedScalarsFail) {
  // Default Patient: version, identifiers, names, birth_date header, sex, addresses, phones.
  const std::string patient = encode(Patient{});
  ASSERT_EQ(patient, std::string("\x01\x00\x00\x00\x00\x00\x00", 7));
  auto with = [&](size_t at, std::string_view replacement) {
    std::string b = patient;
    b.replace(at, 1, replacement);
    return b;
  };
  EXPECT_EQ(decode_error<Patient>(with(4, "\x04")).message,
            "stored Patient: invalid enum value at sex");
  EXPECT_EQ(decode_error<Patient>(with(3, "\x07")).message,
            "stored Patient: invalid DateTime header at birth_date");
  EXPECT_EQ(decode_error<Patient>(with(3, "\x40")).message,
            "stored Patient: invalid DateTime header at birth_date");
  EXPECT_EQ(decode_error<Patient>(with(3, "\x01\x80\x80\x80\x80\x20")).message,
            "stored Patient: integer out of range at birth_date.year");
  EXPECT_EQ(decode_error<Patient>(with(1, std::string(11, '\xff'))).message,
            "stored Patient: malformed varint at identifiers");

  // Default Observation: the value kind sits after code and sub_id; the low presence flag
  // after the unit and the range text.
  const std::string obs = encode(Observation{});
  std::string b = obs;
  b[6] = 5;
  EXPECT_EQ(decode_error<Observation>(b).message,
            "stored Observation: invalid value kind at value");
  b = obs;
  b[12] = 2;
  EXPECT_EQ(decode_error<Observation>(b).message,
            "stored Observation: invalid presence flag at reference_range.low");
}

// Everything labvault maps from the sample messages survives the codec.
TEST(StoreCodec, EveryPartOfEveryValidHl7FileRoundTrips) {
  size_t messages = 0, observations = 0;
  for (const auto& path : testing::files_in("hl7/valid")) {
    SCOPED_TRACE(path.filename().string());
    const std::string bytes = testing::read_bytes(path);
    auto split = hl7::split_file(bytes, path.filename().string());
    ASSERT_TRUE(split) << split.error().to_string();
    for (const hl7::MessageText& text : split->messages) {
      auto m = hl7::parse_to_model(text.text, path.filename().string());
      ASSERT_TRUE(m) << m.error().to_string();
      ++messages;
      EXPECT_EQ(round_trip(m->header), m->header);
      EXPECT_EQ(round_trip(m->patient), m->patient);
      EXPECT_EQ(round_trip(m->encounter), m->encounter);
      EXPECT_EQ(round_trip(m->patient_notes), m->patient_notes);
      EXPECT_EQ(round_trip(m->extra_segments), m->extra_segments);
      for (const Order& o : m->orders) {
        Order expected = o;
        expected.specimens.clear();
        EXPECT_EQ(round_trip(o), expected);
        for (const Specimen& s : o.specimens) EXPECT_EQ(round_trip(s), s);
      }
      for (const Report& r : m->reports) {
        Report expected = r;
        expected.observations.clear();
        expected.specimens.clear();
        EXPECT_EQ(round_trip(r), expected);
        for (const Specimen& s : r.specimens) EXPECT_EQ(round_trip(s), s);
        for (const Observation& o : r.observations) {
          ++observations;
          Observation without_history = o;
          without_history.history.clear();
          EXPECT_EQ(round_trip(o), without_history);
          for (const ObservationVersion& v : o.history) EXPECT_EQ(round_trip(v), v);
        }
      }
    }
  }
  EXPECT_GE(messages, 19u);
  EXPECT_GT(observations, 50u);
}

}  // namespace
}  // namespace labvault::store::codec
