#include <gtest/gtest.h>

#include <map>

#include "hl7/hl7.hpp"
#include "model/sensitivity.hpp"
#include "support/testdata.hpp"

namespace labvault::hl7 {
namespace {

using model::ErrorCode;
using model::LabMessage;

// Every message of a test file, mapped; fails the test on any problem.
std::vector<LabMessage> map_file(const std::string& relative) {
  std::string bytes = testing::read_bytes(testing::testdata(relative));
  static std::map<std::string, std::string> keep;  // views point into the file bytes
  std::string& stored = keep[relative] = std::move(bytes);
  auto split = split_file(stored, relative);
  EXPECT_TRUE(split) << split.error().to_string();
  std::vector<LabMessage> out;
  if (!split) return out;
  for (const MessageText& t : split->messages) {
    auto msg = Message::parse(t.text, t.first_line, relative);
    EXPECT_TRUE(msg) << msg.error().to_string();
    if (!msg) continue;
    auto problems = validate(*msg);
    for (const auto& p : problems) ADD_FAILURE() << relative << ": " << p.to_string();
    auto mapped = to_model(*msg);
    if (mapped) out.push_back(std::move(*mapped));
  }
  return out;
}

size_t observation_count(const LabMessage& m) {
  size_t n = 0;
  for (const auto& r : m.reports) n += r.observations.size();
  return n;
}

const model::Observation& first_obs(const LabMessage& m) {
  return m.reports.at(0).observations.at(0);
}

TEST(Hl7Mapping, HamaluikLabUsesAlternateLoincAndUnescapesUnits) {
  auto msgs = map_file("hl7/valid/hamaluik_sample_oru_r01_lab.hl7");
  ASSERT_EQ(msgs.size(), 1u);
  const LabMessage& m = msgs[0];
  EXPECT_EQ(m.reports.size(), 1u);
  EXPECT_EQ(observation_count(m), 14u);
  const auto& o = first_obs(m);
  ASSERT_NE(o.code.loinc(), nullptr);
  EXPECT_EQ(o.code.loinc()->code, "6690-2");
  EXPECT_EQ(std::get<model::NumericValue>(o.value).value, 10.1);
  EXPECT_EQ(o.unit.code, "10^9/L");
  EXPECT_EQ(o.abnormal_flags, std::vector<std::string>{"H"});
  EXPECT_EQ(o.reference_range.low, 3.1);
  EXPECT_EQ(o.reference_range.high, 9.7);
  EXPECT_EQ(m.reports[0].service.codings.at(0).display, "Complete Blood Count (CBC)");
  EXPECT_EQ(m.reports[0].service.codings.at(1).display, "CBC & Auto Differential");
  EXPECT_EQ(m.patient.sex, model::Sex::kFemale);
  EXPECT_EQ(m.patient.birth_date.to_hl7(), "19670202");
  ASSERT_EQ(m.extra_segments.size(), 2u);  // ZDR, ZPR kept
  EXPECT_TRUE(m.extra_segments[0].starts_with("ZDR|"));
}

TEST(Hl7Mapping, GenericSampleFindsLoincInAlternateCoding) {
  auto msgs = map_file("hl7/valid/hamaluik_sample_oru_r01_generic.hl7");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(observation_count(msgs[0]), 14u);
  EXPECT_EQ(first_obs(msgs[0]).code.loinc()->code, "6690-2");
  EXPECT_EQ(std::get<model::NumericValue>(first_obs(msgs[0]).value).text, "7.0");
}

TEST(Hl7Mapping, MicrobiologyKeepsComparatorsAndParentLinks) {
  auto msgs = map_file("hl7/valid/authored_oru_micro_culture.hl7");
  ASSERT_EQ(msgs.size(), 1u);
  const LabMessage& m = msgs[0];
  ASSERT_EQ(m.reports.size(), 2u);
  EXPECT_EQ(observation_count(m), 4u);
  auto organism = std::get<model::CodeableConcept>(m.reports[0].observations[0].value);
  EXPECT_EQ(organism.codings.at(0).code, "112283007");
  auto colonies = std::get<model::StructuredNumeric>(m.reports[0].observations[1].value);
  EXPECT_EQ(colonies.comparator, ">");
  EXPECT_EQ(colonies.num1, "100000");
  auto amp = std::get<model::StructuredNumeric>(m.reports[1].observations[0].value);
  EXPECT_EQ(amp.comparator, "<=");
  EXPECT_EQ(amp.num1, "2");
  EXPECT_EQ(std::get<model::StructuredNumeric>(m.reports[1].observations[1].value).comparator,
            ">=");
  // The file's second OBR has its tail shifted by one field (the parent result sits in OBR-25),
  // so the status falls back to the OBX statuses rather than failing the message.
  EXPECT_EQ(m.reports[1].status, model::ReportStatus::kFinal);
}

TEST(Hl7Mapping, ChildReportKeepsItsParentResultAndOrder) {
  auto m = parse_to_model(
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||X^^^A^MR\r"
      "OBR|1||FL-100|630-4^Culture^LN|||||||||||||||||||||F\r"
      "OBX|1|CWE|630-4^Culture^LN|1|112283007^E coli^SCT||||||F\r"
      "OBR|2||FL-101|29576-6^Susceptibility^LN|||||||||||||||||||||F|630-4&Culture&LN^1^E "
      "coli|||^FL-100\r"
      "OBX|1|SN|18864-9^Ampicillin^LN|1|<=^2|ug/mL||S|||F\r");
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->reports.size(), 2u);
  EXPECT_EQ(m->reports[1].parent_result_code.codings.at(0).code, "630-4");
  EXPECT_EQ(m->reports[1].parent_result_sub_id, "1");
  EXPECT_EQ(m->reports[1].parent_result_text, "E coli");
  EXPECT_EQ(m->reports[1].parent_filler_order_number.value, "FL-100");
}

TEST(Hl7Mapping, SensitiveCategoriesComeFromValueSets) {
  model::SensitivityRules rules = model::SensitivityRules::defaults();
  auto tox = map_file("hl7/valid/authored_oru_tox_screen.hl7");
  ASSERT_EQ(tox.size(), 1u);
  rules.apply(tox[0]);
  ASSERT_EQ(observation_count(tox[0]), 2u);
  for (const auto& o : tox[0].reports[0].observations)
    EXPECT_EQ(o.sensitivity, model::Sensitivity::kSubstanceUse);
  EXPECT_EQ(tox[0].reports[0].observations[1].notes.size(), 1u);

  auto gen = map_file("hl7/valid/authored_oru_genetic.hl7");
  ASSERT_EQ(gen.size(), 1u);
  rules.apply(gen[0]);
  ASSERT_EQ(observation_count(gen[0]), 3u);
  for (const auto& o : gen[0].reports[0].observations)
    EXPECT_EQ(o.sensitivity, model::Sensitivity::kGenetic);

  auto cbc = map_file("hl7/valid/hamaluik_sample_oru_r01_lab.hl7");
  rules.apply(cbc[0]);
  for (const auto& o : cbc[0].reports[0].observations)
    EXPECT_EQ(o.sensitivity, model::Sensitivity::kNone);
}

TEST(Hl7Mapping, CorrectionReplacesPreliminaryAndKeepsItInHistory) {
  auto prelim = map_file("hl7/valid/authored_oru_prelim.hl7");
  auto final = map_file("hl7/valid/authored_oru_final_corrects_prelim.hl7");
  ASSERT_EQ(prelim.size(), 1u);
  ASSERT_EQ(final.size(), 1u);
  model::Report report = prelim[0].reports.at(0);
  ASSERT_EQ(report.filler_order_number.value, final[0].reports.at(0).filler_order_number.value);
  model::apply_correction(report, final[0].reports.at(0));
  ASSERT_EQ(report.observations.size(), 1u);
  const auto& o = report.observations[0];
  EXPECT_EQ(std::get<model::NumericValue>(o.value).text, "4.3");
  EXPECT_EQ(o.status, model::ResultStatus::kCorrected);
  ASSERT_EQ(o.history.size(), 1u);
  EXPECT_EQ(std::get<model::NumericValue>(o.history[0].value).text, "5.9");
  EXPECT_EQ(report.status, model::ReportStatus::kCorrected);
}

TEST(Hl7Mapping, SmallFilesHaveTheirExpectedShape) {
  auto v24 = map_file("hl7/valid/authored_oru_v24_crlf.hl7");
  ASSERT_EQ(v24.size(), 1u);
  ASSERT_EQ(observation_count(v24[0]), 1u);
  EXPECT_EQ(std::get<model::NumericValue>(first_obs(v24[0]).value).text, "5.2");
  EXPECT_EQ(first_obs(v24[0]).unit.code, "%");

  auto tx = map_file("hl7/valid/authored_oru_nte_tx.hl7");
  ASSERT_EQ(observation_count(tx[0]), 1u);
  EXPECT_EQ(std::get<model::TextValue>(first_obs(tx[0]).value).lines.size(), 3u);
  EXPECT_EQ(first_obs(tx[0]).notes.size(), 1u);

  auto oml = map_file("hl7/valid/authored_oml_o21.hl7");
  ASSERT_EQ(oml.size(), 1u);
  EXPECT_TRUE(oml[0].reports.empty());
  ASSERT_EQ(oml[0].orders.size(), 1u);
  EXPECT_EQ(oml[0].orders[0].specimens.size(), 1u);
  EXPECT_EQ(oml[0].orders[0].ordering_provider.name.family, "Okafor");
}

TEST(Hl7Mapping, NistAndVendorSamples) {
  struct Case {
    const char* file;
    size_t reports, observations;
  };
  for (const Case& c : {Case{"MatthewVita_ORU_R01_2.5.1_SampleTestCase1.hl7", 1, 1},
                        Case{"MatthewVita_ORU_R01_2.5.1_SampleTestCase3.hl7", 1, 1},
                        Case{"MatthewVita_ORU_R01_2.5.1_SampleTestCase4.hl7", 1, 1},
                        Case{"MatthewVita_ORU_R01_2.5.1_SampleTestCase6.hl7", 1, 3},
                        Case{"MatthewVita_cerner_bordetella.hl7", 1, 1},
                        Case{"MatthewVita_realm-cj-joeslab.hl7", 2, 2},
                        Case{"MatthewVita_realm-hepatitis-c-virus.hl7", 1, 3},
                        Case{"microsoft_LAB-ORU-1.hl7", 2, 10},
                        Case{"microsoft_LRI_2.0-NG_CBC_Typ_Message.hl7", 1, 28}}) {
    auto msgs = map_file(std::string("hl7/valid/") + c.file);
    ASSERT_EQ(msgs.size(), 1u) << c.file;
    EXPECT_EQ(msgs[0].reports.size(), c.reports) << c.file;
    EXPECT_EQ(observation_count(msgs[0]), c.observations) << c.file;
  }
  auto lead = map_file("hl7/valid/MatthewVita_ORU_R01_2.5.1_SampleTestCase1.hl7");
  EXPECT_EQ(first_obs(lead[0]).code.loinc()->code, "10368-9");
  EXPECT_EQ(std::get<model::NumericValue>(first_obs(lead[0]).value).text, "50");
  EXPECT_EQ(first_obs(lead[0]).unit.code, "ug/dL");

  auto bord = map_file("hl7/valid/MatthewVita_cerner_bordetella.hl7");
  auto coded = std::get<model::CodeableConcept>(first_obs(bord[0]).value);
  ASSERT_FALSE(coded.codings.empty());
  EXPECT_EQ(coded.codings[0].display, "Bordetella pertussis");

  auto lri = map_file("hl7/valid/microsoft_LRI_2.0-NG_CBC_Typ_Message.hl7");
  EXPECT_EQ(first_obs(lri[0]).code.loinc()->code, "26453-1");
  EXPECT_EQ(std::get<model::NumericValue>(first_obs(lri[0]).value).text, "4.41");
  EXPECT_EQ(first_obs(lri[0]).unit.code, "10*6/uL");
}

TEST(Hl7Mapping, PendingObservationHasNoValueAndIsNotAnError) {
  auto msgs = map_file("hl7/valid/microsoft_LAB-ORU-1.hl7");  // starts with a UTF-8 BOM
  ASSERT_EQ(msgs.size(), 1u);
  const auto& pending = first_obs(msgs[0]);
  EXPECT_EQ(pending.status, model::ResultStatus::kPending);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(pending.value));
}

