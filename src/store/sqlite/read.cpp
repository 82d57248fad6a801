// Reads: patients by blind index, a patient's whole record, raw messages, provenance.
#include <fmt/format.h>

#include "crypto/secret.hpp"
#include "store/codec.hpp"
#include "store/normalize.hpp"
#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

model::Error not_found(std::string_view what, Id id) {
  return model::Error{ErrorCode::kNotFound, fmt::format("{} {} not found", what, id), {}};
}

// Rows of (id, sealed blob) from a query whose first bind is `key`.
Result<std::vector<std::pair<Id, std::string>>> sealed_rows(Db& db, std::string_view sql, Id key) {
  auto stmt = db.prepare(sql);
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, key);
  std::vector<std::pair<Id, std::string>> rows;
  while ((*stmt)->step()) rows.emplace_back((*stmt)->int64(0), (*stmt)->blob(1));
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return rows;
}

Result<std::vector<Id>> ids(Db& db, std::string_view sql, Id lab, std::string_view blob) {
  auto stmt = db.prepare(sql);
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, lab);
  if (!blob.empty()) (*stmt)->bind_blob(2, blob);
  std::vector<Id> out;
  while ((*stmt)->step()) out.push_back((*stmt)->int64(0));
  if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
  return out;
}

}  // namespace

Result<std::vector<Id>> SqliteStore::find_patients(Id lab, const model::Identifier& identifier) {
  std::lock_guard lock(mu_);
  if (identifier.value.empty()) return std::vector<Id>{};
  std::string idx = keyring_.blind_indexer().index("patient-id", static_cast<std::uint64_t>(lab),
                                                   normalize_identifier(identifier, {}));
  return ids(*db_,
             "SELECT patient_id FROM patient_identifiers WHERE lab_id = ? AND identifier_index = ?",
             lab, idx);
}

Result<std::vector<Id>> SqliteStore::find_patients(Id lab, const model::HumanName& name,
                                                   const model::DateTime& birth_date) {
  std::lock_guard lock(mu_);
  std::string normalized = normalize_name_birth(name, birth_date);
  if (normalized.empty()) return std::vector<Id>{};
  std::string idx =
      keyring_.blind_indexer().index("name-birth", static_cast<std::uint64_t>(lab), normalized);
  crypto::wipe(normalized);
  return ids(*db_, "SELECT id FROM patients WHERE lab_id = ? AND name_dob_index = ? ORDER BY id",
             lab, idx);
}

Result<std::vector<Id>> SqliteStore::list_patients(Id lab) {
  std::lock_guard lock(mu_);
  return ids(*db_, "SELECT id FROM patients WHERE lab_id = ? ORDER BY id", lab, {});
}

