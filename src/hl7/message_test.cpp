#include "hl7/message.hpp"

#include <gtest/gtest.h>

#include <random>

#include "hl7/file.hpp"
#include "support/testdata.hpp"

namespace labvault::hl7 {
namespace {

using model::ErrorCode;

TEST(Hl7Parse, DelimitersComeFromMshNotFromDefaults) {
  std::string text = "MSH#$*!@#LAB#FAC\rPID#1##A1$$$AUTH$MR*A2##Doe$John\r";
  auto m = Message::parse(text);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->delimiters().field, '#');
  EXPECT_EQ(m->delimiters().component, '$');
  EXPECT_EQ(m->delimiters().repetition, '*');
  EXPECT_EQ(m->delimiters().escape, '!');
  EXPECT_EQ(m->delimiters().subcomponent, '@');
  Segment pid = m->segment(1);
  EXPECT_EQ(pid.field(3).repetition_count(), 2);
  EXPECT_EQ(pid.field(3).repetition(1).component(4).str(), "AUTH");
  EXPECT_EQ(pid.field(3).repetition(2).str(), "A2");
  EXPECT_EQ(pid.field(5).component(2).str(), "John");
  EXPECT_EQ(m->msh().field(1).raw(), "#");
  EXPECT_EQ(m->msh().field(2).raw(), "$*!@");
  EXPECT_EQ(m->msh().field(3).str(), "LAB");
}

TEST(Hl7Parse, EscapeSequencesDecode) {
  Delimiters d;
  EXPECT_EQ(unescape(R"(10\S\9/L)", d), "10^9/L");
  EXPECT_EQ(unescape(R"(CBC \T\ Diff)", d), "CBC & Diff");
  EXPECT_EQ(unescape(R"(a\F\b\R\c\E\d)", d), "a|b~c\\d");
  EXPECT_EQ(unescape(R"(line1\.br\line2)", d), "line1\nline2");
  EXPECT_EQ(unescape(R"(\H\bold\N\ \X41420A\)", d), "bold AB\n");
  EXPECT_EQ(unescape(R"(keep \Zlocal\ and lone \)", d), "keep \\Zlocal\\ and lone \\");
  EXPECT_EQ(unescape(R"(bad hex \XZZ\)", d), "bad hex \\XZZ\\");
}

TEST(Hl7Parse, EscapingRoundTripsArbitraryText) {
  Delimiters d{'#', '$', '*', '!', '@'};
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    std::string s;
    for (int k = 0; k < 40; ++k) s += static_cast<char>(rng() % 128);
    std::erase(s, '\r');  // CR is a segment terminator and is not carried in values
    std::string enc;
    append_escaped(enc, s, d);
    for (char c : std::string_view("#$*@\r\n")) EXPECT_EQ(enc.find(c), std::string::npos);
    EXPECT_EQ(unescape(enc, d), s);
  }
}

TEST(Hl7Parse, CrLfAndCrLfEndingsGiveTheSameSegments) {
  for (std::string_view end : {"\r", "\n", "\r\n"}) {
    std::string text = "MSH|^~\\&|A" + std::string(end) + "PID|1" + std::string(end) +
                       std::string(end) + "ZXY|keep^me" + std::string(end);
    auto m = Message::parse(text);
    ASSERT_TRUE(m) << m.error().to_string();
    ASSERT_EQ(m->segment_count(), 3u);
    EXPECT_EQ(m->segment(2).id(), "ZXY");
    EXPECT_EQ(m->segment(2).field(1).component(2).str(), "me");
    EXPECT_EQ(m->segment(2).line(), 4);  // the blank line counts
  }
}

TEST(Hl7Parse, MissingFieldsAreEmptyNotErrors) {
  auto m = Message::parse("MSH|^~\\&|A\rOBX|1");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->segment(1).field(99).empty());
  EXPECT_TRUE(m->segment(1).field(1).component(7).subcomponent(3).empty());
  EXPECT_EQ(m->segment(1).field_count(), 1);
}

