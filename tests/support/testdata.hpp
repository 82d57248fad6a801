// Test helpers: reading ../shared/testdata (never written) and listing its files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace labvault::testing {

inline std::filesystem::path testdata(const std::string& relative = {}) {
  return std::filesystem::path(LABVAULT_TESTDATA) / relative;
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::filesystem::path> files_in(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(testdata(dir)))
    if (e.is_regular_file()) out.push_back(e.path());
  std::ranges::sort(out);
  return out;
}

}  // namespace labvault::testing