TEST(Hl7Mapping, OmlAskAtOrderEntryStaysWithTheOrder) {
  auto msgs = map_file("hl7/valid/microsoft_MDHHS-OML-O21-2.hl7");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].reports.empty());
  ASSERT_EQ(msgs[0].orders.size(), 2u);
  size_t aoe =
      msgs[0].orders[0].ask_at_order_entry.size() + msgs[0].orders[1].ask_at_order_entry.size();
  EXPECT_GE(aoe, 1u);
  EXPECT_EQ(msgs[0].orders[1].service.codings.at(0).code, "1680");
}

TEST(Hl7Mapping, BatchFilesYieldEveryMessage) {
  for (const char* f :
       {"hl7/batch/authored_batch_2msgs.hl7", "hl7/batch/authored_two_messages_no_envelope.hl7"}) {
    auto msgs = map_file(f);
    ASSERT_EQ(msgs.size(), 2u) << f;
    EXPECT_NE(msgs[0].header.control_id, msgs[1].header.control_id);
    EXPECT_EQ(observation_count(msgs[1]), 1u);
  }
}

// The model a message maps to must survive model -> ORU^R01 -> model. For OML^O21 the
// results structure changes (orders become ORU groups), so orders, patient and specimens are
// compared.
TEST(Hl7RoundTrip, EveryValidFileKeepsEveryFieldTheModelHolds) {
  for (const auto& path : testing::files_in("hl7/valid")) {
    std::string name = "hl7/valid/" + path.filename().string();
    auto msgs = map_file(name);
    ASSERT_EQ(msgs.size(), 1u) << name;
    const LabMessage& first = msgs[0];
    std::string oru = to_oru_r01(first);
    auto again = parse_to_model(oru);
    ASSERT_TRUE(again) << name << ": " << again.error().to_string() << "\n" << oru;
    SCOPED_TRACE(name);
    EXPECT_EQ(to_oru_r01(*again), oru);  // readable diff when a field is lost
    EXPECT_EQ(again->patient, first.patient);
    EXPECT_EQ(again->encounter, first.encounter);
    EXPECT_EQ(again->patient_notes, first.patient_notes);
    EXPECT_EQ(again->extra_segments, first.extra_segments);
    // The output is always v2.5.1 and its ORC-1 always RE (results follow).
    auto expected_orders = first.orders;
    for (auto& o : expected_orders)
      if (!o.control.empty()) o.control = "RE";
    if (first.header.message_type == "OML") {
      ASSERT_EQ(again->orders.size(), first.orders.size());
      for (size_t i = 0; i < first.orders.size(); ++i) {
        model::Order expected = expected_orders[i];
        model::Order got = again->orders[i];
        // An ORU keeps specimens and OBR notes on the result group.
        std::vector<model::Specimen> specimens = again->reports.at(i).specimens;
        std::vector<std::string> notes = again->reports.at(i).notes;
        EXPECT_EQ(specimens, expected.specimens);
        EXPECT_EQ(notes, expected.notes);
        expected.specimens.clear();
        expected.notes.clear();
        EXPECT_EQ(got, expected);
      }
    } else {
      model::MessageHeader header = first.header;
      header.version = "2.5.1";
      EXPECT_EQ(again->header, header);
      EXPECT_EQ(again->orders, expected_orders);
      EXPECT_EQ(again->reports, first.reports);
    }
  }
}

