// The Store port: everything labvault keeps, behind one interface that the SQLite adapter
// (store/sqlite) implements today and a PostgreSQL adapter can implement later without touching
// callers. Adapters seal every PHI column with the owning patient's (or lab's) data key before it
// reaches the database, and find records through blind indexes, never through clear PHI.
// Invariant: every method is atomic; a failed call leaves nothing half-written.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/lab.hpp"
#include "store/access.hpp"
#include "store/identity.hpp"

namespace labvault::store {

using Id = std::int64_t;
// Microseconds since the Unix epoch, UTC. Injected so that tests control time.
using Clock = std::function<std::int64_t()>;
[[nodiscard]] std::int64_t system_now_us();

struct LabInfo {
  Id id = 0;
  std::string code;  // the operator's short id for the lab tenant
  std::string name;
  bool operator==(const LabInfo&) const = default;
};

// One message to persist, as ingest hands it over after validation and mapping.
struct Inbound {
  std::string sender;      // sending application^facility (MSH-3^MSH-4): the dedupe scope
  std::string control_id;  // MSH-10; unique per sender
  std::string format;      // "hl7", "csv" or "fhir": what `raw` is
  std::string_view raw;    // the bytes as received, kept (sealed) for replay and disputes
  const model::LabMessage* message = nullptr;
  std::optional<Id> import_id;           // the file it came from, if any (conversion history)
  std::vector<std::string> subscribers;  // outbox: who must receive it
};

// What happened to one message of a batch. A rejected message rolled back alone; the rest of
// the batch is committed.
struct Outcome {
  Id message_id = 0;
  Id patient_id = 0;
  bool duplicate = false;  // stored before (same sender and MSH-10): nothing written now
  std::optional<model::Error> error;
};

struct StoredObservation {
  Id id = 0;
  model::Observation observation;  // with its correction history, oldest first
};

struct StoredReport {
  Id id = 0;
  model::Report report;             // observations and specimens filled from their tables
  std::vector<Id> observation_ids;  // parallel to report.observations
  std::vector<Id> specimen_ids;     // parallel to report.specimens
};

struct StoredOrder {
  Id id = 0;
  model::Order order;
  std::vector<Id> specimen_ids;  // parallel to order.specimens
};

struct PatientRecord {
  Id id = 0;
  model::Patient patient;
  std::vector<model::Encounter> encounters;
  std::vector<StoredOrder> orders;
  std::vector<StoredReport> reports;
};

struct ImportInfo {
  Id id = 0;
  std::string kind;    // "hl7", "csv", "fhir"
  std::string source;  // the file name as given (PHI-grade: names sometimes carry a patient)
  std::int64_t started_us = 0, finished_us = 0;
  int messages = 0, errors = 0;
};

// Conversion history of one stored message: the file it came from and the records it touched.
struct Provenance {
  std::optional<ImportInfo> import;
  std::vector<std::pair<std::string, Id>> records;  // (table, id), e.g. ("observations", 12)
};

struct OutboxItem {
  Id id = 0;
  Id lab_id = 0;
  std::string subscriber;
  Id message_id = 0;
  Id patient_id = 0;
  int attempts = 0;
  std::int64_t next_attempt_us = 0;
};

struct KeyStats {
  int lab_keys = 0, patient_keys = 0, shredded = 0;
  std::vector<std::pair<std::uint32_t, int>> by_kek_version;  // live keys per wrapping KEK
};

// A stored audit record without copies (valid during a scan callback only).
struct AuditRowView {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;
  Id lab_id = 0;
  std::string_view actor;
  Id patient_id = 0;
  std::string_view action, outcome, entry, chain;
  bool well_typed = true;  // every column held its declared type (integers, text, blobs)
};

// One audit record as the store keeps it. The audit module builds `entry` (the record's details;
// free text inside is already sealed) and the chain hash; the store only appends and reads. The
// clear columns are part of what is hashed (audit::canonical), so the privacy officer's queries
// use indexes and a changed column breaks the chain like a changed entry.
struct AuditRow {
  std::uint64_t seq = 0;  // 1-based, gap-free
  std::int64_t time_us = 0;
  Id lab_id = 0;      // 0: not about one lab (system administration)
  std::string actor;  // internal id such as "user:12", "client:3", "system"; never a name
  Id patient_id = 0;  // internal id, 0 when no patient
  std::string action, outcome;
  std::string entry;  // the details, compact JSON (see audit/event.hpp)
  std::string chain;  // SHA-256(previous chain || leaf hash of the canonical record), 32 bytes
  bool well_typed = true;
  [[nodiscard]] AuditRowView view() const {
    return {seq, time_us, lab_id, actor, patient_id, action, outcome, entry, chain, well_typed};
  }
};

// A signed statement of the audit tree's size and root at one moment.
struct AuditCheckpoint {
  std::uint64_t tree_size = 0;
  std::int64_t time_us = 0;
  std::string root;       // 32 bytes, RFC 9162 tree hash of records 1..tree_size
  std::string key_id;     // which signing key (crypto::key_id)
  std::string signature;  // Ed25519 over the checkpoint's signed text
  std::string frontier;   // the writer's compact tree state at tree_size (32-byte hashes)
  std::string chain;      // the chain hash of record tree_size
};

// Filters of the privacy officer's questions; unset members do not filter.
struct AuditQuery {
  std::optional<Id> lab, patient;
  std::optional<std::string> actor, action;
  std::optional<std::int64_t> from_us, to_us;  // [from, to)
  std::uint64_t after_seq = 0;                 // paging
  int limit = 1000;
};

// Audit rows that must commit in the same transaction as a write, built from the write's
// outcomes (audit::Log::record_with provides it). Called inside the transaction, after the
// batch's messages; an error rolls everything back.
using AuditRowsFor =
    std::function<model::Result<std::vector<AuditRow>>(std::span<const Outcome> outcomes)>;

class Store : public IdentityStore, public AccessStore {
 public:
  ~Store() override = default;

