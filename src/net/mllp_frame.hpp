// MLLP release 2 framing (HL7 v2.5.1 appendix C.4.2; HL7 Transport Specification MLLP R2): a
// frame is <SB 0x0B> payload <EB 0x1C><CR 0x0D>. FrameDecoder turns arbitrary byte chunks into
// frames. Invariant: it never holds more than max_frame_bytes of one frame, whatever a peer sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::net {

inline constexpr char kMllpStartBlock = 0x0B;  // SB
inline constexpr char kMllpEndBlock = 0x1C;    // EB
inline constexpr char kMllpCarriageReturn = 0x0D;
inline constexpr std::size_t kDefaultMaxFrameBytes = 10 * 1024 * 1024;

struct FrameEvent {
  enum class Kind {
    kFrame,      // `payload` holds one complete frame (possibly empty)
    kOversized,  // a frame grew past the limit; its bytes up to its end are discarded
  };
  Kind kind = Kind::kFrame;
  std::string payload;

  bool operator==(const FrameEvent&) const = default;
};

// Pure and single-threaded: no I/O, no clock. Bytes before a start block, and between an end and
// the next start, are discarded and counted. Inside a frame every byte is data except the
// two-byte end sequence: a lone 0x1C or an inner 0x0B is payload (MLLP R2 ends a block with
// <EB><CR>, so neither byte alone ends or restarts it).
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Consumes all of `chunk` and appends what it completed to `out`, in stream order: frames, and
  // kOversized as soon as a payload would exceed max_frame_bytes (payloads of exactly
  // max_frame_bytes are frames). After kOversized the decoder skips to that frame's end sequence.
  void feed(std::string_view chunk, std::vector<FrameEvent>& out);

  // True once a start block was seen and its frame is not complete (nor skipped as oversized).
  [[nodiscard]] bool in_frame() const { return state_ == State::kInFrame; }
  // Payload bytes of the frame in progress; never more than max_frame_bytes().
  [[nodiscard]] std::size_t buffered_bytes() const { return buffer_.size(); }
  // Bytes fed but not yet accounted as a frame or as discarded: the start block, the buffered
  // payload and a 0x1C that may begin the end sequence.
  [[nodiscard]] std::size_t pending_bytes() const;
  // Bytes thrown away: outside any frame, and every byte of an oversized frame.
  [[nodiscard]] std::uint64_t discarded_bytes() const { return discarded_; }
  [[nodiscard]] std::uint64_t frames() const { return frames_; }
  [[nodiscard]] std::size_t max_frame_bytes() const { return max_; }

 private:
  enum class State { kHunting, kInFrame, kSkipping };
  void append(std::string_view data, std::vector<FrameEvent>& out);

  std::size_t max_;
  State state_ = State::kHunting;
  bool end_pending_ = false;  // the last byte seen in a frame was 0x1C
  std::string buffer_;
  std::uint64_t discarded_ = 0;
  std::uint64_t frames_ = 0;
};

// SB + payload + EB CR. kEncoding when the payload contains <EB><CR>: the receiver would end
// the frame there, so such a payload cannot be sent over MLLP at all.
[[nodiscard]] model::Result<std::string> encode_frame(std::string_view payload);

}  // namespace labvault::net
