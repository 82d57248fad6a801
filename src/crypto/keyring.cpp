#include "crypto/keyring.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

namespace labvault::crypto {

using model::ErrorCode;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "labvault-keyring 1";

model::Error key_error(std::string message) {
  return model::Error{ErrorCode::kKey, std::move(message), {}};
}

std::string wrap_aad(std::uint64_t key_id, std::string_view context) {
  return fmt::format("labvault data key\x1f{}\x1f{}", key_id, context);
}

// Writes all of `data` to fd and fsyncs it.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ::fsync(fd) == 0;
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

model::Result<std::string> read_checked(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      return std::unexpected(key_error(fmt::format(
          "keyring {} is a symbolic link; point the config at the file itself", path.string())));
    }
    return std::unexpected(
        key_error(fmt::format("cannot open keyring {}: {}", path.string(), std::strerror(errno))));
  }
  struct stat st {};
  std::string content;
  auto close_fd = [&] { ::close(fd); };
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close_fd();
    return std::unexpected(
        key_error(fmt::format("keyring {} is not a regular file", path.string())));
  }
  if ((st.st_mode & 077) != 0) {
    close_fd();
    return std::unexpected(key_error(fmt::format(
        "keyring {} has mode {:04o}; group and others must have no access (chmod 600 {})",
        path.string(), st.st_mode & 07777, path.string())));
  }
  if (st.st_uid != ::geteuid()) {
    close_fd();
    return std::unexpected(key_error(
        fmt::format("keyring {} belongs to uid {}, not to the user running labvault (uid {})",
                    path.string(), st.st_uid, ::geteuid())));
  }
  content.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < content.size()) {
    ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close_fd();
  if (got != content.size()) {
    wipe(content);
    return std::unexpected(key_error(fmt::format("cannot read keyring {}", path.string())));
  }
  return content;
}

model::Result<SecretBytes> decode_key(std::string_view b64, int line, const fs::path& path) {
  auto key = base64_decode(b64);
  if (!key || key->size() != kKeySize) {
    return std::unexpected(key_error(
        fmt::format("keyring {} line {}: the key is not 32 bytes of base64", path.string(), line)));
  }
  return key;
}

}  // namespace

model::Result<void> Keyring::check_outside(const fs::path& keyring, const fs::path& data_dir) {
  std::error_code ec;
  fs::path k = fs::weakly_canonical(fs::absolute(keyring), ec);
  fs::path d = fs::weakly_canonical(fs::absolute(data_dir), ec);
  auto [dend, kit] = std::mismatch(d.begin(), d.end(), k.begin(), k.end());
  if (dend == d.end()) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("keyring {} is inside the data directory {}; keep it apart so "
                                   "that a copy of the data does not carry its keys",
                                   keyring.string(), data_dir.string()));
  }
  return {};
}

model::Result<Keyring> Keyring::create(const fs::path& path, std::string_view created_utc) {
  Keyring ring;
  ring.path_ = path;
  auto kek = random_key(kKeySize);
  auto index = random_key(kKeySize);
  auto seed = random_key(kKeySize);
  if (!kek || !index || !seed) return std::unexpected(key_error("the random generator failed"));
  ring.kek_raw_.emplace(1, kek->clone());
  auto aead = AeadKey::make({0, 1}, std::move(*kek));
  auto indexer = BlindIndexer::make(index->clone());
  if (!aead || !indexer) return std::unexpected(key_error("could not set up new keys"));
  ring.keks_.emplace(1, std::move(*aead));
  ring.kek_created_[1] = std::string(created_utc);
  ring.index_key_ = std::move(*index);
  ring.indexer_ = std::move(*indexer);
  ring.signing_seed_ = std::move(*seed);

  if (!path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(key_error(
        errno == EEXIST
            ? fmt::format("keyring {} already exists; labvault never overwrites keys",
                          path.string())
            : fmt::format("cannot create keyring {}: {}", path.string(), std::strerror(errno))));
  }
  ::close(fd);
  if (auto r = ring.save(); !r) {
    ::unlink(path.c_str());
    return std::unexpected(r.error());
  }
  return ring;
}

model::Result<Keyring> Keyring::load(const fs::path& path) {
  auto content = read_checked(path);
  if (!content) return std::unexpected(content.error());
  Keyring ring;
  ring.path_ = path;
  std::istringstream in(*content);
  std::string line;
  int number = 0;
  bool magic = false, index = false, signing = false;
  auto bad = [&](std::string why) {
    return std::unexpected(
        key_error(fmt::format("keyring {} line {}: {}", path.string(), number, why)));
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (!magic) {
      if (line != kMagic) {
        wipe(line);
        wipe(*content);
        return bad(fmt::format("expected '{}' (not a labvault keyring)", kMagic));
      }
      magic = true;
      continue;
    }
    std::istringstream words(line);
    std::string kind, a, b, c;
    words >> kind >> a >> b >> c;
    wipe(line);
    model::Result<void> ok;
    if (kind == "kek") {
      std::uint32_t version = 0;
      auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), version);
      if (ec != std::errc{} || p != a.data() + a.size() || version == 0 || c.empty()) {
        ok = bad("expected 'kek <version> <created> <base64 key>'");
      } else if (ring.keks_.contains(version)) {
        ok = bad(fmt::format("KEK version {} appears twice", version));
      } else if (auto key = decode_key(c, number, path); !key) {
        ok = std::unexpected(key.error());
      } else if (auto aead = AeadKey::make({0, version}, key->clone()); !aead) {
        ok = std::unexpected(aead.error());
      } else {
        ring.keks_.emplace(version, std::move(*aead));
        ring.kek_raw_.emplace(version, std::move(*key));
        ring.kek_created_[version] = b;
      }
    } else if (kind == "index" || kind == "audit-signing") {
      auto key = decode_key(a, number, path);
      if (!key) {
        ok = std::unexpected(key.error());
      } else if (kind == "index") {
        auto indexer = BlindIndexer::make(key->clone());
        if (!indexer) return std::unexpected(indexer.error());
        ring.indexer_ = std::move(*indexer);
        ring.index_key_ = std::move(*key);
        index = true;
      } else {
        ring.signing_seed_ = std::move(*key);
        signing = true;
      }
    } else {
      ok = bad(fmt::format("unknown entry '{}'", kind.substr(0, 20)));
    }
    wipe(a);
    wipe(c);
    if (!ok) {
      wipe(*content);
      return std::unexpected(ok.error());
    }
  }
  wipe(*content);
  if (!magic) return std::unexpected(key_error(fmt::format("keyring {} is empty", path.string())));
  if (ring.keks_.empty() || !index || !signing) {
    return std::unexpected(key_error(fmt::format(
        "keyring {} is incomplete: it needs at least one kek, an index key and an audit-signing "
        "key",
        path.string())));
  }
  return ring;
}

