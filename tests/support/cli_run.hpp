// Running the labvault binary from end-to-end tests (the target defines LABVAULT_BINARY), and a
// fresh scratch directory per test.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace labvault::testing {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr together
};

// `stdin_text`, when given, is the command's standard input (it must not contain a quote).
inline CliRun labvault(const std::string& args, const std::string& stdin_text = "") {
  std::string cmd = std::string(LABVAULT_BINARY) + " " + args + " 2>&1";
  if (!stdin_text.empty()) cmd = "printf '%s' '" + stdin_text + "' | " + cmd;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// <temp>/labvault-<prefix>-<pid>-<test name>, empty.
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             ("labvault-" + prefix + "-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace labvault::testing