TEST(Hl7Parse, BadHeadersAreRejectedWithTheirField) {
  struct Case {
    std::string text;
    int field;
  };
  for (const Case& c :
       {Case{"MSHH0\r", 1}, Case{"MSH|0000|||\r", 2}, Case{"MSH|^|||ADT^A40\r", 2},
        Case{"MSH||||||\r", 2}, Case{"MSH|^~\\^|A\r", 2}, Case{"MSH|^~|&|A\r", 2}}) {
    auto m = Message::parse(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().location.segment, "MSH") << c.text;
    EXPECT_EQ(m.error().location.field, c.field) << c.text;
  }
}

TEST(Hl7Parse, BadSegmentIdNamesTheLine) {
  auto m = Message::parse("MSH|^~\\&|A\rPID|1\r0\rOBX|1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().location.line, 3);
  EXPECT_NE(m.error().message.find("segment id"), std::string::npos);
}

TEST(Hl7Parse, HugeFieldCountsParseInLinearSpace) {
  std::string text = "MSH|^~\\&|A\rOBX" + std::string(200000, '|') + "\r";
  auto m = Message::parse(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->segment(1).field_count(), 200000);
}

TEST(Hl7Split, BatchEnvelopeCountsAreChecked) {
  // split_file returns views: the bytes must outlive the result.
  const std::string bytes =
      testing::read_bytes(testing::testdata("hl7/batch/authored_batch_2msgs.hl7"));
  auto ok = split_file(bytes);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_TRUE(ok->batch);
  ASSERT_EQ(ok->messages.size(), 2u);
  EXPECT_TRUE(ok->messages[1].text.starts_with("MSH"));

  auto bad = split_file(
      testing::read_bytes(testing::testdata("hl7/invalid/authored_batch_count_mismatch.hl7")),
      "x.hl7");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().location.segment, "BTS");
  EXPECT_EQ(bad.error().location.field, 1);
  EXPECT_EQ(bad.error().location.file, "x.hl7");
}

TEST(Hl7Split, MessagesBackToBackWithoutEnvelope) {
  const std::string bytes =
      testing::read_bytes(testing::testdata("hl7/batch/authored_two_messages_no_envelope.hl7"));
  auto ok = split_file(bytes);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->batch);
  ASSERT_EQ(ok->messages.size(), 2u);
  EXPECT_GT(ok->messages[1].first_line, ok->messages[0].first_line);
}

TEST(Hl7Split, EncodingProblemsAreNamed) {
  auto utf16 = split_file(testing::read_bytes(testing::testdata("hl7/invalid/authored_utf16.hl7")));
  ASSERT_FALSE(utf16);
  EXPECT_EQ(utf16.error().code, ErrorCode::kEncoding);
  EXPECT_NE(utf16.error().message.find("UTF-16"), std::string::npos);
  auto mllp = split_file(
      testing::read_bytes(testing::testdata("hl7/invalid/authored_mllp_framing_in_file.hl7")));
  ASSERT_FALSE(mllp);
  EXPECT_NE(mllp.error().message.find("0x0B"), std::string::npos);
  std::string_view with_bom = "\xEF\xBB\xBFMSH|^~\\&|A\r";
  auto bom = split_file(with_bom);
  ASSERT_TRUE(bom);
  EXPECT_TRUE(bom->messages[0].text.starts_with("MSH"));
  auto random =
      split_file(testing::read_bytes(testing::testdata("hl7/invalid/authored_random_bytes.bin")));
  ASSERT_FALSE(random);
  EXPECT_NE(random.error().message.find("does not start with an MSH"), std::string::npos);
  auto inner = split_file(std::string("MSH|^~\\&|A\rPID|1|x\x1cy\r"));
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().location.line, 2);
  EXPECT_NE(inner.error().message.find("0x1C"), std::string::npos);
  EXPECT_TRUE(split_file("\r\nMSH|^~\\&|A\r"));  // leading blank lines are tolerated
}

}  // namespace
}  // namespace labvault::hl7
