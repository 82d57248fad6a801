// The audit log tables: append, read in order, the privacy officer's queries, checkpoints and
// the sealing of free text. Nothing here hashes or signs: that is the audit module's job.
#include <fmt/format.h>

#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

constexpr const char* kAuditColumns =
    "seq, time_us, lab_id, actor, patient_id, action, outcome, entry, chain";

// The declared types of kAuditColumns: a value of another type reads back converted (so it hashes
// the same) while no longer matching the indexes' queries; verify reports it.
constexpr int kAuditTypes[] = {SQLITE_INTEGER, SQLITE_INTEGER, SQLITE_INTEGER,
                               SQLITE_TEXT,    SQLITE_INTEGER, SQLITE_TEXT,
                               SQLITE_TEXT,    SQLITE_BLOB,    SQLITE_BLOB};

bool well_typed(const Stmt& s) {
  for (int i = 0; i < static_cast<int>(std::size(kAuditTypes)); ++i) {
    if (s.type(i) != kAuditTypes[i]) return false;
  }
  return true;
}

AuditRowView audit_view(const Stmt& s) {
  return AuditRowView{static_cast<std::uint64_t>(s.int64(0)),
                      s.int64(1),
                      s.int64(2),
                      s.text(3),
                      s.int64(4),
                      s.text(5),
                      s.text(6),
                      s.blob(7),
                      s.blob(8),
                      well_typed(s)};
}

AuditRow audit_row(const Stmt& s) {
  AuditRowView v = audit_view(s);
  return AuditRow{v.seq,
                  v.time_us,
                  v.lab_id,
                  std::string(v.actor),
                  v.patient_id,
                  std::string(v.action),
                  std::string(v.outcome),
                  std::string(v.entry),
                  std::string(v.chain),
                  v.well_typed};
}

Result<std::vector<AuditRow>> collect(Stmt& s) {
  std::vector<AuditRow> rows;
  while (s.step()) rows.push_back(audit_row(s));
  if (s.error()) return std::unexpected(*s.error());
  return rows;
}

}  // namespace

Result<void> SqliteStore::append_audit(std::span<const AuditRow> rows) {
  std::lock_guard lock(mu_);
  if (rows.empty()) return {};
  auto tx = Transaction::begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  if (auto r = insert_audit_rows(rows); !r) return r;
  return tx->commit();
}

Result<void> SqliteStore::insert_audit_rows(std::span<const AuditRow> rows) {
  if (rows.empty()) return {};
  auto last = db_->scalar("SELECT coalesce(max(seq), 0) FROM audit_log");
  if (!last) return std::unexpected(last.error());
  auto insert = db_->prepare(
      fmt::format("INSERT INTO audit_log ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", kAuditColumns));
  if (!insert) return std::unexpected(insert.error());
  auto expected = static_cast<std::uint64_t>(*last) + 1;
  for (const AuditRow& r : rows) {
    // Another writer process got in between: the caller's chain is stale and must be rebuilt.
    if (r.seq != expected++) {
      return model::fail(
          ErrorCode::kStorage,
          fmt::format("audit record {} does not follow record {} in the log", r.seq, expected - 2));
    }
    (*insert)
        ->bind(1, static_cast<std::int64_t>(r.seq))
        .bind(2, r.time_us)
        .bind(3, r.lab_id)
        .bind_text_static(4, r.actor)
        .bind(5, r.patient_id)
        .bind_text_static(6, r.action)
        .bind_text_static(7, r.outcome)
        .bind_blob_static(8, r.entry)
        .bind_blob_static(9, r.chain);
    if (auto ok = (*insert)->run(); !ok) return ok;
  }
  return {};
}

Result<std::vector<AuditRow>> SqliteStore::read_audit(std::uint64_t from_seq, std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = db_->prepare(
      fmt::format("SELECT {} FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?", kAuditColumns));
  if (!s) return std::unexpected(s.error());
  (*s)->bind(1, static_cast<std::int64_t>(from_seq)).bind(2, static_cast<std::int64_t>(limit));
  return collect(**s);
}

Result<void> SqliteStore::scan_audit(std::uint64_t from_seq,
                                     const std::function<bool(const AuditRowView&)>& visit) {
  std::lock_guard lock(mu_);
  auto s = db_->prepare(
      fmt::format("SELECT {} FROM audit_log WHERE seq >= ? ORDER BY seq", kAuditColumns));
  if (!s) return std::unexpected(s.error());
  Stmt& st = **s;
  st.bind(1, static_cast<std::int64_t>(from_seq));
  while (st.step()) {
    if (!visit(audit_view(st))) {
      st.reset();
      return {};
    }
  }
  if (st.error()) return std::unexpected(*st.error());
  return {};
}