  // Labs (tenants). Codes are unique. The system tenant (lab 0, identity data) is not a lab:
  // neither listed nor found.
  [[nodiscard]] virtual model::Result<LabInfo> create_lab(std::string_view code,
                                                          std::string_view name) = 0;
  [[nodiscard]] virtual model::Result<std::optional<LabInfo>> find_lab(std::string_view code) = 0;
  [[nodiscard]] virtual model::Result<std::vector<LabInfo>> list_labs() = 0;

  // Persists a batch in one transaction and one fsync (group commit). Per message: dedupe on
  // sender + MSH-10, find or create the patient by identifier, corrections folded into the stored
  // report with history, raw bytes sealed, outbox rows queued; then the rows of `audit` (pass
  // nullptr only where no audit log exists: benchmarks and store tests). An error result means
  // nothing of the batch, and none of its audit rows, was written.
  [[nodiscard]] virtual model::Result<std::vector<Outcome>> store_messages(
      Id lab, std::span<const Inbound> batch, const AuditRowsFor& audit) = 0;

  // Conversion history: a file import and what it produced.
  [[nodiscard]] virtual model::Result<Id> begin_import(Id lab, std::string_view kind,
                                                       std::string_view source) = 0;
  [[nodiscard]] virtual model::Result<void> finish_import(Id lab, Id import_id, int messages,
                                                          int errors) = 0;
  [[nodiscard]] virtual model::Result<Provenance> provenance(Id lab, Id message_id) = 0;

