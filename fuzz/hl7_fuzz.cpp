// Any bytes through the whole HL7 path: split, parse, validate, map, write back, ACK. Must
// never crash, hang or allocate without bound; every failure must be an Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hl7/hl7.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace labvault;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<model::Error> errors;
  auto split = hl7::split_file(bytes);
  if (!split) {
    errors.push_back(split.error());
  } else {
    for (const auto& t : split->messages) {
      auto message = hl7::Message::parse(t.text, t.first_line);
      if (!message) {
        errors.push_back(message.error());
        continue;
      }
      auto problems = hl7::validate(*message);
      if (problems.empty()) {
        auto model = hl7::to_model(*message);
        std::string oru = hl7::to_oru_r01(*model);
        // What we write must read back.
        if (!hl7::parse_to_model(oru)) __builtin_trap();
      }
      errors.insert(errors.end(), problems.begin(), problems.end());
    }
  }
  hl7::AckOptions options;
  std::string ack = hl7::make_ack(bytes, errors, options);
  if (!hl7::Message::parse(ack)) __builtin_trap();  // an ACK is always well-formed
  return 0;
}