TEST(Hl7Mapping, EveryInvalidFileIsRejectedWithALocation) {
  for (const auto& path : testing::files_in("hl7/invalid")) {
    SCOPED_TRACE(path.filename().string());
    std::string bytes = testing::read_bytes(path);
    std::vector<model::Error> errors;
    auto split = split_file(bytes, path.filename().string());
    if (!split) {
      errors.push_back(split.error());
    } else {
      for (const auto& t : split->messages) {
        auto m = Message::parse(t.text, t.first_line);
        if (!m) {
          errors.push_back(m.error());
          continue;
        }
        auto problems = validate(*m);
        errors.insert(errors.end(), problems.begin(), problems.end());
      }
    }
    ASSERT_FALSE(errors.empty());
    const model::Location& loc = errors[0].location;
    EXPECT_TRUE(loc.line > 0 || !loc.segment.empty()) << errors[0].to_string();
    EXPECT_FALSE(errors[0].message.empty());
  }
}

TEST(Hl7Mapping, InvalidFilesGetTheSpecificProblem) {
  struct Case {
    const char* file;
    ErrorCode code;
    const char* segment;
    int field;
  };
  for (const Case& c :
       {Case{"authored_unsupported_version.hl7", ErrorCode::kUnsupportedVersion, "MSH", 12},
        Case{"authored_bad_obx_datatype.hl7", ErrorCode::kTableValue, "OBX", 2},
        Case{"authored_msh_only.hl7", ErrorCode::kSegmentSequence, "MSH", 0},
        Case{"authored_bad_timestamp.hl7", ErrorCode::kDataType, "MSH", 7},
        Case{"authored_unknown_result_status.hl7", ErrorCode::kTableValue, "OBX", 11}}) {
    std::string bytes =
        testing::read_bytes(testing::testdata(std::string("hl7/invalid/") + c.file));
    auto m = Message::parse(bytes);
    ASSERT_TRUE(m) << c.file;
    auto problems = validate(*m);
    ASSERT_FALSE(problems.empty()) << c.file;
    EXPECT_EQ(problems[0].code, c.code) << c.file << ": " << problems[0].to_string();
    EXPECT_EQ(problems[0].location.segment, c.segment) << c.file;
    EXPECT_EQ(problems[0].location.field, c.field) << c.file;
  }
}

