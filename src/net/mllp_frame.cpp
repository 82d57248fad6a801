#include "net/mllp_frame.hpp"

#include <algorithm>

namespace labvault::net {

namespace {
constexpr std::string_view kEndSequence{"\x1C\x0D", 2};
}  // namespace

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes) : max_(max_frame_bytes) {}

std::size_t FrameDecoder::pending_bytes() const {
  if (state_ != State::kInFrame) return 0;
  return 1 + buffer_.size() + (end_pending_ ? 1 : 0);
}

// Grows the buffer by hand so its capacity stays within the limit too (std::string doubling
// would reserve up to twice the limit for a frame just under it).
void FrameDecoder::append(std::string_view data, std::vector<FrameEvent>& out) {
  if (data.size() > max_ - buffer_.size()) {
    // One byte past the limit is enough to know: report now, keep nothing of this frame.
    discarded_ += 1 + buffer_.size() + data.size();
    std::string().swap(buffer_);
    state_ = State::kSkipping;
    out.push_back({FrameEvent::Kind::kOversized, {}});
    return;
  }
  const std::size_t needed = buffer_.size() + data.size();
  if (needed > buffer_.capacity()) {
    buffer_.reserve(std::min(max_, std::max(needed, 2 * buffer_.capacity())));
  }
  buffer_.append(data);
}

void FrameDecoder::feed(std::string_view chunk, std::vector<FrameEvent>& out) {
  while (!chunk.empty()) {
    if (state_ == State::kHunting) {
      std::size_t start = chunk.find(kMllpStartBlock);
      if (start == std::string_view::npos) {
        discarded_ += chunk.size();
        return;
      }
      discarded_ += start;
      chunk.remove_prefix(start + 1);
      state_ = State::kInFrame;
      continue;
    }
    if (end_pending_) {
      end_pending_ = false;
      if (chunk.front() == kMllpCarriageReturn) {
        chunk.remove_prefix(1);
        if (state_ == State::kInFrame) {
          out.push_back({FrameEvent::Kind::kFrame, std::move(buffer_)});
          buffer_ = std::string();
          ++frames_;
        } else {
          discarded_ += 1;  // the CR ending a skipped frame (its 0x1C is counted already)
        }
        state_ = State::kHunting;
        continue;
      }
      // The 0x1C was payload after all (MLLP R2: only <EB><CR> ends a block).
      if (state_ == State::kInFrame) append(std::string_view(&kMllpEndBlock, 1), out);
      continue;
    }
    std::size_t end = chunk.find(kMllpEndBlock);
    std::string_view data = chunk.substr(0, end);
    if (state_ == State::kInFrame) {
      append(data, out);
    } else {
      discarded_ += data.size();
    }
    chunk.remove_prefix(data.size());
    if (end != std::string_view::npos) {
      end_pending_ = true;
      chunk.remove_prefix(1);
      if (state_ == State::kSkipping) discarded_ += 1;
    }
  }
}

model::Result<std::string> encode_frame(std::string_view payload) {
  if (payload.find(kEndSequence) != std::string_view::npos) {
    return model::fail(model::ErrorCode::kEncoding,
                       "MLLP payload contains the end sequence 0x1C 0x0D and cannot be framed");
  }
  std::string framed;
  framed.reserve(payload.size() + 3);
  framed += kMllpStartBlock;
  framed += payload;
  framed += kEndSequence;
  return framed;
}

}  // namespace labvault::net
