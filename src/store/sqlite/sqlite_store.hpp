// The SQLite adapter of the Store port: one database file in the data directory, WAL mode,
// synchronous=FULL, foreign keys on, schema migrated at open. The keyring must outlive the store;
// the store reloads it from its file when it meets a KEK version it does not know (rotation).
#pragma once

#include <filesystem>
#include <memory>

#include "crypto/keyring.hpp"
#include "store/store.hpp"

namespace labvault::store::sqlite {

struct Options {
  Clock clock = system_now_us;
  int busy_timeout_ms = 5000;
};

// Opens (creating if needed) and migrates the database at `file`.
[[nodiscard]] model::Result<std::unique_ptr<Store>> open(const std::filesystem::path& file,
                                                         crypto::Keyring& keyring,
                                                         Options options = {});

// The file name labvault uses inside a data directory.
inline constexpr const char* kDatabaseFile = "labvault.db";

}  // namespace labvault::store::sqlite
