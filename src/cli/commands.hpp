// One function per subcommand; arguments arrive already checked for shape by CLI11.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/error.hpp"

namespace labvault::cli {

struct ConvertArgs {
  std::string from, to;
  std::optional<std::filesystem::path> mapping, config, output;
  int tz_offset_minutes = 0;
  bool lf = false;
  std::vector<std::filesystem::path> inputs;
};

struct ValidateArgs {
  std::optional<std::string> format;
  std::optional<std::filesystem::path> mapping;
  std::vector<std::filesystem::path> inputs;
};

struct BenchArgs {
  std::filesystem::path file;
  double seconds = 3;
};

int run_convert(const ConvertArgs& args);
int run_validate(const ValidateArgs& args);
int run_bench_parse(const BenchArgs& args);

// "labvault: <file>:<line>: <where>: <message>" on stderr.
void print_error(const model::Error& e);

}  // namespace labvault::cli