TEST(Hl7Mapping, OruOrderGroupWithoutObrIsASequenceError) {
  auto m = Message::parse(
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||X^^^A^MR\rORC|RE|P1\rORC|RE|P2\r"
      "OBR|1|P2||C^C^LN\rOBX|1|NM|C^C^LN||1||||||F\r");
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, ErrorCode::kSegmentSequence);
  EXPECT_EQ(problems[0].location.segment, "ORC");
  EXPECT_EQ(problems[0].location.segment_index, 1);  // the ORC that has no OBR
}

TEST(Hl7Mapping, Msh7WhoseFirstRepetitionIsEmptyIsMissing) {
  // Found by the fuzzer: MSH-7 "~2026-13-45T99:00" passed validation, mapped to no time and was
  // written back without the required MSH-7.
  std::string text =
      testing::read_bytes(std::string(LABVAULT_SOURCE_DIR) +
                          "/fuzz/corpus/hl7/regression_msh7_first_repetition_empty.hl7");
  auto m = Message::parse(text);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].code, ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(problems[0].location.field, 7);
}

TEST(Hl7RoundTrip, BareOmlOrderIsLeftOutOfTheOru) {
  // Found by the fuzzer: an OML^O21 ORC without OBR must not become an ORU OBR without OBR-4.
  std::string text = testing::read_bytes(std::string(LABVAULT_SOURCE_DIR) +
                                         "/fuzz/corpus/hl7/regression_oml_bare_orc.hl7");
  auto split = split_file(text);
  ASSERT_TRUE(split);
  auto m = Message::parse(split->messages.at(0).text);
  ASSERT_TRUE(m);
  auto model = to_model(*m);
  ASSERT_TRUE(model) << model.error().to_string();
  auto back = parse_to_model(to_oru_r01(*model));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->orders.size(), model->orders.size() - 1);
}

