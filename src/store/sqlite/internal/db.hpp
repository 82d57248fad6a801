// Thin RAII over the SQLite C API: a connection, cached prepared statements, typed binds and
// reads, and errors turned into model::Error (with SQLite's message, which never holds values
// because every value is bound, not spliced into SQL).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "model/error.hpp"

namespace labvault::store::sqlite::internal {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Without a copy: the bytes must stay valid until the statement is stepped and reset.
  Stmt& bind_text_static(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_blob_static(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& bind_opt(int i, std::optional<std::int64_t> v) { return v ? bind(i, *v) : bind_null(i); }

  // True while there is a row; an error ends iteration and is kept in `error()`.
  [[nodiscard]] bool step();
  [[nodiscard]] model::Result<void> run();  // for statements without rows
  [[nodiscard]] const std::optional<model::Error>& error() const { return error_; }

  [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  [[nodiscard]] int type(int col) const { return sqlite3_column_type(s_, col); }
  [[nodiscard]] std::string_view text(int col) const;
  [[nodiscard]] std::string_view blob(int col) const;

  void reset();

 private:
  sqlite3_stmt* s_;
  std::optional<model::Error> error_;
};

class Db {
 public:
  [[nodiscard]] static model::Result<std::unique_ptr<Db>> open(const std::filesystem::path& file,
                                                               int busy_timeout_ms);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // A cached prepared statement, reset and with bindings cleared, ready to bind.
  [[nodiscard]] model::Result<Stmt*> prepare(std::string_view sql);
  [[nodiscard]] model::Result<void> exec(std::string_view sql);  // one or more statements
  [[nodiscard]] model::Result<std::int64_t> scalar(std::string_view sql);
  [[nodiscard]] model::Error error(std::string_view what) const;
  [[nodiscard]] sqlite3* handle() { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unordered_map<std::string, std::pair<std::unique_ptr<sqlite3_stmt, StmtDeleter>, Stmt>>
      cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. IMMEDIATE takes the write lock up
// front so that id allocation (max(id)+1) cannot race another writer process.
class Transaction {
 public:
  [[nodiscard]] static model::Result<Transaction> begin(Db& db);
  Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  [[nodiscard]] model::Result<void> commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
};

}  // namespace labvault::store::sqlite::internal
