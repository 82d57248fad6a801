// A private scratch directory for the bench commands, removed however the run ends: it holds a
// keyring and test databases.
#pragma once

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "model/error.hpp"

namespace labvault::cli {

struct TempDir {
  std::filesystem::path path;
  ~TempDir() {
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline model::Result<std::filesystem::path> make_temp_dir(const std::filesystem::path& parent) {
  std::string templ = (parent / "labvault-bench-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    return model::fail(model::ErrorCode::kIo,
                       fmt::format("cannot create a directory under {}", parent.string()));
  }
  return std::filesystem::path(templ);
}

}  // namespace labvault::cli
