#include <gtest/gtest.h>

#include "hl7/hl7.hpp"
#include "support/testdata.hpp"

namespace labvault::hl7 {
namespace {

AckOptions options() {
  AckOptions o;
  o.sending_facility = "LABVAULT-DEV";
  o.control_id = "ACK-1";
  o.now = *model::DateTime::parse_hl7("20261125101500+0000");
  return o;
}

// The ACK must itself be a well-formed HL7 message. The Message views `ack`, which must outlive it.
Message parse_ack(const std::string& ack) {
  auto m = Message::parse(ack);
  if (!m) {
    ADD_FAILURE() << m.error().to_string() << "\n" << ack;
    return *Message::parse("MSH|^~\\&|");  // a stand-in so the caller's checks fail, not crash
  }
  return *m;
}

TEST(Ack, AcceptEchoesControlIdAndSwapsSenderAndReceiver) {
  std::string msg = testing::read_bytes(testing::testdata("hl7/valid/authored_oru_prelim.hl7"));
  auto m = Message::parse(msg);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  ASSERT_TRUE(problems.empty());
  std::string ack = make_ack(msg, problems, options());
  Message a = parse_ack(ack);
  ASSERT_EQ(a.segment_count(), 2u);
  EXPECT_EQ(a.msh().field(9).raw(), "ACK^R01^ACK");
  EXPECT_EQ(a.msh().field(10).raw(), "ACK-1");
  EXPECT_EQ(a.msh().field(5).raw(), m->msh().field(3).raw());  // back to the sender
  EXPECT_EQ(a.segment(1).id(), "MSA");
  EXPECT_EQ(a.segment(1).field(1).raw(), "AA");
  EXPECT_EQ(a.segment(1).field(2).raw(), m->msh().field(10).raw());
}

TEST(Ack, ContentErrorIsAeWithLocationCodeAndSeverity) {
  std::string msg =
      testing::read_bytes(testing::testdata("hl7/invalid/authored_bad_obx_datatype.hl7"));
  auto m = Message::parse(msg);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  std::string ack = make_ack(msg, problems, options());
  Message a = parse_ack(ack);
  EXPECT_EQ(a.segment(1).field(1).raw(), "AE");
  EXPECT_EQ(a.segment(1).field(2).raw(), "T-X2");
  Segment err = a.segment(2);
  ASSERT_EQ(err.id(), "ERR");
  EXPECT_EQ(err.field(2).raw(), "OBX^1^2");           // ERR-2: segment, sequence, field
  EXPECT_EQ(err.field(3).component(1).raw(), "103");  // table value not found
  EXPECT_EQ(err.field(3).component(3).raw(), "HL70357");
  EXPECT_EQ(err.field(4).raw(), "E");
  EXPECT_FALSE(err.field(8).str().empty());
}

TEST(Ack, UnsupportedVersionIsRejected) {
  std::string msg =
      testing::read_bytes(testing::testdata("hl7/invalid/authored_unsupported_version.hl7"));
  auto m = Message::parse(msg);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  std::string ack = make_ack(msg, problems, options());
  Message a = parse_ack(ack);
  EXPECT_EQ(a.segment(1).field(1).raw(), "AR");
  EXPECT_EQ(a.segment(2).field(3).component(1).raw(), "203");
  EXPECT_EQ(a.msh().field(12).raw(), "2.5.1");  // never echo a version we do not speak
}

TEST(Ack, OlderVersionsAlsoGetTheErrorInErr1) {
  std::string msg =
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|9|P|2.3\rPID|1||X^^^A^MR\rOBR|1||F|C^C^LN\r"
      "OBX|1|NM|C^C^LN||x||||||F\r";
  auto m = Message::parse(msg);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  std::string ack = make_ack(msg, problems, options());
  Message a = parse_ack(ack);
  EXPECT_EQ(a.msh().field(12).raw(), "2.3");
  Segment err = a.segment(2);
  EXPECT_EQ(err.field(1).raw(), "OBX^1^5^102&Data type error&HL70357");  // ERR-1 (ELD) for 2.3
  EXPECT_EQ(err.field(3).component(2).raw(), "Data type error");
}

TEST(Ack, EveryInvalidFileGetsAWellFormedNegativeAck) {
  for (const auto& path : testing::files_in("hl7/invalid")) {
    SCOPED_TRACE(path.filename().string());
    std::string bytes = testing::read_bytes(path);
    std::vector<model::Error> errors;
    auto split = split_file(bytes);
    if (!split)
      errors.push_back(split.error());
    else if (auto m = Message::parse(split->messages.at(0).text); !m)
      errors.push_back(m.error());
    else
      errors = validate(*m);
    ASSERT_FALSE(errors.empty());
    std::string ack = make_ack(bytes, errors, options());
    Message a = parse_ack(ack);
    std::string_view code = a.segment(1).field(1).raw();
    EXPECT_TRUE(code == "AE" || code == "AR") << code;
    EXPECT_EQ(a.segment(2).id(), "ERR");
  }
}

TEST(Ack, ManyProblemsGiveABoundedAck) {
  std::string msg =
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1||X^^^A^MR\rOBR|1||F|C^C^LN\r";
  for (int i = 0; i < 1000; ++i) msg += "OBX|1|ZZ|C^C^LN||1||||||F\r";
  auto m = Message::parse(msg);
  ASSERT_TRUE(m);
  auto problems = validate(*m);
  EXPECT_EQ(problems.size(), kMaxProblems);
  std::string ack = make_ack(msg, problems, options());
  Message a = parse_ack(ack);
  EXPECT_LE(a.segment_count(), 2u + 25u);
}

}  // namespace
}  // namespace labvault::hl7
