// The SQLite Store: shared state of the adapter's translation units (keys.cpp, write.cpp,
// read.cpp, sqlite_store.cpp). Every public method takes the mutex: one connection, one writer.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/keyring.hpp"
#include "store/sqlite/internal/db.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace labvault::store::sqlite::internal {

using model::Result;
using KeyPtr = std::shared_ptr<const crypto::AeadKey>;

// Where a sealed value lives: its associated data is "table/column/row/lab".
struct Slot {
  std::string_view table, column;
  Id row = 0, lab = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Db> db, crypto::Keyring& keyring, Clock clock);

  Result<LabInfo> create_lab(std::string_view code, std::string_view name) override;
  Result<std::optional<LabInfo>> find_lab(std::string_view code) override;
  Result<std::vector<LabInfo>> list_labs() override;
  Result<std::vector<Outcome>> store_messages(Id lab, std::span<const Inbound> batch,
                                              const AuditRowsFor& audit) override;
  Result<Id> begin_import(Id lab, std::string_view kind, std::string_view source) override;
  Result<void> finish_import(Id lab, Id import_id, int messages, int errors) override;
  Result<Provenance> provenance(Id lab, Id message_id) override;
  Result<std::vector<Id>> find_patients(Id lab, const model::Identifier& identifier) override;
  Result<std::vector<Id>> find_patients(Id lab, const model::HumanName& name,
                                        const model::DateTime& birth_date) override;
  Result<std::vector<Id>> list_patients(Id lab) override;
  Result<PatientRecord> read_patient(Id lab, Id patient) override;
  Result<std::string> read_raw_message(Id lab, Id message) override;
  Result<std::optional<Id>> find_message(Id lab, std::string_view sender,
                                         std::string_view control_id) override;
  Result<std::vector<OutboxItem>> due_deliveries(int limit) override;
  Result<void> mark_delivered(Id item) override;
  Result<void> retry_later(Id item, std::int64_t at_us, std::string_view error_code) override;
  Result<void> shred_patient(Id lab, Id patient) override;
  Result<int> rewrap_data_keys(int batch) override;
  Result<KeyStats> key_stats() override;
  Result<void> retire_kek(std::uint32_t version) override;
  // --- audit.cpp
  // Inserts rows continuing the stored sequence, inside the caller's transaction.
  Result<void> insert_audit_rows(std::span<const AuditRow> rows);
  Result<void> append_audit(std::span<const AuditRow> rows) override;
  Result<std::vector<AuditRow>> read_audit(std::uint64_t from_seq, std::size_t limit) override;
  Result<void> scan_audit(std::uint64_t from_seq,
                          const std::function<bool(const AuditRowView&)>& visit) override;
  Result<std::vector<AuditRow>> query_audit(const AuditQuery& q) override;
  Result<std::optional<AuditRow>> last_audit() override;
  Result<void> add_audit_checkpoint(const AuditCheckpoint& c) override;
  Result<std::vector<AuditCheckpoint>> audit_checkpoints() override;
  Result<std::string> seal_audit_text(Id lab, Id patient, std::uint64_t seq,
                                      std::string_view text) override;
  Result<std::string> open_audit_text(Id lab, std::uint64_t seq, std::string_view sealed) override;

  // --- keys.cpp
  // A new data key for a lab or a patient, inserted and cached; `id` comes from next_id.
  Result<KeyPtr> new_data_key(Id lab, std::string_view owner, Id patient);
  Result<KeyPtr> data_key(Id key_id);
  Result<Id> lab_key_id(Id lab);
  Result<Id> patient_key_id(Id lab, Id patient);     // audit.cpp
  void forget_keys_created_since(std::size_t mark);  // after a rollback
  // Drops cached keys when another connection committed (a shred elsewhere must take effect).
  Result<void> refresh_key_cache();

  // --- sealing (keys.cpp)
  Result<void> seal_into(std::string& out, const crypto::AeadKey& key, const Slot& slot,
                         std::string_view plain);
  Result<std::string> open(const Slot& slot, std::string_view sealed);

  // --- id allocation inside a write transaction (max(id)+1 under BEGIN IMMEDIATE)
  Result<Id> next_id(std::string_view table);

  // --- write.cpp helpers
  Result<Outcome> store_one(Id lab, const Inbound& in);
  Result<Id> lab_exists(Id lab);

  // --- read.cpp helpers
  template <typename T>
  Result<T> open_decoded(const Slot& slot, std::string_view sealed);

  std::mutex mu_;
  std::unique_ptr<Db> db_;
  crypto::Keyring& keyring_;
  Clock clock_;
  std::unordered_map<Id, KeyPtr> keys_;
  std::vector<Id> created_keys_;  // keys created in the current write transaction
  std::unordered_map<std::string, Id> next_ids_;
  std::int64_t data_version_ = -1;
  std::string aad_;  // reused buffer
};

}  // namespace labvault::store::sqlite::internal
