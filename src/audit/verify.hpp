// Verification of the whole audit log (`labvault audit verify`) and inclusion proofs of single
// records that a third party checks offline with nothing but the proof file and the public key.
// Invariant: any change, deletion, reordering or truncation of records covered by a checkpoint,
// and any altered or forged checkpoint, ends in a Problem naming the first bad record or
// checkpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/signing.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::audit {

struct Problem {
  std::uint64_t record = 0;      // the first bad record, or 0
  std::uint64_t checkpoint = 0;  // the tree size of the bad checkpoint, or 0
  std::string message;           // no PHI: numbers and what failed
};

struct VerifyReport {
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t published = 0;  // published checkpoints compared
  std::uint64_t uncovered = 0;  // records after the last checkpoint (not yet signed)
  std::optional<Problem> problem;
  [[nodiscard]] bool ok() const { return !problem; }
};

// Recomputes the chain and the tree from every record, checks every checkpoint (signature by
// `key`, root, chain head, order, consistency with the one before by an RFC 9162 consistency
// proof) and every checkpoint of `published` (copies kept outside the database, which also
// catch a truncation that took the database's last checkpoints with it).
[[nodiscard]] model::Result<VerifyReport> verify(
    store::Store& store, const crypto::PublicKey& key,
    const std::vector<store::AuditCheckpoint>& published = {});

// An inclusion proof of record `seq` against the newest checkpoint that covers it, as JSON.
[[nodiscard]] model::Result<std::string> prove(store::Store& store, const crypto::PublicKey& key,
                                               std::uint64_t seq);

struct ProofSummary {
  std::uint64_t record = 0, tree_size = 0;
  std::int64_t checkpoint_time_us = 0;
  std::string key_id;
};
// Checks a proof offline: the checkpoint's signature under the key the proof carries (or under
// `expected_key` when given, which is how a verifier pins the key it trusts) and the path from
// the record's leaf to the signed root.
[[nodiscard]] model::Result<ProofSummary> verify_proof(
    const std::string& proof_json, const std::optional<crypto::PublicKey>& expected_key = {});

}  // namespace labvault::audit