  // Reads. Another lab's ids answer kNotFound, exactly like ids that do not exist.
  // By identifier: assigning authority and value (identifiers stored without an authority are
  // scoped to their sender and are not found this way).
  [[nodiscard]] virtual model::Result<std::vector<Id>> find_patients(
      Id lab, const model::Identifier& identifier) = 0;
  [[nodiscard]] virtual model::Result<std::vector<Id>> find_patients(
      Id lab, const model::HumanName& name, const model::DateTime& birth_date) = 0;
  [[nodiscard]] virtual model::Result<std::vector<Id>> list_patients(Id lab) = 0;
  [[nodiscard]] virtual model::Result<PatientRecord> read_patient(Id lab, Id patient) = 0;
  // The patient a stored record belongs to; `kind` is its FHIR type (Patient, Observation,
  // DiagnosticReport, ServiceRequest, Specimen). kNotFound for another lab's or no such record.
  [[nodiscard]] virtual model::Result<Id> patient_of(Id lab, std::string_view kind, Id id) = 0;
  [[nodiscard]] virtual model::Result<std::string> read_raw_message(Id lab, Id message) = 0;
  // The stored message of a sender with this MSH-10, if any (through the blind index).
  [[nodiscard]] virtual model::Result<std::optional<Id>> find_message(
      Id lab, std::string_view sender, std::string_view control_id) = 0;

  // Outbox (transactional: rows are written with the message). Delivery workers poll it.
  [[nodiscard]] virtual model::Result<std::vector<OutboxItem>> due_deliveries(int limit) = 0;
  [[nodiscard]] virtual model::Result<void> mark_delivered(Id item) = 0;
  [[nodiscard]] virtual model::Result<void> retry_later(Id item, std::int64_t at_us,
                                                        std::string_view error_code) = 0;

  // Keys. Shredding destroys the patient's data key: every sealed value of that patient becomes
  // unreadable everywhere (reads answer kKey "shredded") while other patients are untouched.
  [[nodiscard]] virtual model::Result<void> shred_patient(Id lab, Id patient) = 0;
  // Re-wraps up to `batch` data keys that the current KEK did not wrap; returns how many. Callers
  // loop until 0. Each batch is its own short transaction, so readers never wait long.
  [[nodiscard]] virtual model::Result<int> rewrap_data_keys(int batch) = 0;
  [[nodiscard]] virtual model::Result<KeyStats> key_stats() = 0;
  // Removes an old KEK version from the keyring, atomically with checking (under the database's
  // write lock) that no data key is still wrapped by it.
  [[nodiscard]] virtual model::Result<void> retire_kek(std::uint32_t version) = 0;

  // Audit log: append-only. Rows must continue the stored sequence (seq = last + 1, ...); the
  // batch is one transaction and one fsync, so an error means none of it was recorded.
  [[nodiscard]] virtual model::Result<void> append_audit(std::span<const AuditRow> rows) = 0;
  [[nodiscard]] virtual model::Result<std::vector<AuditRow>> read_audit(std::uint64_t from_seq,
                                                                        std::size_t limit) = 0;
  // Streams records from `from_seq` in order, without copying; `visit` returns false to stop.
  // Holds the store's lock for the scan: for verification, not for request paths.
  [[nodiscard]] virtual model::Result<void> scan_audit(
      std::uint64_t from_seq, const std::function<bool(const AuditRowView&)>& visit) = 0;
  [[nodiscard]] virtual model::Result<std::vector<AuditRow>> query_audit(const AuditQuery& q) = 0;
  [[nodiscard]] virtual model::Result<std::optional<AuditRow>> last_audit() = 0;
  // Refused unless it is larger than every stored checkpoint and no larger than the log.
  [[nodiscard]] virtual model::Result<void> add_audit_checkpoint(const AuditCheckpoint& c) = 0;
  [[nodiscard]] virtual model::Result<std::vector<AuditCheckpoint>> audit_checkpoints() = 0;
  // Free text of an audit record (a break-glass reason may name a patient) sealed with the
  // patient's data key (so shredding the patient shreds it too) or, without a patient, the lab's,
  // bound to the record number, so that it can sit inside the hashed entry.
  [[nodiscard]] virtual model::Result<std::string> seal_audit_text(Id lab, Id patient,
                                                                   std::uint64_t seq,
                                                                   std::string_view text) = 0;
  [[nodiscard]] virtual model::Result<std::string> open_audit_text(Id lab, std::uint64_t seq,
                                                                   std::string_view sealed) = 0;
};

}  // namespace labvault::store
