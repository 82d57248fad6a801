#include "store/sqlite/internal/db.hpp"

#include <fmt/format.h>

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

bool Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  sqlite3_reset(s_);  // ends the statement's read snapshot; bindings stay for a re-run
  if (rc != SQLITE_DONE) {
    sqlite3* db = sqlite3_db_handle(s_);
    error_ = model::Error{
        ErrorCode::kStorage, fmt::format("database: {} (SQLite {})", sqlite3_errmsg(db), rc), {}};
  }
  return false;
}

model::Result<void> Stmt::run() {
  while (step()) {
  }
  if (error_) return std::unexpected(*error_);
  return {};
}

std::string_view Stmt::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string_view();
}

std::string_view Stmt::blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string_view();
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  error_.reset();
}

model::Result<std::unique_ptr<Db>> Db::open(const std::filesystem::path& file,
                                            int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      file.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) {
    return model::fail(ErrorCode::kStorage,
                       fmt::format("cannot open database {}: {}", file.string(),
                                   raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // WAL: readers never block the writer. FULL: a commit is on disk before it returns (the ACK
  // promise of DESIGN.md invariant 1). secure_delete: freed pages are zeroed, so a shredded data
  // key or a replaced value does not linger in the file. temp_store=MEMORY: no temp files.
  auto pragmas = db->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
      "PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;");
  if (!pragmas) return std::unexpected(pragmas.error());
  auto mode = db->prepare("PRAGMA journal_mode");
  if (!mode) return std::unexpected(mode.error());
  if (!(*mode)->step() || (*mode)->text(0) != "wal") {
    return model::fail(ErrorCode::kStorage,
                       fmt::format("database {} cannot use WAL mode", file.string()));
  }
  (*mode)->reset();
  return db;
}

Db::~Db() {
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
}

model::Error Db::error(std::string_view what) const {
  return model::Error{ErrorCode::kStorage,
                      fmt::format("database: {}: {} (SQLite {})", what, sqlite3_errmsg(db_),
                                  sqlite3_extended_errcode(db_)),
                      {}};
}

model::Result<Stmt*> Db::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s, nullptr) != SQLITE_OK) {
      return std::unexpected(error("preparing a statement"));
    }
    it = cache_
             .emplace(std::string(sql),
                      std::pair(std::unique_ptr<sqlite3_stmt, StmtDeleter>(s), Stmt(s)))
             .first;
  }
  Stmt* stmt = &it->second.second;
  stmt->reset();
  return stmt;
}

model::Result<void> Db::exec(std::string_view sql) {
  char* message = nullptr;
  std::string copy(sql);
  if (sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown";
    sqlite3_free(message);
    return model::fail(ErrorCode::kStorage, fmt::format("database: {}", text));
  }
  return {};
}

model::Result<std::int64_t> Db::scalar(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return std::unexpected(stmt.error());
  std::int64_t v = (*stmt)->step() ? (*stmt)->int64(0) : 0;
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  (*stmt)->reset();
  return v;
}

model::Result<Transaction> Transaction::begin(Db& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

model::Result<void> Transaction::commit() {
  auto r = db_->exec("COMMIT");
  if (r) db_ = nullptr;
  return r;
}

}  // namespace labvault::store::sqlite::internal
