// The labvault config file (TOML, written by `labvault init`): where the data directory and
// the keyring are. Secrets never live in it; it may be world-readable, the keyring may not.
#pragma once

#include <filesystem>
#include <memory>

#include "crypto/keyring.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::cli {

inline constexpr const char* kConfigFile = "labvault.toml";

struct Config {
  std::filesystem::path file;      // the config itself
  std::filesystem::path data_dir;  // absolute
  std::filesystem::path keyring;   // absolute, outside data_dir
};

// Reads and checks a config; errors name the file, line and key.
[[nodiscard]] model::Result<Config> load_config(const std::filesystem::path& file);
// The commented config `labvault init` writes.
[[nodiscard]] std::string render_config(const Config& config);

// What every command that touches data needs: the checked keyring and the migrated store.
struct Opened {
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<store::Store> store;
};
[[nodiscard]] model::Result<Opened> open_data(const Config& config);

}  // namespace labvault::cli
