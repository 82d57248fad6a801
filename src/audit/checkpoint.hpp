// The audit log's integrity primitives besides the tree: the hash chain that links each record to
// the one before, and signed checkpoints (tree size, root, chain head, time) that pin the whole
// log at a moment. Invariant: a checkpoint's signature covers every member except the frontier,
// which the writer only uses to resume and re-derives against the signed root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.hpp"
#include "crypto/signing.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::audit {

// The chain before the first record.
[[nodiscard]] Hash chain_start();
// SHA-256(previous chain || leaf hash of the entry): covers the entry and everything before it.
[[nodiscard]] Hash chain_hash(const Hash& previous, const Hash& leaf);

// What every reader checks of one record given the chain before it: its number and its chain
// hash over the canonical record (columns and details). Gives its leaf and chain hashes;
// `scratch` is a reusable buffer.
[[nodiscard]] model::Result<void> check_record(const store::AuditRowView& row,
                                               std::uint64_t expected_seq,
                                               const Hash& previous_chain, Hash& leaf_out,
                                               Hash& chain_out, std::string& scratch);

[[nodiscard]] std::string to_bytes(const Hash& h);
[[nodiscard]] model::Result<Hash> hash_from_bytes(std::string_view bytes);

// The exact text an Ed25519 checkpoint signature covers.
[[nodiscard]] std::string signed_text(const store::AuditCheckpoint& c);

// Fills root/chain/frontier from the writer's state and signs.
[[nodiscard]] model::Result<store::AuditCheckpoint> make_checkpoint(const CompactTree& tree,
                                                                    const Hash& chain,
                                                                    std::int64_t time_us,
                                                                    const crypto::SigningKey& key);
// Signature and key id check only (the root is checked against the records by the verifier).
[[nodiscard]] bool signature_valid(const store::AuditCheckpoint& c, const crypto::PublicKey& key);
[[nodiscard]] model::Result<CompactTree> frontier_of(const store::AuditCheckpoint& c);

// One line of the published-checkpoints file (JSON, no frontier): a copy outside the database.
[[nodiscard]] std::string to_published_line(const store::AuditCheckpoint& c);
[[nodiscard]] model::Result<store::AuditCheckpoint> from_published_line(std::string_view line);
// Appends a line to `path` (created 0600) and fsyncs it.
[[nodiscard]] model::Result<void> publish(const std::string& path, const store::AuditCheckpoint& c);
[[nodiscard]] model::Result<std::vector<store::AuditCheckpoint>> read_published(
    const std::string& path);

}  // namespace labvault::audit
