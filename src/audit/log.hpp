// The audit log writer: the one way anything in labvault records an audit event. Records are
// chained, added to the Merkle tree and appended through the Store in one transaction (a batch
// from concurrent callers shares it: group commit); a signed checkpoint follows every N records,
// every T seconds and at close.
// Invariant (fail closed): when record() or audited() returns an error, the event is not in the
// log and the audited operation's result must not be released.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/event.hpp"
#include "audit/merkle.hpp"
#include "crypto/keyring.hpp"
#include "crypto/signing.hpp"
#include "store/store.hpp"

namespace labvault::audit {

struct LogOptions {
  std::uint64_t checkpoint_every = 10000;            // records
  std::int64_t checkpoint_interval_us = 60'000'000;  // and at least this often while writing
  std::string publish_file;  // optional: every checkpoint is also appended here (a copy that
                             // outlives the database), e.g. on another volume or a syslog pipe
  std::string node;          // this node's name, filled into events that name none
  store::Clock clock = store::system_now_us;
};

class Log {
 public:
  // Resumes from the last checkpoint: checks its signature and re-chains every record after it;
  // a log that does not verify there is refused (appending would sign over tampering).
  [[nodiscard]] static model::Result<std::unique_ptr<Log>> open(store::Store& store,
                                                                const crypto::Keyring& keyring,
                                                                LogOptions options = {});
  ~Log();  // close(), errors ignored: call close() to see them
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Records events durably and returns the last record number. Thread-safe; callers that arrive
  // while a write is in progress are committed together with one fsync.
  [[nodiscard]] model::Result<std::uint64_t> record(const Event& event);
  [[nodiscard]] model::Result<std::uint64_t> record(std::span<const Event> events);

  // The call-site pattern for reads and other operations whose result leaves the process: runs
  // `op`, records `event` with op's outcome, and hands op's value back only if the record was
  // written. `op` returns model::Result<T>; a failed op is recorded as an error (or as denied
  // when its error is kNotFound-as-policy, set by the caller in event.outcome beforehand).
  template <typename Op>
  auto audited(Event event, Op&& op) -> decltype(op());

  // For writes whose audit records must commit in the same transaction (ingest: "AA means the
  // message and its audit record are on disk"). `write` receives the Store hook and performs the
  // store call, e.g. `[&](const auto& hook) { return store.store_messages(lab, batch, hook); }`;
  // the hook asks `events_for` which events the write's outcomes make. Such events carry no free
  // text. Serialized with every other write of this log.
  using EventsFor = std::function<std::vector<Event>(std::span<const store::Outcome>)>;
  template <typename Write>
  auto record_with(const EventsFor& events_for, Write&& write)
      -> decltype(write(store::AuditRowsFor{}));

  // Signs a checkpoint now if any record is not yet covered by one (catching up with records
  // other processes appended, whose chain it checks first).
  [[nodiscard]] model::Result<void> checkpoint();
  // checkpoint() if the interval has passed since the last one (a server's timer calls this, so
  // records written just before a quiet spell do not stay unsigned).
  [[nodiscard]] model::Result<void> checkpoint_if_due();
  // Final checkpoint if this log wrote anything; further record() calls fail.
  [[nodiscard]] model::Result<void> close();

  [[nodiscard]] std::uint64_t size() const;
  // Records not yet covered by a signed checkpoint (the checkpoint lag, for /metrics).
  [[nodiscard]] std::uint64_t unsigned_records() const;
  [[nodiscard]] const crypto::PublicKey& public_key() const { return key_.public_key(); }

 private:
  Log(store::Store& store, crypto::SigningKey key, LogOptions options);
  [[nodiscard]] model::Result<void> resume();  // from the store's last checkpoint and records
  // The rest run with write_mu_ held.
  [[nodiscard]] model::Result<void> write(std::span<const Event* const> events);
  // Chains `events` after (tree, chain), advancing both. Seals private details if `may_seal`.
  [[nodiscard]] model::Result<std::vector<store::AuditRow>> build_rows(
      std::span<const Event* const> events, CompactTree& tree, Hash& chain, bool may_seal);
  // After a failed append: whether another process had appended (the state is then resumed).
  // Checks the store still holds what this log wrote and chains in records other processes
  // appended; true if there were any. Deleted or changed records poison the log.
  [[nodiscard]] model::Result<bool> sync_with_store();
  [[nodiscard]] model::Result<void> catch_up(CompactTree& tree, Hash& chain);
  std::unexpected<model::Error> poison(model::Error e);
  void advance(CompactTree tree, const Hash& chain);  // after a commit; checkpoints if due
  [[nodiscard]] model::Result<void> checkpoint_locked();
  [[nodiscard]] bool checkpoint_due() const;

  store::Store& store_;
  crypto::SigningKey key_;
  LogOptions options_;

  mutable std::mutex write_mu_;  // one writer: the chain head and the tree
  CompactTree tree_;
  Hash chain_{};
  std::uint64_t checkpointed_size_ = 0;
  std::int64_t checkpointed_at_us_ = 0;
  std::optional<store::AuditCheckpoint> pending_publish_;  // signed, not yet in publish_file
  std::optional<model::Error> poisoned_;  // tampering seen: no more writes, no signatures
  bool wrote_any_ = false;
  bool closed_ = false;

  // Group commit: events queue here while a leader writes; the next leader takes them all.
  struct Pending;
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending*> queue_;
  bool writing_ = false;
};

template <typename Write>
auto Log::record_with(const EventsFor& events_for, Write&& write)
    -> decltype(write(store::AuditRowsFor{})) {
  std::lock_guard lock(write_mu_);
  if (closed_) return model::fail(model::ErrorCode::kUsage, "the audit log is closed");
  if (poisoned_) return std::unexpected(*poisoned_);
  for (int attempt = 0;; ++attempt) {
    CompactTree tree;
    Hash chain{};
    store::AuditRowsFor hook = [&](std::span<const store::Outcome> outcomes) {
      tree = tree_;
      chain = chain_;
      std::vector<Event> events = events_for(outcomes);
      std::vector<const Event*> pointers;
      for (const Event& e : events) pointers.push_back(&e);
      return build_rows(pointers, tree, chain, false);
    };
    auto result = write(hook);
    if (result) {
      advance(std::move(tree), chain);
      return result;
    }
    auto moved_on = sync_with_store();
    if (!moved_on) return std::unexpected(moved_on.error());
    if (!*moved_on || attempt >= 3) return result;
  }
}

template <typename Op>
auto Log::audited(Event event, Op&& op) -> decltype(op()) {
  auto result = op();
  if (!result && event.outcome == Outcome::kSuccess) {
    event.outcome = Outcome::kError;
    event.outcome_detail = detail_code(model::to_string(result.error().code));
  }
  if (auto r = record(event); !r) return std::unexpected(r.error());
  return result;
}

}  // namespace labvault::audit
