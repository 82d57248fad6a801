// Data keys (per lab, per patient), their cache, and sealing with table/column/row/lab binding.
#include <fmt/format.h>

#include "store/codec.hpp"
#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

namespace {

std::string wrap_context(std::string_view owner, Id lab, Id patient) {
  return fmt::format("{}:{}:{}", owner, lab, patient);
}

// Measured ~3.3 KiB each (the key and its two GCM contexts): a bound of ~13 MiB. Keys in use are
// held by shared_ptr, so clearing the map never pulls one from under a writer or reader.
constexpr std::size_t kKeyCacheLimit = 4096;

}  // namespace

Result<KeyPtr> SqliteStore::new_data_key(Id lab, std::string_view owner, Id patient) {
  auto id = next_id("data_keys");
  if (!id) return std::unexpected(id.error());
  // Wrap under the newest KEK in the file, not the one this process started with: a rotation
  // elsewhere must not be undone by keys created afterwards (and then retired from under them).
  if (auto r = keyring_.reload_if_changed(); !r) return std::unexpected(r.error());
  auto raw = crypto::random_key(crypto::kKeySize);
  if (!raw) return std::unexpected(raw.error());
  auto wrapped =
      keyring_.wrap(*raw, static_cast<std::uint64_t>(*id), wrap_context(owner, lab, patient));
  if (!wrapped) return std::unexpected(wrapped.error());
  auto stmt = db_->prepare(
      "INSERT INTO data_keys (id, lab_id, owner, patient_id, version, kek_version, wrapped, "
      "created_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, *id).bind(2, lab).bind_text(3, owner);
  if (owner == "patient") (*stmt)->bind(4, patient);
  (*stmt)
      ->bind(5, static_cast<std::int64_t>(keyring_.current_kek_version()))
      .bind_blob(6, *wrapped)
      .bind(7, clock_());
  if (auto r = (*stmt)->run(); !r) return std::unexpected(r.error());
  auto key = crypto::AeadKey::make({static_cast<std::uint64_t>(*id), 1}, std::move(*raw));
  if (!key) return std::unexpected(key.error());
  auto ptr = std::make_shared<const crypto::AeadKey>(std::move(*key));
  // Ingest of new patients only ever creates keys: the bound must hold here too.
  if (keys_.size() >= kKeyCacheLimit) keys_.clear();
  keys_[*id] = ptr;
  created_keys_.push_back(*id);
  return ptr;
}

Result<KeyPtr> SqliteStore::data_key(Id key_id) {
  if (auto it = keys_.find(key_id); it != keys_.end()) return it->second;
  auto stmt = db_->prepare(
      "SELECT lab_id, owner, coalesce(patient_id, 0), version, wrapped FROM data_keys WHERE id = "
      "?");
  if (!stmt) return std::unexpected(stmt.error());
  Stmt& s = **stmt;
  s.bind(1, key_id);
  if (!s.step()) {
    if (s.error()) return std::unexpected(*s.error());
    return model::fail(ErrorCode::kKey, fmt::format("data key {} does not exist", key_id));
  }
  if (s.is_null(4)) {
    s.reset();
    return model::fail(
        ErrorCode::kKey,
        fmt::format("data key {} was shredded: its records can no longer be read", key_id));
  }
  std::uint32_t version = static_cast<std::uint32_t>(s.int64(3));
  std::string wrapped(s.blob(4));
  std::string context = wrap_context(s.text(1), s.int64(0), s.int64(2));
  s.reset();
  auto raw = keyring_.unwrap(wrapped, static_cast<std::uint64_t>(key_id), context);
  if (!raw && raw.error().code == ErrorCode::kKey) {
    // Wrapped by a KEK this process has not seen: `keys rotate` ran elsewhere.
    auto reloaded = keyring_.reload();
    if (!reloaded) return std::unexpected(reloaded.error());
    if (*reloaded) raw = keyring_.unwrap(wrapped, static_cast<std::uint64_t>(key_id), context);
  }
  if (!raw) return std::unexpected(raw.error());
  auto key = crypto::AeadKey::make({static_cast<std::uint64_t>(key_id), version}, std::move(*raw));
  if (!key) return std::unexpected(key.error());
  if (keys_.size() >= kKeyCacheLimit) keys_.clear();
  auto ptr = std::make_shared<const crypto::AeadKey>(std::move(*key));
  keys_[key_id] = ptr;
  return ptr;
}

Result<Id> SqliteStore::lab_key_id(Id lab) {
  auto stmt = db_->prepare(
      "SELECT id FROM data_keys WHERE lab_id = ? AND owner = 'lab' ORDER BY version DESC LIMIT 1");
  if (!stmt) return std::unexpected(stmt.error());
  (*stmt)->bind(1, lab);
  if (!(*stmt)->step()) {
    if ((*stmt)->error()) return std::unexpected(*(*stmt)->error());
    return model::fail(ErrorCode::kNotFound, fmt::format("lab {} not found", lab));
  }
  Id id = (*stmt)->int64(0);
  (*stmt)->reset();
  return id;
}

void SqliteStore::forget_keys_created_since(std::size_t mark) {
  for (std::size_t i = mark; i < created_keys_.size(); ++i) keys_.erase(created_keys_[i]);
  created_keys_.resize(mark);
}

Result<void> SqliteStore::refresh_key_cache() {
  auto version = db_->scalar("PRAGMA data_version");
  if (!version) return std::unexpected(version.error());
  if (*version != data_version_) {
    keys_.clear();
    data_version_ = *version;
  }
  return {};
}

Result<void> SqliteStore::seal_into(std::string& out, const crypto::AeadKey& key, const Slot& slot,
                                    std::string_view plain) {
  aad_.clear();
  fmt::format_to(std::back_inserter(aad_), "{}\x1f{}\x1f{}\x1f{}", slot.table, slot.column,
                 slot.row, slot.lab);
  return key.seal(plain, aad_, out);
}

Result<std::string> SqliteStore::open(const Slot& slot, std::string_view sealed) {
  auto ref = crypto::sealed_key_ref(sealed);
  if (!ref) return std::unexpected(ref.error());
  auto key = data_key(static_cast<Id>(ref->id));
  if (!key) return std::unexpected(key.error());
  aad_.clear();
  fmt::format_to(std::back_inserter(aad_), "{}\x1f{}\x1f{}\x1f{}", slot.table, slot.column,
                 slot.row, slot.lab);
  auto plain = (*key)->open(sealed, aad_);
  if (!plain) {
    model::Error e = plain.error();
    e.message = fmt::format("{}.{} row {}: {}", slot.table, slot.column, slot.row, e.message);
    return std::unexpected(e);
  }
  return plain;
}

Result<Id> SqliteStore::next_id(std::string_view table) {
  auto it = next_ids_.find(std::string(table));
  if (it == next_ids_.end()) {
    // Table names come from this adapter's code, never from input.
    auto max = db_->scalar(fmt::format("SELECT coalesce(max(id), 0) FROM {}", table));
    if (!max) return std::unexpected(max.error());
    it = next_ids_.emplace(std::string(table), *max + 1).first;
  }
  return it->second++;
}

template <typename T>
Result<T> SqliteStore::open_decoded(const Slot& slot, std::string_view sealed) {
  auto plain = open(slot, sealed);
  if (!plain) return std::unexpected(plain.error());
  T value;
  auto decoded = codec::decode(*plain, value);
  crypto::wipe(*plain);
  if (!decoded) {
    return model::fail(ErrorCode::kStorage, fmt::format("{}.{} row {}: {}", slot.table, slot.column,
                                                        slot.row, decoded.error().message));
  }
  return value;
}

template Result<model::Patient> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::Encounter> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::Order> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::Report> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::Specimen> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::Observation> SqliteStore::open_decoded(const Slot&, std::string_view);
template Result<model::ObservationVersion> SqliteStore::open_decoded(const Slot&, std::string_view);

}  // namespace labvault::store::sqlite::internal
