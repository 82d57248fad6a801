#include "audit/verify.hpp"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "audit/checkpoint.hpp"
#include "audit/event.hpp"
#include "audit/merkle.hpp"
#include "crypto/secret.hpp"

namespace labvault::audit {

using model::ErrorCode;

namespace {

constexpr const char* kProofFormat = "labvault-audit-inclusion-proof/1";

struct Replay {
  MerkleTree tree;
  std::map<std::uint64_t, std::string> chain_at;  // chain hash at each checkpoint size
  std::optional<Problem> problem;
};

// Streams every record once: chain, tree, and the chain heads the checkpoints name.
model::Result<Replay> replay(store::Store& store,
                             const std::vector<store::AuditCheckpoint>& checkpoints) {
  Replay r;
  for (const auto& c : checkpoints) r.chain_at[c.tree_size];
  auto last = store.last_audit();
  if (!last) return std::unexpected(last.error());
  if (*last) r.tree.reserve((*last)->seq);
  Hash chain = chain_start();
  std::uint64_t next = 1;
  std::string scratch;
  auto scanned = store.scan_audit(1, [&](const store::AuditRowView& row) {
    Hash leaf, head;
    if (auto ok = check_record(row, next, chain, leaf, head, scratch); !ok) {
      r.problem = Problem{next, 0, ok.error().message};
      return false;
    }
    r.tree.append(leaf);
    chain = head;
    if (auto it = r.chain_at.find(next); it != r.chain_at.end()) it->second = to_bytes(head);
    ++next;
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return r;
}

std::optional<Problem> check_checkpoint(const Replay& r, const store::AuditCheckpoint& c,
                                        const crypto::PublicKey& key, std::string_view where) {
  auto bad = [&](std::string what) {
    return Problem{0, c.tree_size, fmt::format("{} at tree size {}: {}", where, c.tree_size, what)};
  };
  if (!signature_valid(c, key)) {
    return bad(
        fmt::format("signature does not verify with audit key {} (forged, replaced or "
                    "altered checkpoint; it names key {})",
                    crypto::key_id(key), c.key_id));
  }
  if (c.tree_size == 0) return bad("a checkpoint covers at least one record");
  if (c.tree_size > r.tree.size()) {
    return bad(fmt::format("the log holds only {} records: records were deleted from its end",
                           r.tree.size()));
  }
  auto root = r.tree.root(c.tree_size);
  if (!root || to_bytes(*root) != c.root) {
    return bad(
        fmt::format("records 1..{} do not give the signed root (a record was changed and "
                    "the chain recomputed)",
                    c.tree_size));
  }
  auto it = r.chain_at.find(c.tree_size);
  if (it == r.chain_at.end() || it->second != c.chain) {
    return bad("the chain head differs from the signed one");
  }
  return std::nullopt;
}

}  // namespace

model::Result<VerifyReport> verify(store::Store& store, const crypto::PublicKey& key,
                                   const std::vector<store::AuditCheckpoint>& published) {
  auto checkpoints = store.audit_checkpoints();
  if (!checkpoints) return std::unexpected(checkpoints.error());
  std::vector<store::AuditCheckpoint> all = *checkpoints;
  all.insert(all.end(), published.begin(), published.end());
  auto r = replay(store, all);
  if (!r) return std::unexpected(r.error());
  VerifyReport report;
  report.records = r->tree.size();
  report.checkpoints = checkpoints->size();
  report.published = published.size();
  if (r->problem) {
    report.problem = r->problem;
    return report;
  }
  const store::AuditCheckpoint* previous = nullptr;
  for (const auto& c : *checkpoints) {
    if (auto p = check_checkpoint(*r, c, key, "checkpoint")) {
      report.problem = p;
      return report;
    }
    if (previous) {
      if (c.time_us < previous->time_us) {
        report.problem = Problem{0, c.tree_size,
                                 fmt::format("checkpoint at tree size {} is dated before the one "
                                             "at tree size {}",
                                             c.tree_size, previous->tree_size)};
        return report;
      }
      // RFC 9162 2.1.4: the newer tree extends the older one, checked as a third party would.
      auto proof = r->tree.consistency_proof(previous->tree_size, c.tree_size);
      auto old_root = hash_from_bytes(previous->root);
      auto new_root = hash_from_bytes(c.root);
      if (!proof || !old_root || !new_root ||
          !verify_consistency(previous->tree_size, c.tree_size, *old_root, *new_root, *proof)) {
        report.problem = Problem{0, c.tree_size,
                                 fmt::format("checkpoint at tree size {} is not consistent with "
                                             "the one at tree size {}",
                                             c.tree_size, previous->tree_size)};
        return report;
      }
    }
    previous = &c;
  }
  for (const auto& c : published) {
    if (auto p = check_checkpoint(*r, c, key, "published checkpoint")) {
      report.problem = p;
      return report;
    }
  }
  report.uncovered = report.records - (previous ? previous->tree_size : 0);
  return report;
}

model::Result<std::string> prove(store::Store& store, const crypto::PublicKey& key,
                                 std::uint64_t seq) {
  auto checkpoints = store.audit_checkpoints();
  if (!checkpoints) return std::unexpected(checkpoints.error());
  if (checkpoints->empty() || checkpoints->back().tree_size < seq || seq == 0) {
    return model::fail(ErrorCode::kNotFound,
                       fmt::format("record {} is not covered by a checkpoint yet (run labvault "
                                   "audit checkpoint)",
                                   seq));
  }
  const store::AuditCheckpoint& c = checkpoints->back();
  auto r = replay(store, {c});
  if (!r) return std::unexpected(r.error());
  if (r->problem) {
    return model::fail(ErrorCode::kCrypto, "the log does not verify: " + r->problem->message);
  }
  if (auto p = check_checkpoint(*r, c, key, "checkpoint")) {
    return model::fail(ErrorCode::kCrypto, p->message);
  }
  auto path = r->tree.inclusion_proof(seq - 1, c.tree_size);
  if (!path) return std::unexpected(path.error());
  auto row = store.read_audit(seq, 1);
  if (!row) return std::unexpected(row.error());
  if (row->empty()) return model::fail(ErrorCode::kNotFound, fmt::format("no record {}", seq));
  nlohmann::json hashes = nlohmann::json::array();
  for (const Hash& h : *path) hashes.push_back(to_hex(h));
  const std::string entry = canonical((*row)[0].view());
  nlohmann::json proof = {
      {"format", kProofFormat},
      {"record", seq},
      {"entry",
       crypto::base64_encode({reinterpret_cast<const std::uint8_t*>(entry.data()), entry.size()})},
      {"checkpoint", nlohmann::json::parse(to_published_line(c))},
      {"public_key", crypto::base64_encode(key)},
      {"path", hashes}};
  return proof.dump(2) + "\n";
}

model::Result<ProofSummary> verify_proof(const std::string& proof_json,
                                         const std::optional<crypto::PublicKey>& expected_key) {
  auto bad = [](std::string what) { return model::fail(ErrorCode::kCrypto, std::move(what)); };
  try {
    auto j = nlohmann::json::parse(proof_json);
    if (j.at("format").get<std::string>() != kProofFormat) return bad("not a labvault proof");
    auto seq = j.at("record").get<std::uint64_t>();
    auto c = from_published_line(j.at("checkpoint").dump());
    if (!c) return std::unexpected(c.error());
    auto key_bytes = crypto::base64_decode(j.at("public_key").get<std::string>());
    if (!key_bytes || key_bytes->size() != crypto::kEd25519PublicKeySize) {
      return bad("the proof's public key is malformed");
    }
    crypto::PublicKey key;
    std::memcpy(key.data(), key_bytes->data(), key.size());
    if (expected_key && *expected_key != key) {
      return bad(fmt::format("the proof is signed by key {}, not the expected key {}",
                             crypto::key_id(key), crypto::key_id(*expected_key)));
    }
    if (!signature_valid(*c, key)) return bad("the checkpoint's signature does not verify");
    auto entry = crypto::base64_decode(j.at("entry").get<std::string>());
    if (!entry) return bad("the proof's entry is malformed");
    std::string_view entry_text(reinterpret_cast<const char*>(entry->data()), entry->size());
    // The entry must say it is record `seq`: its header starts with the number.
    if (!entry_text.starts_with(fmt::format("{}\t", seq))) {
      return bad("the entry is not the record the proof names");
    }
    std::vector<Hash> path;
    for (const auto& h : j.at("path")) {
      auto hash = hash_from_hex(h.get<std::string>());
      if (!hash) return bad("the proof's path is malformed");
      path.push_back(*hash);
    }
    auto root = hash_from_bytes(c->root);
    if (!root || seq == 0 ||
        !verify_inclusion(seq - 1, c->tree_size, leaf_hash(entry_text), path, *root)) {
      return bad(fmt::format("record {} is not included in the signed tree of size {}", seq,
                             c->tree_size));
    }
    return ProofSummary{seq, c->tree_size, c->time_us, c->key_id};
  } catch (const nlohmann::json::exception&) {
    return bad("the proof is not valid JSON of the expected shape");
  }
}

}  // namespace labvault::audit