Result<PatientRecord> SqliteStore::read_patient(Id lab, Id patient) {
  std::lock_guard lock(mu_);
  // One read transaction: the record is a consistent snapshot even while ingest writes.
  if (auto r = db_->exec("BEGIN"); !r) return std::unexpected(r.error());
  struct EndRead {
    Db& db;
    ~EndRead() { (void)db.exec("COMMIT"); }
  } end{*db_};

  auto row = db_->prepare("SELECT demographics FROM patients WHERE id = ? AND lab_id = ?");
  if (!row) return std::unexpected(row.error());
  (*row)->bind(1, patient).bind(2, lab);
  if (!(*row)->step()) {
    if ((*row)->error()) return std::unexpected(*(*row)->error());
    return std::unexpected(not_found("patient", patient));
  }
  std::string demographics((*row)->blob(0));
  (*row)->reset();
  // Checked inside the snapshot: a shred committed before it began drops the cached key.
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  PatientRecord record;
  record.id = patient;
  auto p = open_decoded<model::Patient>({"patients", "demographics", patient, lab}, demographics);
  if (!p) return std::unexpected(p.error());
  record.patient = std::move(*p);

  auto encounters = sealed_rows(
      *db_, "SELECT id, detail FROM encounters WHERE patient_id = ? ORDER BY id", patient);
  if (!encounters) return std::unexpected(encounters.error());
  for (auto& [id, blob] : *encounters) {
    auto e = open_decoded<model::Encounter>({"encounters", "detail", id, lab}, blob);
    if (!e) return std::unexpected(e.error());
    record.encounters.push_back(std::move(*e));
  }

  auto orders =
      sealed_rows(*db_, "SELECT id, detail FROM orders WHERE patient_id = ? ORDER BY id", patient);
  if (!orders) return std::unexpected(orders.error());
  for (auto& [id, blob] : *orders) {
    auto o = open_decoded<model::Order>({"orders", "detail", id, lab}, blob);
    if (!o) return std::unexpected(o.error());
    std::vector<Id> specimen_ids;
    auto specimens =
        sealed_rows(*db_, "SELECT id, detail FROM specimens WHERE order_id = ? ORDER BY id", id);
    if (!specimens) return std::unexpected(specimens.error());
    for (auto& [sid, sblob] : *specimens) {
      auto sp = open_decoded<model::Specimen>({"specimens", "detail", sid, lab}, sblob);
      if (!sp) return std::unexpected(sp.error());
      o->specimens.push_back(std::move(*sp));
      specimen_ids.push_back(sid);
    }
    record.orders.push_back({id, std::move(*o), std::move(specimen_ids)});
  }

  auto reports =
      sealed_rows(*db_, "SELECT id, detail FROM reports WHERE patient_id = ? ORDER BY id", patient);
  if (!reports) return std::unexpected(reports.error());
  for (auto& [id, blob] : *reports) {
    auto rep = open_decoded<model::Report>({"reports", "detail", id, lab}, blob);
    if (!rep) return std::unexpected(rep.error());
    StoredReport stored{id, std::move(*rep), {}, {}};
    auto observations = sealed_rows(
        *db_, "SELECT id, result FROM observations WHERE report_id = ? ORDER BY position", id);
    if (!observations) return std::unexpected(observations.error());
    for (auto& [oid, oblob] : *observations) {
      auto o = open_decoded<model::Observation>({"observations", "result", oid, lab}, oblob);
      if (!o) return std::unexpected(o.error());
      auto history = sealed_rows(
          *db_, "SELECT id, version FROM observation_history WHERE observation_id = ? ORDER BY seq",
          oid);
      if (!history) return std::unexpected(history.error());
      for (auto& [hid, hblob] : *history) {
        auto v = open_decoded<model::ObservationVersion>(
            {"observation_history", "version", hid, lab}, hblob);
        if (!v) return std::unexpected(v.error());
        o->history.push_back(std::move(*v));
      }
      stored.report.observations.push_back(std::move(*o));
      stored.observation_ids.push_back(oid);
    }
    auto specimens =
        sealed_rows(*db_, "SELECT id, detail FROM specimens WHERE report_id = ? ORDER BY id", id);
    if (!specimens) return std::unexpected(specimens.error());
    for (auto& [sid, sblob] : *specimens) {
      auto sp = open_decoded<model::Specimen>({"specimens", "detail", sid, lab}, sblob);
      if (!sp) return std::unexpected(sp.error());
      stored.report.specimens.push_back(std::move(*sp));
      stored.specimen_ids.push_back(sid);
    }
    record.reports.push_back(std::move(stored));
  }
  return record;
}

Result<Id> SqliteStore::patient_of(Id lab, std::string_view kind, Id id) {
  static constexpr std::pair<std::string_view, std::string_view> kTables[] = {
      {"Patient", "SELECT id FROM patients WHERE id = ? AND lab_id = ?"},
      {"Observation", "SELECT patient_id FROM observations WHERE id = ? AND lab_id = ?"},
      {"DiagnosticReport", "SELECT patient_id FROM reports WHERE id = ? AND lab_id = ?"},
      {"ServiceRequest", "SELECT patient_id FROM orders WHERE id = ? AND lab_id = ?"},
      {"Specimen", "SELECT patient_id FROM specimens WHERE id = ? AND lab_id = ?"}};
  for (const auto& [name, sql] : kTables) {
    if (name != kind) continue;
    std::lock_guard lock(mu_);
    auto row = db_->prepare(sql);
    if (!row) return std::unexpected(row.error());
    (*row)->bind(1, id).bind(2, lab);
    if ((*row)->step()) {
      const Id patient = (*row)->int64(0);
      (*row)->reset();
      return patient;
    }
    if ((*row)->error()) return std::unexpected(*(*row)->error());
    return std::unexpected(not_found(kind, id));
  }
  return model::fail(model::ErrorCode::kUsage, fmt::format("no stored records of kind {}", kind));
}

