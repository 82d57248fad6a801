#include "crypto/keyring.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

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
  std::error_code ec, ec2;
  fs::path k = fs::weakly_canonical(fs::absolute(keyring), ec);
  fs::path d = fs::weakly_canonical(fs::absolute(data_dir), ec2);
  if (ec || ec2 || k.empty() || d.empty()) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("cannot resolve keyring {} or data directory {}",
                                   keyring.string(), data_dir.string()));
  }
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

namespace {

// Splits a line into at most 4 space-separated words, as views into the line (no copies of key
// material).
std::array<std::string_view, 4> words_of(std::string_view line) {
  std::array<std::string_view, 4> out{};
  std::size_t n = 0;
  while (!line.empty() && n < out.size()) {
    std::size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    std::size_t end = line.find(' ');
    out[n++] = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  return out;
}

// Serializes access to the keyring file between processes (two `keys rotate` at once, or a
// rotate and a retire): an exclusive flock on a sidecar lock file, released on destruction.
class FileLock {
 public:
  static model::Result<FileLock> take(const fs::path& keyring) {
    fs::path lock = keyring;
    lock += ".lock";
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      if (fd >= 0) ::close(fd);
      return std::unexpected(key_error(
          fmt::format("cannot lock keyring {}: {}", keyring.string(), std::strerror(errno))));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

model::Result<Keyring> Keyring::load(const fs::path& path) {
  auto content = read_checked(path);
  if (!content) return std::unexpected(content.error());
  Keyring ring;
  ring.path_ = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    ring.identity_ = {st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
  }
  int number = 0;
  bool magic = false, index = false, signing = false;
  auto bad = [&](std::string why) -> model::Result<void> {
    return std::unexpected(
        key_error(fmt::format("keyring {} line {}: {}", path.string(), number, why)));
  };
  model::Result<void> ok;
  std::string_view rest = *content;
  while (ok && !rest.empty()) {
    std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (!magic) {
      if (line != kMagic) ok = bad(fmt::format("expected '{}' (not a labvault keyring)", kMagic));
      magic = true;
      continue;
    }
    auto [kind, a, b, c] = words_of(line);
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
        ring.kek_created_[version] = std::string(b);
      }
    } else if (kind == "index" || kind == "audit-signing") {
      auto key = decode_key(a, number, path);
      if (!key) {
        ok = std::unexpected(key.error());
      } else if (kind == "index") {
        auto indexer = BlindIndexer::make(key->clone());
        if (!indexer) {
          ok = std::unexpected(indexer.error());
        } else {
          ring.indexer_ = std::move(*indexer);
          ring.index_key_ = std::move(*key);
          index = true;
        }
      } else {
        ring.signing_seed_ = std::move(*key);
        signing = true;
      }
    } else {
      // Not echoed: a wrapped base64 line would put key material into the message.
      ok = bad("unknown entry (expected kek, index or audit-signing)");
    }
  }
  wipe(*content);
  if (!ok) return std::unexpected(ok.error());
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
  std::string text;
  text.reserve(4096);  // one buffer for all key lines: no reallocation leaves unwiped copies
  auto line = [&]<typename... Args>(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(text), f, std::forward<Args>(args)...);
  };
  line(
      "{}\n# labvault keys. Mode 0600, outside the data directory; back it up apart from the "
      "data.\n# Losing this file loses every record; never edit it by hand.\n",
      kMagic);
  auto put_key = [&](std::string_view prefix, const SecretBytes& key) {
    std::string b64 = base64_encode(key.span());
    line("{} {}\n", prefix, b64);
    wipe(b64);
  };
  // Serialization needs the raw KEKs; AeadKey does not expose them, so the ring keeps copies.
  for (const auto& [version, raw] : kek_raw_) {
    put_key(fmt::format("kek {} {}", version, kek_created_.at(version)), raw);
  }
  put_key("index", index_key_);
  put_key("audit-signing", signing_seed_);

  // A unique temp name in the same directory (rename must not cross filesystems), created
  // exclusively: a concurrent writer never shares or truncates our file.
  std::string tmp = path_.string() + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    wipe(text);
    return model::fail(ErrorCode::kKey, fmt::format("cannot write next to keyring {}: {}",
                                                    path_.string(), std::strerror(errno)));
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
  auto lock = FileLock::take(path_);
  if (!lock) return std::unexpected(lock.error());
  // The file, not this process's memory, says which versions exist: another rotation may have
  // added one since this ring was loaded.
  if (auto r = reload(); !r) return std::unexpected(r.error());
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
  if (auto r = reload(); !r) return std::unexpected(r.error());
  return version;
}

model::Result<void> Keyring::retire_kek(std::uint32_t version) {
  auto lock = FileLock::take(path_);
  if (!lock) return std::unexpected(lock.error());
  if (auto r = reload(); !r) return std::unexpected(r.error());
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
  if (auto r = reload(); !r) return std::unexpected(r.error());
  return {};
}

model::Result<bool> Keyring::reload() {
  auto fresh = load(path_);
  if (!fresh) return std::unexpected(fresh.error());
  // A version this process knows must have the same bytes in the file; anything else means two
  // keyrings claim one version, and wrapping under either would strand keys.
  for (const auto& [version, raw] : kek_raw_) {
    auto it = fresh->kek_raw_.find(version);
    if (it != fresh->kek_raw_.end() && !(it->second == raw)) {
      return model::fail(ErrorCode::kKey,
                         fmt::format("keyring {}: KEK version {} in the file differs from the one "
                                     "this process loaded; refusing to use either",
                                     path_.string(), version));
    }
  }
  bool changed = fresh->kek_versions() != kek_versions();
  *this = std::move(*fresh);
  return changed;
}

model::Result<bool> Keyring::reload_if_changed() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("keyring {} is gone: {}", path_.string(), std::strerror(errno)));
  }
  FileIdentity now{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
  if (now == identity_) return false;
  return reload();
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
