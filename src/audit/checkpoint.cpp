#include "audit/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/event.hpp"
#include "crypto/secret.hpp"

namespace labvault::audit {

using model::ErrorCode;

namespace {

std::string b64(std::string_view s) {
  return crypto::base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

model::Result<std::string> unb64(std::string_view s) {
  auto bytes = crypto::base64_decode(s);
  if (!bytes) return std::unexpected(bytes.error());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

}  // namespace

Hash chain_start() { return Hash{}; }

Hash chain_hash(const Hash& previous, const Hash& leaf) {
  auto bytes = [](const Hash& h) {
    return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
  };
  return sha256_of({bytes(previous), bytes(leaf)});
}

// The checks every reader of the log makes of one record against the one before it.
model::Result<void> check_record(const store::AuditRowView& row, std::uint64_t expected_seq,
                                 const Hash& previous_chain, Hash& leaf_out, Hash& chain_out,
                                 std::string& scratch) {
  if (row.seq != expected_seq) {
    return model::fail(ErrorCode::kCrypto,
                       fmt::format("audit record {} is missing (the log goes on at record {})",
                                   expected_seq, row.seq));
  }
  if (!row.well_typed || !parse_action(row.action) || !parse_outcome(row.outcome)) {
    return model::fail(
        ErrorCode::kCrypto,
        fmt::format("audit record {}: a column holds a value of the wrong type or an "
                    "unknown action or outcome",
                    row.seq));
  }
  canonical(row, scratch);
  leaf_out = leaf_hash(scratch);
  chain_out = chain_hash(previous_chain, leaf_out);
  if (row.chain.size() != kHashSize ||
      std::memcmp(row.chain.data(), chain_out.data(), kHashSize) != 0) {
    return model::fail(ErrorCode::kCrypto,
                       fmt::format("audit record {}: its columns or details do not match its "
                                   "chain hash (changed, replaced or reordered)",
                                   row.seq));
  }
  return {};
}

std::string to_bytes(const Hash& h) { return std::string(h.begin(), h.end()); }

model::Result<Hash> hash_from_bytes(std::string_view bytes) {
  if (bytes.size() != kHashSize) {
    return model::fail(ErrorCode::kParse, fmt::format("a hash has 32 bytes, not {}", bytes.size()));
  }
  Hash h;
  std::memcpy(h.data(), bytes.data(), kHashSize);
  return h;
}

std::string signed_text(const store::AuditCheckpoint& c) {
  auto hex = [](std::string_view bytes) {
    auto h = hash_from_bytes(bytes);
    return h ? to_hex(*h) : std::string("invalid");
  };
  return fmt::format(
      "labvault audit checkpoint v1\ntree_size={}\ntime_us={}\nroot={}\nchain={}\nkey_id={}\n",
      c.tree_size, c.time_us, hex(c.root), hex(c.chain), c.key_id);
}

model::Result<store::AuditCheckpoint> make_checkpoint(const CompactTree& tree, const Hash& chain,
                                                      std::int64_t time_us,
                                                      const crypto::SigningKey& key) {
  store::AuditCheckpoint c;
  c.tree_size = tree.size();
  c.time_us = time_us;
  c.root = to_bytes(tree.root());
  c.chain = to_bytes(chain);
  c.key_id = crypto::key_id(key.public_key());
  for (const Hash& h : tree.frontier()) c.frontier += to_bytes(h);
  auto sig = key.sign(signed_text(c));
  if (!sig) return std::unexpected(sig.error());
  c.signature = std::move(*sig);
  return c;
}

bool signature_valid(const store::AuditCheckpoint& c, const crypto::PublicKey& key) {
  return c.key_id == crypto::key_id(key) &&
         crypto::verify_signature(key, signed_text(c), c.signature);
}

model::Result<CompactTree> frontier_of(const store::AuditCheckpoint& c) {
  if (c.frontier.size() % kHashSize != 0) {
    return model::fail(ErrorCode::kParse,
                       fmt::format("checkpoint {}: frontier is not whole hashes", c.tree_size));
  }
  std::vector<Hash> hashes;
  for (std::size_t at = 0; at < c.frontier.size(); at += kHashSize) {
    hashes.push_back(*hash_from_bytes(std::string_view(c.frontier).substr(at, kHashSize)));
  }
  auto tree = CompactTree::restore(c.tree_size, std::move(hashes));
  if (!tree) return std::unexpected(tree.error());
  if (to_bytes(tree->root()) != c.root) {
    return model::fail(
        ErrorCode::kCrypto,
        fmt::format("checkpoint {}: frontier does not give the signed root", c.tree_size));
  }
  return tree;
}

std::string to_published_line(const store::AuditCheckpoint& c) {
  nlohmann::json j = {{"tree_size", c.tree_size}, {"time_us", c.time_us},
                      {"root", b64(c.root)},      {"chain", b64(c.chain)},
                      {"key_id", c.key_id},       {"signature", b64(c.signature)}};
  return j.dump();
}

model::Result<store::AuditCheckpoint> from_published_line(std::string_view line) {
  try {
    auto j = nlohmann::json::parse(line);
    store::AuditCheckpoint c;
    c.tree_size = j.at("tree_size").get<std::uint64_t>();
    c.time_us = j.at("time_us").get<std::int64_t>();
    c.key_id = j.at("key_id").get<std::string>();
    for (auto [field, name] : {std::pair{&c.root, "root"}, std::pair{&c.chain, "chain"},
                               std::pair{&c.signature, "signature"}}) {
      auto bytes = unb64(j.at(name).get<std::string>());
      if (!bytes) return std::unexpected(bytes.error());
      *field = std::move(*bytes);
    }
    return c;
  } catch (const nlohmann::json::exception&) {
    return model::fail(ErrorCode::kParse, "not a published checkpoint line");
  }
}

model::Result<void> publish(const std::string& path, const store::AuditCheckpoint& c) {
  std::string line = to_published_line(c) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return model::fail(ErrorCode::kIo, fmt::format("cannot open {} to publish a checkpoint: {}",
                                                   path, std::strerror(errno)));
  }
  // A pipe or socket (a syslog relay) cannot be fsynced; a file must be.
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            (::fsync(fd) == 0 || errno == EINVAL);
  int saved = errno;
  ::close(fd);
  if (!ok) {
    return model::fail(ErrorCode::kIo, fmt::format("cannot publish a checkpoint to {}: {}", path,
                                                   std::strerror(saved)));
  }
  return {};
}

model::Result<std::vector<store::AuditCheckpoint>> read_published(const std::string& path) {
  std::ifstream in(path);
  if (!in) return model::fail(ErrorCode::kIo, fmt::format("cannot read {}", path));
  std::vector<store::AuditCheckpoint> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto c = from_published_line(line);
    if (!c) {
      return model::fail(ErrorCode::kParse, c.error().message, model::Location{path, n});
    }
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace labvault::audit
