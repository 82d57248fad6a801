// Opening the database, labs, conversion history, the outbox and key administration.
#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "store/sqlite/internal/migrations.hpp"
#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite {

using model::ErrorCode;

model::Result<std::unique_ptr<Store>> open(const std::filesystem::path& file,
                                           crypto::Keyring& keyring, Options options) {
  auto db = internal::Db::open(file, options.busy_timeout_ms);
  if (!db) return std::unexpected(db.error());
  if (auto r = internal::migrate(**db); !r) return std::unexpected(r.error());
  return std::make_unique<internal::SqliteStore>(std::move(*db), keyring, std::move(options.clock));
}

}  // namespace labvault::store::sqlite

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

SqliteStore::SqliteStore(std::unique_ptr<Db> db, crypto::Keyring& keyring, Clock clock)
    : db_(std::move(db)), keyring_(keyring), clock_(std::move(clock)) {}

namespace {

LabInfo lab_from(Stmt& s) {
  return LabInfo{s.int64(0), std::string(s.text(1)), std::string(s.text(2))};
}

}  // namespace

Result<Id> SqliteStore::lab_exists(Id lab) {
  auto stmt = db_->prepare("SELECT id FROM labs WHERE id = ? AND id != 0");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, lab);
  if ((*stmt)->step()) {
    (*stmt)->reset();
    return lab;
  }
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return model::fail(ErrorCode::kNotFound, fmt::format("lab {} not found", lab));
}

Result<LabInfo> SqliteStore::create_lab(std::string_view code, std::string_view name) {
  std::lock_guard lock(mu_);
  if (code.empty()) return model::fail(ErrorCode::kUsage, "a lab needs a code");
  return in_transaction(*this, [&]() -> Result<LabInfo> {
    auto exists = db_->prepare("SELECT id FROM labs WHERE code = ?");
    if (!exists) return std::unexpected(exists.error());
    (*exists)->bind_text(1, code);
    if ((*exists)->step()) {
      (*exists)->reset();
      return model::fail(ErrorCode::kDuplicate, fmt::format("lab '{}' already exists", code));
    }
    auto id = next_id("labs");
    if (!id) return std::unexpected(id.error());
    auto insert = db_->prepare("INSERT INTO labs (id, code, name, created_at) VALUES (?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    (*insert)->bind(1, *id).bind_text(2, code).bind_text(3, name).bind(4, clock_());
    if (auto r = (*insert)->run(); !r) return std::unexpected(r.error());
    if (auto key = new_data_key(*id, "lab", 0); !key) return std::unexpected(key.error());
    return LabInfo{*id, std::string(code), std::string(name)};
  });
}

Result<std::optional<LabInfo>> SqliteStore::find_lab(std::string_view code) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT id, code, name FROM labs WHERE code = ? AND id != 0");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind_text(1, code);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return std::nullopt;
  }
  LabInfo lab = lab_from(**stmt);
  (*stmt)->reset();
  return lab;
}

Result<std::vector<LabInfo>> SqliteStore::list_labs() {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT id, code, name FROM labs WHERE id != 0 ORDER BY id");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<LabInfo> labs;
  while ((*stmt)->step()) labs.push_back(lab_from(**stmt));
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return labs;
}

Result<Id> SqliteStore::begin_import(Id lab, std::string_view kind, std::string_view source) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<Id> {
    auto key_id = lab_key_id(lab);
    if (!key_id) return std::unexpected(key_id.error());
    auto key = data_key(*key_id);
    if (!key) return std::unexpected(key.error());
    auto id = next_id("imports");
    if (!id) return std::unexpected(id.error());
    std::string sealed;
    if (auto r = seal_into(sealed, **key, {"imports", "source", *id, lab}, source); !r) {
      return std::unexpected(r.error());
    }
    auto stmt = db_->prepare(
        "INSERT INTO imports (id, lab_id, key_id, kind, source, started_at) VALUES (?,?,?,?,?,?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind(1, *id)
        .bind(2, lab)
        .bind(3, *key_id)
        .bind_text(4, kind)
        .bind_blob(5, sealed)
        .bind(6, clock_());
    if (auto r = (*stmt)->run(); !r) return std::unexpected(r.error());
    return *id;
  });
}

