// libFuzzer target for the MLLP frame decoder (MLLP release 2, HL7 v2.5.1 appendix C.4.2). The
// decoder faces any peer on the network, so any bytes cut into any chunks must give the same
// events, never buffer more than the limit, and account for every byte; every frame it emits must
// re-encode and decode to itself. Input: 4 control bytes (limit, chunking seed), then the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/mllp_frame.hpp"

namespace {

using labvault::net::FrameDecoder;
using labvault::net::FrameEvent;

void check(bool ok) {
  if (!ok) std::abort();
}

// Deterministic chunk sizes from the input, so a crash replays exactly.
struct Chunker {
  std::uint32_t state;
  std::size_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    // Mostly tiny chunks (splits inside the end sequence), sometimes large ones (coalescing).
    return (state & 7) == 0 ? 1 + state % 4096 : 1 + state % 8;
  }
};

std::vector<FrameEvent> decode(std::string_view stream, std::size_t limit, Chunker* chunker) {
  FrameDecoder decoder(limit);
  std::vector<FrameEvent> events;
  std::uint64_t consumed = 0;
  std::uint64_t framed = 0;
  std::size_t counted = 0;
  while (!stream.empty()) {
    std::size_t n = chunker != nullptr ? std::min(stream.size(), chunker->next()) : stream.size();
    decoder.feed(stream.substr(0, n), events);
    stream.remove_prefix(n);
    consumed += n;
    check(decoder.buffered_bytes() <= limit);
    // Every byte is a frame byte, a discarded byte or still pending: nothing lost or invented.
    for (; counted < events.size(); ++counted) {
      const FrameEvent& e = events[counted];
      framed += e.kind == FrameEvent::Kind::kFrame ? e.payload.size() + 3 : 0;
    }
    check(framed + decoder.discarded_bytes() + decoder.pending_bytes() == consumed);
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t limit = 64;
  std::uint32_t seed = 1;
  if (input.size() >= 4) {
    // A small limit (0..2047) so that the oversize path is reached with small inputs.
    limit = (static_cast<std::size_t>(data[0]) << 8 | data[1]) % 2048;
    seed = (static_cast<std::uint32_t>(data[2]) << 8 | data[3]) + 1;
    input.remove_prefix(4);
  }

  const std::vector<FrameEvent> whole = decode(input, limit, nullptr);
  Chunker chunker{seed};
  check(decode(input, limit, &chunker) == whole);

  // Emitted frames re-encode, and the encoding decodes to exactly those frames, nothing else.
  std::string again;
  std::vector<FrameEvent> frames;
  for (const auto& e : whole) {
    if (e.kind != FrameEvent::Kind::kFrame) continue;
    check(e.payload.size() <= limit);
    auto framed = labvault::net::encode_frame(e.payload);
    check(framed.has_value());
    again += *framed;
    frames.push_back(e);
  }
  Chunker rechunker{seed ^ 0x9e3779b9u};
  check(decode(again, limit, &rechunker) == frames);
  return 0;
}
