// The keyring file: key-encryption keys (KEKs) by version, the blind-index key and the audit
// signing key. It lives outside the data directory with mode 0600; labvault refuses a keyring
// that group or others can read, that is a symlink, or that another user owns. Data keys never
// live here: they are generated per lab and per patient, wrapped by the current KEK and stored
// in the database, so rotating the KEK re-wraps them without touching any ciphertext.
// File format (text, one key per line, base64 values):
//   labvault-keyring 1
//   kek <version> <created UTC ISO 8601> <base64 32 bytes>
//   index <base64 32 bytes>
//   audit-signing <base64 32-byte Ed25519 seed>
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/secret.hpp"
#include "model/error.hpp"

namespace labvault::crypto {

class Keyring {
 public:
  // Creates a new keyring (KEK version 1, an index key, a signing key) at `path`, which must not
  // exist; written with O_EXCL and mode 0600, fsynced.
  [[nodiscard]] static model::Result<Keyring> create(const std::filesystem::path& path,
                                                     std::string_view created_utc);
  // Loads and checks a keyring: permissions (no group/other bits), owner, not a symlink, format.
  [[nodiscard]] static model::Result<Keyring> load(const std::filesystem::path& path);
  // Refuses a keyring that sits inside `data_dir` (a copy of the data must not carry its keys).
  [[nodiscard]] static model::Result<void> check_outside(const std::filesystem::path& keyring,
                                                         const std::filesystem::path& data_dir);

  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;

  // Adds KEK version (newest in the file)+1 and saves the file atomically (unique temp file,
  // fsync, rename) under an exclusive lock on "<keyring>.lock"; the older versions stay so that
  // data keys wrapped by them still open until re-wrapped.
  [[nodiscard]] model::Result<std::uint32_t> add_kek(std::string_view created_utc);
  // Drops an old KEK version (after every data key was re-wrapped); never the current one.
  [[nodiscard]] model::Result<void> retire_kek(std::uint32_t version);

  // Re-reads the file (with the same checks as load) when another process added a KEK version,
  // so a running server follows `labvault keys rotate` without a restart. True if it changed.
  [[nodiscard]] model::Result<bool> reload();
  // reload() when the file's inode, size or mtime changed since this ring read it: a stat per
  // call, cheap enough before every new data key so that keys are wrapped by the newest KEK.
  [[nodiscard]] model::Result<bool> reload_if_changed();

  [[nodiscard]] std::uint32_t current_kek_version() const;
  [[nodiscard]] std::vector<std::uint32_t> kek_versions() const;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Wraps a data key under the current KEK, bound to the key's id and owner (`context`), e.g.
  // "lab:3" or "patient:3:17", so a wrapped key copied to another row does not unwrap.
  [[nodiscard]] model::Result<std::string> wrap(const SecretBytes& data_key, std::uint64_t key_id,
                                                std::string_view context) const;
  // Unwraps with whichever KEK version wrapped it; kKey if that version is gone.
  [[nodiscard]] model::Result<SecretBytes> unwrap(std::string_view wrapped, std::uint64_t key_id,
                                                  std::string_view context) const;
  // The KEK version that wrapped a data key (to find keys that still need re-wrapping).
  [[nodiscard]] static model::Result<std::uint32_t> wrapped_by(std::string_view wrapped);

  [[nodiscard]] const BlindIndexer& blind_indexer() const { return indexer_; }
  [[nodiscard]] const SecretBytes& audit_signing_seed() const { return signing_seed_; }

 private:
  Keyring() = default;
  [[nodiscard]] model::Result<void> save() const;
  std::filesystem::path path_;
  std::map<std::uint32_t, AeadKey> keks_;
  std::map<std::uint32_t, SecretBytes> kek_raw_;  // to write the file back on rotation
  std::map<std::uint32_t, std::string> kek_created_;
  SecretBytes index_key_;
  BlindIndexer indexer_;
  SecretBytes signing_seed_;
  struct FileIdentity {
    ino_t inode = 0;
    std::int64_t mtime_s = 0, mtime_ns = 0;
    off_t size = 0;
    bool operator==(const FileIdentity&) const = default;
  } identity_;
};

}  // namespace labvault::crypto
