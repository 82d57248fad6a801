// Care-team assignments and access grants (migration 005): clear ids and times only.
#include <fmt/format.h>

#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

constexpr std::string_view kGrantColumns =
    "SELECT id, kind, user_id, lab_id, patient_id, category, audit_seq, granted_at, expires_at, "
    "reviewed_at, reviewer, disposition FROM access_grants";

AccessGrant grant_from(Stmt& s) {
  AccessGrant g;
  g.id = s.int64(0);
  g.kind = std::string(s.text(1));
  g.user = s.int64(2);
  g.lab = s.int64(3);
  g.patient = s.int64(4);
  g.category = std::string(s.text(5));
  g.audit_seq = static_cast<std::uint64_t>(s.int64(6));
  g.granted_us = s.int64(7);
  g.expires_us = s.int64(8);
  g.reviewed_us = s.int64(9);
  g.reviewer = std::string(s.text(10));
  g.disposition = std::string(s.text(11));
  return g;
}

Result<std::vector<AccessGrant>> collect(Stmt& s) {
  std::vector<AccessGrant> out;
  while (s.step()) out.push_back(grant_from(s));
  if (s.error()) return std::unexpected(*s.error());
  return out;
}

}  // namespace

Result<Id> SqliteStore::add_care_assignment(const CareAssignment& a) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<Id> {
    if (auto r = lab_exists(a.lab); !r) return std::unexpected(r.error());
    auto id = next_id("care_assignments");
    if (!id) return std::unexpected(id.error());
    auto stmt = db_->prepare(
        "INSERT INTO care_assignments (id, user_id, lab_id, patient_id, valid_from, valid_until, "
        "assigned_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind(1, *id)
        .bind(2, a.user)
        .bind(3, a.lab)
        .bind(4, a.patient)
        .bind(5, a.valid_from_us)
        .bind(6, a.valid_until_us)
        .bind_text(7, a.assigned_by)
        .bind(8, clock_());
    if (auto r = (*stmt)->run(); !r) return std::unexpected(r.error());
    return *id;
  });
}

Result<bool> SqliteStore::has_care_relationship(Id user, Id lab, Id patient, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(
      "SELECT 1 FROM care_assignments WHERE user_id = ? AND patient_id = ? AND lab_id = ? AND "
      "valid_from <= ? AND valid_until > ? LIMIT 1");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, user).bind(2, patient).bind(3, lab).bind(4, now_us).bind(5, now_us);
  bool found = (*stmt)->step();
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  (*stmt)->reset();
  return found;
}

Result<void> SqliteStore::link_patient(Id user, Id lab, Id patient, std::string_view linked_by) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    if (auto r = lab_exists(lab); !r) return std::unexpected(r.error());
    auto stmt = db_->prepare(
        "INSERT INTO patient_links (user_id, lab_id, patient_id, linked_at, linked_by) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, lab_id) DO UPDATE SET "
        "patient_id = excluded.patient_id, linked_at = excluded.linked_at, "
        "linked_by = excluded.linked_by");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)->bind(1, user).bind(2, lab).bind(3, patient).bind(4, clock_()).bind_text(5, linked_by);
    return (*stmt)->run();
  });
}

Result<Id> SqliteStore::linked_patient(Id user, Id lab) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare("SELECT patient_id FROM patient_links WHERE user_id = ? AND lab_id = ?");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, user).bind(2, lab);
  Id patient = (*stmt)->step() ? (*stmt)->int64(0) : 0;
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  (*stmt)->reset();
  return patient;
}

Result<Id> SqliteStore::add_grant(const AccessGrant& g) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<Id> {
    if (auto r = lab_exists(g.lab); !r) return std::unexpected(r.error());
    auto id = next_id("access_grants");
    if (!id) return std::unexpected(id.error());
    auto stmt = db_->prepare(
        "INSERT INTO access_grants (id, kind, user_id, lab_id, patient_id, category, audit_seq, "
        "granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind(1, *id)
        .bind_text(2, g.kind)
        .bind(3, g.user)
        .bind(4, g.lab)
        .bind(5, g.patient)
        .bind_text(6, g.category)
        .bind(7, static_cast<std::int64_t>(g.audit_seq))
        .bind(8, g.granted_us)
        .bind(9, g.expires_us);
    if (auto r = (*stmt)->run(); !r) return std::unexpected(r.error());
    return *id;
  });
}

Result<std::vector<AccessGrant>> SqliteStore::active_grants(Id user, Id lab, Id patient,
                                                            std::int64_t now_us) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(std::string(kGrantColumns) +
                           " WHERE user_id = ? AND patient_id = ? AND lab_id = ? AND "
                           "granted_at <= ? AND expires_at > ? ORDER BY id");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, user).bind(2, patient).bind(3, lab).bind(4, now_us).bind(5, now_us);
  return collect(**stmt);
}

Result<std::vector<AccessGrant>> SqliteStore::break_glass_grants(Id lab, bool all) {
  std::lock_guard lock(mu_);
  auto stmt = db_->prepare(std::string(kGrantColumns) +
                           (all ? " WHERE kind = 'break-glass' AND lab_id = ? ORDER BY granted_at"
                                : " WHERE kind = 'break-glass' AND reviewed_at = 0 AND lab_id = ? "
                                  "ORDER BY granted_at"));
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, lab);
  return collect(**stmt);
}

Result<void> SqliteStore::review_grant(Id lab, Id grant, std::string_view reviewer,
                                       std::string_view disposition, std::int64_t now_us) {
  std::lock_guard lock(mu_);
  return in_transaction(*this, [&]() -> Result<void> {
    auto stmt = db_->prepare(
        "UPDATE access_grants SET reviewed_at = ?, reviewer = ?, disposition = ? "
        "WHERE id = ? AND lab_id = ? AND kind = 'break-glass' AND reviewed_at = 0");
    if (!stmt) return std::unexpected(stmt.error());
    (*stmt)
        ->bind(1, now_us)
        .bind_text(2, reviewer)
        .bind_text(3, disposition)
        .bind(4, grant)
        .bind(5, lab);
    if (auto r = (*stmt)->run(); !r) return r;
    if (sqlite3_changes(db_->handle()) == 0) {
      return model::fail(ErrorCode::kNotFound,
                         fmt::format("no unreviewed break-glass use {} in this lab", grant));
    }
    return {};
  });
}

}  // namespace labvault::store::sqlite::internal