Result<void> SqliteStore::finish_import(Id lab, Id import_id, int messages, int errors) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare(
        "UPDATE imports SET finished_at = ?, messages = ?, errors = ? WHERE id = ? AND lab_id = ?");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, clock_()).bind(2, messages).bind(3, errors).bind(4, import_id).bind(5, lab);
    if (auto r = (*stmt)->run(); !r) return r;
    if (sqlite3_changes(db_->handle()) == 0) {
      return model::fail(ErrorCode::kNotFound, fmt::format("import {} not found", import_id));
    }
    return {};
  });
}

Result<std::vector<OutboxItem>> SqliteStore::due_deliveries(int limit) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT id, lab_id, subscriber, message_id, coalesce(patient_id, 0), attempts, "
      "next_attempt_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
      "ORDER BY next_attempt_at, id LIMIT ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, clock_()).bind(2, limit);
  std::vector<OutboxItem> items;
  while ((*stmt)->step()) {
    Stmt& s = **stmt;
    items.push_back({s.int64(0), s.int64(1), std::string(s.text(2)), s.int64(3), s.int64(4),
                     static_cast<int>(s.int64(5)), s.int64(6)});
  }
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return items;
}

Result<void> SqliteStore::mark_delivered(Id item) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare(
        "UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 "
        "WHERE id = ? AND status = 'pending'");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, clock_()).bind(2, item);
    if (auto r = (*stmt)->run(); !r) return r;
    if (sqlite3_changes(db_->handle()) == 0) {
      return model::fail(ErrorCode::kNotFound, fmt::format("no pending delivery {}", item));
    }
    return {};
  });
}

Result<void> SqliteStore::retry_later(Id item, std::int64_t at_us, std::string_view error_code) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
        "WHERE id = ? AND status = 'pending'");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, at_us).bind_text(2, error_code).bind(3, item);
    if (auto r = (*stmt)->run(); !r) return r;
    if (sqlite3_changes(db_->handle()) == 0) {
      return model::fail(ErrorCode::kNotFound, fmt::format("no pending delivery {}", item));
    }
    return {};
  });
}

Result<void> SqliteStore::shred_patient(Id lab, Id patient) {
  std::lock_guard lock(mu_);
  auto done = in_transaction(*this, [&]() -> Result<void> {
    auto find = db_->prepare("SELECT key_id FROM patients WHERE id = ? AND lab_id = ?");
    if (!find) return std::unexpected(find.error());
    (*find)->bind(1, patient).bind(2, lab);
    if (!(*find)->step()) {
      if ((*find)->error()) return std::unexpected(*(*find)->error());
      return model::fail(ErrorCode::kNotFound, fmt::format("patient {} not found", patient));
    }
    Id key_id = (*find)->int64(0);
    (*find)->reset();
    // The wrapped key goes (secure_delete zeroes its bytes). So does every blind index of the
    // patient's rows: left in place they would still confirm a guessed MRN, name, accession or
    // message id, and a later message reusing an old order number would be refused as "another
    // patient's". Random values keep the UNIQUE constraints and link to nothing.
    const std::pair<const char*, Id> statements[] = {
        {"UPDATE data_keys SET wrapped = NULL, shredded_at = ?1 WHERE id = ?2 "
         "AND wrapped IS NOT NULL",
         key_id},
        {"DELETE FROM patient_identifiers WHERE patient_id = ?2 AND ?1 IS NOT NULL", patient},
        {"UPDATE patients SET name_dob_index = NULL, updated_at = ?1 WHERE id = ?2", patient},
        {"UPDATE encounters SET visit_index = NULL WHERE patient_id = ?2 AND ?1 IS NOT NULL",
         patient},
        {"UPDATE orders SET accession_index = randomblob(16), updated_at = ?1 "
         "WHERE patient_id = ?2",
         patient},
        {"UPDATE reports SET report_index = randomblob(16), updated_at = ?1 "
         "WHERE patient_id = ?2",
         patient},
        {"UPDATE inbound_messages SET control_index = randomblob(16) "
         "WHERE patient_id = ?2 AND ?1 IS NOT NULL",
         patient},
    };
    for (const auto& [sql, id] : statements) {
      auto stmt = db_->prepare(sql);
      if (!stmt) return std::unexpected(stmt.error());
      (*stmt)->bind(1, clock_()).bind(2, id);
      if (auto r = (*stmt)->run(); !r) return r;
    }
    keys_.erase(key_id);
    return {};
  });
  if (!done) return done;
  // Older WAL frames still hold the page with the wrapped key until a checkpoint rewrites the
  // database file and truncates the log. Readers in other processes can hold it back; a few
  // short retries cover a busy server, and failing loudly covers a reader that stays.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int log = -1, done_frames = -1;
    int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log,
                                       &done_frames);
    if (rc == SQLITE_OK && log == 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << std::min(attempt, 4)));
  }
  return model::fail(
      ErrorCode::kStorage,
      "the key is destroyed, but another process kept the write-ahead log open so "
      "older copies of its page remain there; run the command again when it is idle");
}