TEST(Hl7RoundTrip, StandardDelimitersThatAreDataStayData) {
  // '#' separates fields here, so '|', '^' and '&' in OBX-5 and a Z-segment are plain text.
  std::string text =
      "MSH#$*!@#A#B#C#D#20240101##ORU$R01#1#P#2.5.1\r"
      "PID#1##X$$$A$MR\rOBR#1##F1#C$C$LN\r"
      "OBX#1#ED#C$C$LN##a|b^c&d$e######F\rZXX#p|q\r";
  auto first = parse_to_model(text);
  ASSERT_TRUE(first) << first.error().to_string();
  std::string oru = to_oru_r01(*first);
  auto again = parse_to_model(oru);
  ASSERT_TRUE(again) << again.error().to_string() << "\n" << oru;
  EXPECT_EQ(again->reports, first->reports);
  EXPECT_EQ(again->extra_segments, first->extra_segments);
  EXPECT_NE(oru.find("ZXX|p\\F\\q"), std::string::npos) << oru;
}

TEST(Hl7Mapping, NotesStayWithTheirOrderGroup) {
  auto m = parse_to_model(
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||X^^^A^MR\r"
      "ORC|RE|P1\rOBR|1|P1||C^C^LN\rNTE|1||first group\rOBX|1|NM|C^C^LN||1||||||F\r"
      "ORC|RE|P2\rNTE|1||written before the second "
      "OBR\rOBR|2|P2||D^D^LN\rOBX|1|NM|D^D^LN||2||||||F\r");
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->reports.size(), 2u);
  EXPECT_EQ(m->reports[0].notes, std::vector<std::string>{"first group"});
  EXPECT_EQ(m->reports[1].notes, std::vector<std::string>{"written before the second OBR"});
  auto again = parse_to_model(to_oru_r01(*m));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reports, m->reports);
}