model::Result<void> Keyring::save() const {
  std::string text = fmt::format(
      "{}\n# labvault keys. Mode 0600, outside the data directory; back it up apart from the "
      "data.\n# Losing this file loses every record; never edit it by hand.\n",
      kMagic);
  // Serialization needs the raw KEKs; AeadKey does not expose them, so the ring keeps copies.
  for (const auto& [version, raw] : kek_raw_) {
    text +=
        fmt::format("kek {} {} {}\n", version, kek_created_.at(version), base64_encode(raw.span()));
  }
  text += fmt::format("index {}\n", base64_encode(index_key_.span()));
  text += fmt::format("audit-signing {}\n", base64_encode(signing_seed_.span()));

  fs::path tmp = path_;
  tmp += ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    wipe(text);
    return model::fail(ErrorCode::kKey, fmt::format("cannot write keyring {}: {}", tmp.string(),
                                                    std::strerror(errno)));
  }
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text);
  ::close(fd);
  wipe(text);
  if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return model::fail(ErrorCode::kKey, fmt::format("cannot write keyring {}", path_.string()));
  }
  fsync_dir(path_.parent_path());
  return {};
}

model::Result<std::uint32_t> Keyring::add_kek(std::string_view created_utc) {
  std::uint32_t version = current_kek_version() + 1;
  auto raw = random_key(kKeySize);
  if (!raw) return std::unexpected(raw.error());
  auto aead = AeadKey::make({0, version}, raw->clone());
  if (!aead) return std::unexpected(aead.error());
  keks_.emplace(version, std::move(*aead));
  kek_raw_.emplace(version, std::move(*raw));
  kek_created_[version] = std::string(created_utc);
  if (auto r = save(); !r) {
    keks_.erase(version);
    kek_raw_.erase(version);
    kek_created_.erase(version);
    return std::unexpected(r.error());
  }
  return version;
}

model::Result<void> Keyring::retire_kek(std::uint32_t version) {
  if (version == current_kek_version()) {
    return model::fail(ErrorCode::kKey, "the current KEK cannot be retired; rotate first");
  }
  if (!keks_.contains(version)) {
    return model::fail(ErrorCode::kKey, fmt::format("there is no KEK version {}", version));
  }
  auto aead = std::move(keks_.extract(version).mapped());
  auto raw = std::move(kek_raw_.extract(version).mapped());
  std::string created = kek_created_[version];
  kek_created_.erase(version);
  if (auto r = save(); !r) {
    keks_.emplace(version, std::move(aead));
    kek_raw_.emplace(version, std::move(raw));
    kek_created_[version] = created;
    return r;
  }
  return {};
}

model::Result<bool> Keyring::reload() {
  auto fresh = load(path_);
  if (!fresh) return std::unexpected(fresh.error());
  if (fresh->kek_versions() == kek_versions()) return false;
  *this = std::move(*fresh);
  return true;
}

std::uint32_t Keyring::current_kek_version() const {
  return keks_.empty() ? 0 : keks_.rbegin()->first;
}

std::vector<std::uint32_t> Keyring::kek_versions() const {
  std::vector<std::uint32_t> out;
  for (const auto& [v, _] : keks_) out.push_back(v);
  return out;
}

model::Result<std::string> Keyring::wrap(const SecretBytes& data_key, std::uint64_t key_id,
                                         std::string_view context) const {
  if (keks_.empty()) return model::fail(ErrorCode::kKey, "the keyring has no KEK");
  std::string_view plain(reinterpret_cast<const char*>(data_key.data()), data_key.size());
  return keks_.rbegin()->second.seal(plain, wrap_aad(key_id, context));
}

model::Result<SecretBytes> Keyring::unwrap(std::string_view wrapped, std::uint64_t key_id,
                                           std::string_view context) const {
  auto version = wrapped_by(wrapped);
  if (!version) return std::unexpected(version.error());
  auto it = keks_.find(*version);
  if (it == keks_.end()) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("data key {} is wrapped by KEK version {}, which is not in "
                                   "the keyring",
                                   key_id, *version));
  }
  auto plain = it->second.open(wrapped, wrap_aad(key_id, context));
  if (!plain) {
    return model::fail(ErrorCode::kCrypto,
                       fmt::format("data key {} does not unwrap: the wrapped key was altered or "
                                   "moved to another key row",
                                   key_id));
  }
  SecretBytes key(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(plain->data()), plain->size()));
  wipe(*plain);
  return key;
}

model::Result<std::uint32_t> Keyring::wrapped_by(std::string_view wrapped) {
  auto ref = sealed_key_ref(wrapped);
  if (!ref) return std::unexpected(ref.error());
  return ref->version;
}

}  // namespace labvault::crypto
