// Versioned schema migrations (migrations/NNN_*.sql, compiled in). The schema version lives in
// PRAGMA user_version; each migration runs in its own transaction with its version bump, so a
// crash mid-upgrade leaves the previous version intact.
#pragma once

#include "model/error.hpp"
#include "store/sqlite/internal/db.hpp"

namespace labvault::store::sqlite::internal {

[[nodiscard]] int latest_schema_version();
// Brings the database to `target` (default: latest). Refuses a database newer than this build.
[[nodiscard]] model::Result<void> migrate(Db& db, int target = -1);

}  // namespace labvault::store::sqlite::internal
