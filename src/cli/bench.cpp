// `labvault bench parse`: the labvault side of bench/parse.sh. Measures the whole path a file
// takes (split, parse, validate, map to the model) on one thread.
#include <fmt/format.h>

#include <chrono>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/formats.hpp"
#include "hl7/hl7.hpp"

namespace labvault::cli {

int run_bench_parse(const BenchArgs& args) {
  auto bytes = read_file(args.file);
  if (!bytes) return print_error(bytes.error()), kExitUserError;
  // Fail before timing anything if the message does not map cleanly.
  auto check = read_messages(*bytes, Format::kHl7, args.file.string(), nullptr);
  if (!check) return print_error(check.error()), kExitUserError;

  using Clock = std::chrono::steady_clock;
  size_t messages = 0, observations = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(args.seconds);
  auto now = start;
  while (now < deadline) {
    for (int i = 0; i < 1000; ++i) {
      auto split = hl7::split_file(*bytes);
      for (const auto& t : split->messages) {
        auto message = hl7::Message::parse(t.text, t.first_line);
        auto model = hl7::to_model(*message);
        observations += model->reports.empty() ? 0 : model->reports[0].observations.size();
        ++messages;
      }
    }
    now = Clock::now();
  }
  double seconds = std::chrono::duration<double>(now - start).count();
  fmt::print(
      "labvault parse: {} messages in {:.2f} s = {:.0f} msg/s ({} bytes/msg, {} observations "
      "seen)\n",
      messages, seconds, messages / seconds, bytes->size(), observations);
  return kExitOk;
}

}  // namespace labvault::cli