Result<int> SqliteStore::rewrap_data_keys(int batch) {
  std::lock_guard lock(mu_);
  // Never re-wrap with a stale ring: that would move keys back to an older KEK.
  if (auto r = keyring_.reload(); !r) return std::unexpected(r.error());
  return in_transaction(*this, [&]() -> Result<int> {
    auto select = db_->prepare(
        "SELECT id, lab_id, owner, coalesce(patient_id, 0), wrapped FROM data_keys "
        "WHERE wrapped IS NOT NULL AND kek_version <> ? LIMIT ?");
    if (!select) return std::unexpected(select.error());
    (*select)->bind(1, static_cast<std::int64_t>(keyring_.current_kek_version())).bind(2, batch);
    struct Row {
      Id id;
      std::string context, wrapped;
    };
    std::vector<Row> rows;
    while ((*select)->step()) {
      Stmt& s = **select;
      rows.push_back({s.int64(0), fmt::format("{}:{}:{}", s.text(2), s.int64(1), s.int64(3)),
                      std::string(s.blob(4))});
    }
    if ((*select)->error()) return std::unexpected(*(*select)->error());
    auto update = db_->prepare("UPDATE data_keys SET wrapped = ?, kek_version = ? WHERE id = ?");
    if (!update) return std::unexpected(update.error());
    for (const Row& row : rows) {
      auto raw = keyring_.unwrap(row.wrapped, static_cast<std::uint64_t>(row.id), row.context);
      if (!raw) return std::unexpected(raw.error());
      auto wrapped = keyring_.wrap(*raw, static_cast<std::uint64_t>(row.id), row.context);
      if (!wrapped) return std::unexpected(wrapped.error());
      (*update)->reset();
      (*update)
          ->bind_blob(1, *wrapped)
          .bind(2, static_cast<std::int64_t>(keyring_.current_kek_version()))
          .bind(3, row.id);
      if (auto r = (*update)->run(); !r) return std::unexpected(r.error());
    }
    return static_cast<int>(rows.size());
  });
}

Result<void> SqliteStore::retire_kek(std::uint32_t version) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare(
        "SELECT count(*) FROM data_keys WHERE kek_version = ? AND wrapped IS NOT NULL");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, static_cast<std::int64_t>(version));
    std::int64_t in_use = (*stmt)->step() ? (*stmt)->int64(0) : -1;
    (*stmt)->reset();
    if (in_use != 0) {
      return model::fail(ErrorCode::kKey,
                         fmt::format("KEK version {} still wraps {} data keys; run keys rotate "
                                     "again before retiring it",
                                     version, in_use));
    }
    // Still inside the write transaction: no process can wrap a new key under this version
    // between the count and the removal.
    return keyring_.retire_kek(version);
  });
}

Result<KeyStats> SqliteStore::key_stats() {
  std::lock_guard lock(mu_);
  KeyStats stats;
  auto stmt = db_->prepare(
      "SELECT owner, wrapped IS NULL, kek_version, count(*) FROM data_keys "
      "GROUP BY owner, wrapped IS NULL, kek_version ORDER BY kek_version");
  if (!stmt) return std::unexpected(stmt.error());
  while ((*stmt)->step()) {
    Stmt& s = **stmt;
    int n = static_cast<int>(s.int64(3));
    if (s.int64(1) != 0) {
      stats.shredded += n;
      continue;
    }
    (s.text(0) == "lab" ? stats.lab_keys : stats.patient_keys) += n;
    auto version = static_cast<std::uint32_t>(s.int64(2));
    if (stats.by_kek_version.empty() || stats.by_kek_version.back().first != version) {
      stats.by_kek_version.emplace_back(version, 0);
    }
    stats.by_kek_version.back().second += n;
  }
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return stats;
}

}  // namespace labvault::store::sqlite::internal
