// Unit tests of the MLLP release 2 frame decoder (HL7 v2.5.1 appendix C.4.2); fuzz/mllp_fuzz.cpp
// checks the same promises on random input.
#include "net/mllp_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace labvault::net {
namespace {

using Kind = FrameEvent::Kind;

std::vector<FrameEvent> feed(FrameDecoder& d, std::initializer_list<std::string_view> chunks) {
  std::vector<FrameEvent> out;
  for (auto c : chunks) d.feed(c, out);
  return out;
}
FrameEvent frame(std::string p) { return {Kind::kFrame, std::move(p)}; }
const FrameEvent kOversized{Kind::kOversized, {}};

TEST(MllpFrame, FrameSplitAcrossReadsIsReassembled) {
  FrameDecoder d;
  EXPECT_EQ(feed(d, {"\x0BMS", "H|1", "\x1C"}), std::vector<FrameEvent>{});
  EXPECT_TRUE(d.in_frame());
  EXPECT_EQ(feed(d, {"\x0D"}), std::vector{frame("MSH|1")});
  EXPECT_FALSE(d.in_frame());
}

TEST(MllpFrame, CoalescedFramesComeOutInOrder) {
  FrameDecoder d;
  EXPECT_EQ(feed(d, {"\x0B"
                     "a\x1C\x0D\x0B"
                     "b\x1C\x0D\x0B"
                     "c"}),
            (std::vector{frame("a"), frame("b")}));
  EXPECT_EQ(feed(d, {"\x1C\x0D"}), std::vector{frame("c")});
  EXPECT_EQ(d.frames(), 3u);
}

TEST(MllpFrame, BytesOutsideFramesAreDiscardedAndCounted) {
  FrameDecoder d;
  EXPECT_EQ(feed(d, {"junk\x0B"
                     "abc\x1C\x0Dmore\r\n",
                     "\x0B"
                     "def\x1C\x0D\x1C\x0D"}),
            (std::vector{frame("abc"), frame("def")}));
  EXPECT_EQ(d.discarded_bytes(), 4u + 6u + 2u);
}

TEST(MllpFrame, EndBlockWithoutCarriageReturnIsData) {
  FrameDecoder d;
  EXPECT_EQ(feed(d, {"\x0B"
                     "a\x1C",
                     "b\x0B\x1C\x1C", "\x0D"}),
            std::vector{frame("a\x1C"
                              "b\x0B\x1C")});
}

TEST(MllpFrame, EmptyFrameIsAFrame) {
  FrameDecoder d;
  EXPECT_EQ(feed(d, {"\x0B\x1C\x0D"}), std::vector{frame("")});
}

TEST(MllpFrame, FrameOfExactlyTheLimitIsAccepted) {
  FrameDecoder d(8);
  // The 0x1C arrives while the buffer is full: it may still be the end, so it is no overflow yet.
  EXPECT_EQ(feed(d, {"\x0B"
                     "12345678\x1C"}),
            std::vector<FrameEvent>{});
  EXPECT_EQ(d.buffered_bytes(), 8u);
  EXPECT_EQ(feed(d, {"\x0D"}), std::vector{frame("12345678")});
}

TEST(MllpFrame, OneByteOverTheLimitIsReportedAtOnceAndNotBuffered) {
  FrameDecoder d(8);
  EXPECT_EQ(feed(d, {"\x0B"
                     "123456789"}),
            std::vector{kOversized});  // no end seen yet
  EXPECT_EQ(d.buffered_bytes(), 0u);
  EXPECT_FALSE(d.in_frame());
  EXPECT_EQ(feed(d, {std::string(100, 'x'), "\x1C\x0D\x0Bok\x1C\x0D"}), std::vector{frame("ok")});
  EXPECT_EQ(d.discarded_bytes(), 1u + 9u + 100u + 2u);

  FrameDecoder lone(2);  // a lone 0x1C past the limit turns out to be data: over by one
  EXPECT_EQ(feed(lone, {"\x0B"
                        "ab\x1C",
                        "x"}),
            std::vector{kOversized});
}

TEST(MllpFrame, EncodeRoundTripsAndRefusesTheEndSequence) {
  auto framed = encode_frame("MSH|\x1C|x");
  ASSERT_TRUE(framed);
  FrameDecoder d;
  EXPECT_EQ(feed(d, {*framed}), std::vector{frame("MSH|\x1C|x")});
  auto bad = encode_frame(
      "a\x1C\x0D"
      "b");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, model::ErrorCode::kEncoding);
}

}  // namespace
}  // namespace labvault::net