TEST(Hl7Mapping, ManyRepetitionsMapInLinearTime) {
  // Quadratic repetition access would need ~10^10 steps here and hit the ctest timeout.
  std::string pid3;
  for (int i = 0; i < 200000; ++i) pid3 += (i ? "~" : "") + std::string("I^^^A^MR");
  auto m = parse_to_model("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||" + pid3 +
                          "\rOBR|1||F|C^C^LN\rOBX|1|NM|C^C^LN||1||||||F\r");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->patient.identifiers.size(), 200000u);
}

TEST(Hl7Mapping, Utf8IsKeptAndOtherBytesAreRefusedNotPassedOn) {
  const std::string tail = "\rOBR|1||F|C^C^LN\rOBX|1|NM|C^C^LN||1||||||F\r";
  auto utf8 = parse_to_model(
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1||||||UNICODE UTF-8\r"
      "PID|1||X^^^A^MR||Jos\xC3\xA9^Ana" +
      tail);
  ASSERT_TRUE(utf8) << utf8.error().to_string();
  EXPECT_EQ(utf8->patient.names.at(0).family, "Jos\xC3\xA9");

  // Message views its text: keep the bytes alive.
  const std::string latin1_text =
      ("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\r"
       "PID|1||X^^^A^MR||Jos\xE9^Ana" +
       tail);
  auto latin1 = Message::parse(latin1_text);
  ASSERT_TRUE(latin1);
  auto problems = validate(*latin1);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, ErrorCode::kEncoding);
  EXPECT_EQ(problems[0].location.segment, "PID");
  EXPECT_EQ(problems[0].location.line, 2);
  EXPECT_EQ(ack_code_for(problems), AckCode::kReject);

  const std::string declared_text =
      ("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1||||||8859/1\r"
       "PID|1||X^^^A^MR||Jos\xE9^Ana" +
       tail);
  auto declared = Message::parse(declared_text);
  ASSERT_TRUE(declared);
  problems = validate(*declared);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].location.field, 18);
}

TEST(Hl7Mapping, NonLabMessageTypeIsUnsupported) {
  auto m = Message::parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1\rPID|1||X^^^A^MR\r");
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, ErrorCode::kUnsupportedMessageType);
}

TEST(Hl7Mapping, ErrorsNeverEchoFieldValues) {
  // Canary values in every field that could be PHI; the problems point at them by position.
  std::string text =
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\r"
      "PID|1||CANARY-MRN-1^^^A^MR||CANARYFAMILY^CANARYGIVEN||CANARY-DOB|Q\r"
      "OBR|1||F1|718-7^Hgb^LN|||CANARY-TIME\r"
      "OBX|1|NM|718-7^Hgb^LN||CANARY-VALUE|g/dL|||||F|||CANARY-OBS-TIME\r"
      "OBX|2|SN|718-7^Hgb^LN||CANARY^SN|g/dL|||||CANARY-STATUS\r";
  auto m = Message::parse(text);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  EXPECT_GE(problems.size(), 6u);
  for (const auto& p : problems)
    EXPECT_EQ(p.to_string().find("CANARY"), std::string::npos) << p.to_string();
}

}  // namespace
}  // namespace labvault::hl7