Result<std::vector<AuditRow>> SqliteStore::query_audit(const AuditQuery& q) {
  std::lock_guard lock(mu_);
  // Only the set filters go into the statement, so the planner can pick audit_by_patient or
  // audit_by_actor (an "?n IS NULL OR ..." form would scan the table). Values are bound.
  std::string sql = fmt::format("SELECT {} FROM audit_log WHERE seq > ?1", kAuditColumns);
  if (q.lab) sql += " AND lab_id = ?2";
  if (q.patient) sql += " AND patient_id = ?3 AND patient_id != 0";
  if (q.actor) sql += " AND actor = ?4";
  if (q.action) sql += " AND action = ?5";
  if (q.from_us) sql += " AND time_us >= ?6";
  if (q.to_us) sql += " AND time_us < ?7";
  sql += " ORDER BY seq LIMIT ?8";
  auto s = db_->prepare(sql);
  if (!s) return std::unexpected(s.error());
  Stmt& st = **s;
  st.bind(1, static_cast<std::int64_t>(q.after_seq));
  if (q.lab) st.bind(2, *q.lab);
  if (q.patient) st.bind(3, *q.patient);
  if (q.actor) st.bind_text(4, *q.actor);
  if (q.action) st.bind_text(5, *q.action);
  if (q.from_us) st.bind(6, *q.from_us);
  if (q.to_us) st.bind(7, *q.to_us);
  st.bind(8, q.limit);
  return collect(st);
}

Result<std::optional<AuditRow>> SqliteStore::last_audit() {
  std::lock_guard lock(mu_);
  auto s = db_->prepare(
      fmt::format("SELECT {} FROM audit_log ORDER BY seq DESC LIMIT 1", kAuditColumns));
  if (!s) return std::unexpected(s.error());
  if ((*s)->step()) {
    AuditRow row = audit_row(**s);
    (*s)->reset();
    return row;
  }
  if ((*s)->error()) return std::unexpected(*(*s)->error());
  return std::nullopt;
}

Result<void> SqliteStore::add_audit_checkpoint(const AuditCheckpoint& c) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  // Checked under the write lock, so two processes cannot sign sizes out of order.
  auto newest = db_->scalar("SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints");
  auto records = db_->scalar("SELECT coalesce(max(seq), 0) FROM audit_log");
  if (!newest) return std::unexpected(newest.error());
  if (!records) return std::unexpected(records.error());
  if (c.tree_size <= static_cast<std::uint64_t>(*newest) ||
      c.tree_size > static_cast<std::uint64_t>(*records)) {
    return model::fail(ErrorCode::kStorage,
                       fmt::format("an audit checkpoint at tree size {} does not extend the one at "
                                   "{} within the {} records",
                                   c.tree_size, *newest, *records));
  }
  auto s = db_->prepare(
      "INSERT INTO audit_checkpoints (tree_size, time_us, root, key_id, signature, frontier, "
      "chain) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  (*s)->bind(1, static_cast<std::int64_t>(c.tree_size))
      .bind(2, c.time_us)
      .bind_blob(3, c.root)
      .bind_text(4, c.key_id)
      .bind_blob(5, c.signature)
      .bind_blob(6, c.frontier)
      .bind_blob(7, c.chain);
  if (auto r = (*s)->run(); !r) return r;
  return tx->commit();
}

Result<std::vector<AuditCheckpoint>> SqliteStore::audit_checkpoints() {
  std::lock_guard lock(mu_);
  auto s = db_->prepare(
      "SELECT tree_size, time_us, root, key_id, signature, frontier, chain "
      "FROM audit_checkpoints ORDER BY tree_size");
  if (!s) return std::unexpected(s.error());
  std::vector<AuditCheckpoint> out;
  while ((*s)->step()) {
    const Stmt& st = **s;
    out.push_back({static_cast<std::uint64_t>(st.int64(0)), st.int64(1), std::string(st.blob(2)),
                   std::string(st.text(3)), std::string(st.blob(4)), std::string(st.blob(5)),
                   std::string(st.blob(6))});
  }
  if ((*s)->error()) return std::unexpected(*(*s)->error());
  return out;
}

Result<std::string> SqliteStore::seal_audit_text(Id lab, Id patient, std::uint64_t seq,
                                                 std::string_view text) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  Result<Id> key_id = patient != 0 ? patient_key_id(lab, patient) : lab_key_id(lab);
  if (!key_id) return std::unexpected(key_id.error());
  auto key = data_key(*key_id);
  if (!key) return std::unexpected(key.error());
  std::string sealed;
  if (auto r = seal_into(sealed, **key, {"audit_log", "text", static_cast<Id>(seq), lab}, text);
      !r) {
    return std::unexpected(r.error());
  }
  return sealed;
}

Result<std::string> SqliteStore::open_audit_text(Id lab, std::uint64_t seq,
                                                 std::string_view sealed) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  return open({"audit_log", "text", static_cast<Id>(seq), lab}, sealed);
}

Result<Id> SqliteStore::patient_key_id(Id lab, Id patient) {
  auto stmt = db_->prepare("SELECT key_id FROM patients WHERE id = ? AND lab_id = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, patient).bind(2, lab);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return model::fail(ErrorCode::kNotFound, fmt::format("patient {} not found", patient));
  }
  Id id = (*stmt)->int64(0);
  (*stmt)->reset();
  return id;
}

}  // namespace labvault::store::sqlite::internal
