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
  Result<Id> patient_of(Id lab, std::string_view kind, Id id) override;
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

  // --- access.cpp
  Result<Id> add_care_assignment(const CareAssignment& a) override;
  Result<bool> has_care_relationship(Id user, Id lab, Id patient, std::int64_t now_us) override;
  Result<void> link_patient(Id user, Id lab, Id patient, std::string_view linked_by) override;
  Result<Id> linked_patient(Id user, Id lab) override;
  Result<Id> add_grant(const AccessGrant& g) override;
  Result<std::vector<AccessGrant>> active_grants(Id user, Id lab, Id patient,
                                                 std::int64_t now_us) override;
  Result<std::vector<AccessGrant>> break_glass_grants(Id lab, bool all) override;
  Result<void> review_grant(Id lab, Id grant, std::string_view reviewer,
                            std::string_view disposition, std::int64_t now_us) override;

  // --- identity.cpp
  Result<Id> create_user(const UserRecord& user) override;
  Result<std::optional<UserRecord>> find_user(std::string_view username) override;
  Result<UserRecord> read_user(Id user) override;
  Result<std::vector<UserRecord>> list_users(std::optional<Id> lab) override;
  Result<void> update_user(Id user, const UserChanges& changes) override;
  Result<void> set_membership(Id user, Id lab, std::string_view role,
                              std::string_view department) override;
  Result<int> count_failed_login(Id user, int max_failures, std::int64_t lock_until_us,
                                 std::int64_t now_us) override;
  Result<bool> count_successful_login(Id user, std::int64_t now_us) override;
  Result<bool> accept_totp_step(Id user, std::int64_t step) override;
  Result<void> replace_recovery_codes(Id user, const std::vector<std::string>& hashes) override;
  Result<bool> use_recovery_code(Id user, std::string_view hash, std::int64_t now_us) override;
  Result<void> create_session(const SessionRecord& session) override;
  Result<std::optional<SessionRecord>> find_session(std::string_view token_hash) override;
  Result<void> update_session(const SessionRecord& session) override;
  Result<int> end_user_sessions(Id user, std::string_view reason, std::int64_t now_us) override;
  Result<Id> create_client(const ClientRecord& client) override;
  Result<std::optional<ClientRecord>> find_client(std::string_view client_id) override;
  Result<std::vector<ClientRecord>> list_clients(std::optional<Id> lab) override;
  Result<void> revoke_client(Id client, std::int64_t now_us) override;
  Result<bool> use_assertion_id(Id client, std::string_view jti_hash, std::int64_t expires_us,
                                std::int64_t now_us) override;
  Result<void> create_access_token(const AccessTokenRecord& t) override;
  Result<std::optional<AccessTokenRecord>> find_access_token(std::string_view token_hash) override;
  // The system tenant's (lab 0) data key, created on first use when `create` (in a transaction).
  Result<KeyPtr> system_key(bool create);
  [[nodiscard]] std::string username_index(std::string_view username) const;
  Result<UserRecord> user_from(Stmt& s);
  Result<UserRecord> user_by_id(Id id);  // without memberships; the caller holds the lock
  Result<void> read_memberships(UserRecord& u);
  Result<void> write_credentials(Id user, std::string_view password_hash,
                                 std::string_view totp_secret);

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

// Runs a statement without rows; how many rows it changed.
inline Result<int> changed_rows(Db& db, Stmt& stmt) {
  if (auto r = stmt.run(); !r) return std::unexpected(r.error());
  return sqlite3_changes(db.handle());
}

// Runs `body` in a write transaction; on failure everything it did is rolled back and any
// data key it created is dropped from the cache (its id will be reused).
template <typename F>
auto in_transaction(SqliteStore& s, F&& body) -> decltype(body()) {
  auto tx = Transaction::begin(*s.db_);
  if (!tx) return std::unexpected(tx.error());
  s.next_ids_.clear();
  s.created_keys_.clear();
  if (auto r = s.refresh_key_cache(); !r) return std::unexpected(r.error());
  auto result = body();
  if (result) {
    if (auto c = tx->commit(); !c) result = std::unexpected(c.error());
  }
  if (!result) s.forget_keys_created_since(0);
  s.created_keys_.clear();
  s.next_ids_.clear();
  return result;
}

}  // namespace labvault::store::sqlite::internal
