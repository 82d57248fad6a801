// One function per subcommand; arguments arrive already checked for shape by CLI11.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/error.hpp"

namespace labvault::cli {

struct ConvertArgs {
  std::string from, to;
  std::optional<std::filesystem::path> mapping, config, output;
  std::optional<int> tz_offset_minutes;  // default: each message's MSH-7 offset
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

struct BenchStoreArgs {
  int rows = 100000;          // observations to store on each path
  int batch = 1000;           // observations per transaction
  int per_message = 10;       // observations per synthetic message (one patient, one report)
  std::filesystem::path dir;  // where the scratch directory goes (default: the temp directory)
};

struct InitArgs {
  std::filesystem::path data;
  std::optional<std::filesystem::path> keyring;  // default: <data>/../labvault.keyring
  bool demo = false;
};

struct KeysArgs {
  std::filesystem::path config;
  bool retire_old = false;  // rotate
  std::string lab;          // shred-patient
  std::optional<std::int64_t> patient;
  bool mrn_stdin = false;
  std::string authority;
  bool yes = false;
};

int run_init(const InitArgs& args);
int run_keys_status(const KeysArgs& args);
int run_keys_rotate(const KeysArgs& args);
int run_keys_shred(const KeysArgs& args);
int run_convert(const ConvertArgs& args);
int run_validate(const ValidateArgs& args);
int run_bench_parse(const BenchArgs& args);
int run_bench_store(const BenchStoreArgs& args);

// "labvault: <file>:<line>: <where>: <message>" on stderr.
void print_error(const model::Error& e);

// Writes to stderr without throwing: reporting a failure must not itself fail (fmt::print throws
// when the stream is closed or full).
template <typename... Args>
void eprint(fmt::format_string<Args...> format, Args&&... args) {
  std::fputs(fmt::format(format, std::forward<Args>(args)...).c_str(), stderr);
}

}  // namespace labvault::cli