Result<std::string> SqliteStore::read_raw_message(Id lab, Id message) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  auto row = db_->prepare("SELECT raw FROM inbound_messages WHERE id = ? AND lab_id = ?");
  if (!row) return std::unexpected(row.error());
  (*row)->bind(1, message).bind(2, lab);
  if (!(*row)->step()) {
    if ((*row)->error()) return std::unexpected(*(*row)->error());
    return std::unexpected(not_found("message", message));
  }
  std::string sealed((*row)->blob(0));
  (*row)->reset();
  return open({"inbound_messages", "raw", message, lab}, sealed);
}

Result<Provenance> SqliteStore::provenance(Id lab, Id message_id) {
  std::lock_guard lock(mu_);
  if (auto r = refresh_key_cache(); !r) return std::unexpected(r.error());
  auto msg = db_->prepare(
      "SELECT m.import_id, i.kind, i.source, i.started_at, coalesce(i.finished_at, 0), "
      "i.messages, i.errors FROM inbound_messages m LEFT JOIN imports i ON i.id = m.import_id "
      "AND i.lab_id = m.lab_id WHERE m.id = ? AND m.lab_id = ?");
  if (!msg) return std::unexpected(msg.error());
  (*msg)->bind(1, message_id).bind(2, lab);
  if (!(*msg)->step()) {
    if ((*msg)->error()) return std::unexpected(*(*msg)->error());
    return std::unexpected(not_found("message", message_id));
  }
  Provenance out;
  if (!(*msg)->is_null(0)) {
    Stmt& s = **msg;
    ImportInfo info{s.int64(0),
                    std::string(s.text(1)),
                    {},
                    s.int64(3),
                    s.int64(4),
                    static_cast<int>(s.int64(5)),
                    static_cast<int>(s.int64(6))};
    std::string sealed(s.blob(2));
    s.reset();
    auto source = open({"imports", "source", info.id, lab}, sealed);
    if (!source) return std::unexpected(source.error());
    info.source = std::move(*source);
    out.import = std::move(info);
  } else {
    (*msg)->reset();
  }
  auto links = db_->prepare(
      "SELECT record_table, record_id FROM provenance WHERE message_id = ? "
      "ORDER BY record_table, record_id");
  if (!links) return std::unexpected(links.error());
  (*links)->bind(1, message_id);
  while ((*links)->step()) out.records.emplace_back((*links)->text(0), (*links)->int64(1));
  if ((*links)->error()) return std::unexpected(*(*links)->error());
  return out;
}

Result<std::optional<Id>> SqliteStore::find_message(Id lab, std::string_view sender,
                                                    std::string_view control_id) {
  std::lock_guard lock(mu_);
  // The same index and scope as the dedupe check of store_messages (write.cpp).
  std::string control =
      keyring_.blind_indexer().index("msh-10", static_cast<std::uint64_t>(lab),
                                     std::string(sender) + '\x1f' + std::string(control_id));
  auto s = db_->prepare(
      "SELECT id FROM inbound_messages WHERE lab_id = ? AND sender = ? AND control_index = ?");
  if (!s) return std::unexpected(s.error());
  (*s)->bind(1, lab).bind_text(2, sender).bind_blob(3, control);
  if ((*s)->step()) {
    Id id = (*s)->int64(0);
    (*s)->reset();
    return id;
  }
  if ((*s)->error()) return std::unexpected(*(*s)->error());
  return std::optional<Id>();
}

}  // namespace labvault::store::sqlite::internal
