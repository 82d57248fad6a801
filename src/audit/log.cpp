#include "audit/log.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "audit/checkpoint.hpp"

namespace labvault::audit {

using model::ErrorCode;

namespace {

constexpr std::size_t kResumeChunk = 10000;

}  // namespace

struct Log::Pending {
  std::span<const Event> events;
  model::Result<std::uint64_t> result{0};
  bool done = false;
};

Log::Log(store::Store& store, crypto::SigningKey key, LogOptions options)
    : store_(store), key_(std::move(key)), options_(std::move(options)) {}

Log::~Log() { (void)close(); }

model::Result<std::unique_ptr<Log>> Log::open(store::Store& store, const crypto::Keyring& keyring,
                                              LogOptions options) {
  auto key = crypto::SigningKey::from_seed(keyring.audit_signing_seed());
  if (!key) return std::unexpected(key.error());
  std::unique_ptr<Log> log(new Log(store, std::move(*key), std::move(options)));
  std::lock_guard lock(log->write_mu_);
  if (auto r = log->resume(); !r) return std::unexpected(r.error());
  return log;
}

model::Result<void> Log::catch_up(CompactTree& tree, Hash& chain) {
  std::string scratch;
  for (;;) {
    std::uint64_t from = tree.size() + 1;
    auto rows = store_.read_audit(from, kResumeChunk);
    if (!rows) return std::unexpected(rows.error());
    for (const store::AuditRow& row : *rows) {
      Hash leaf, next;
      if (auto r = check_record(row.view(), tree.size() + 1, chain, leaf, next, scratch); !r) {
        return model::fail(ErrorCode::kCrypto, r.error().message + "; run labvault audit verify");
      }
      tree.append(leaf);
      chain = next;
    }
    if (rows->size() < kResumeChunk) return {};
  }
}

model::Result<void> Log::resume() {
  // Built in locals and kept only when everything checks out: a log that fails here is poisoned
  // and never signs, not even the part before the problem.
  CompactTree tree;
  Hash chain = chain_start();
  std::uint64_t checkpointed = 0;
  std::int64_t checkpointed_at = options_.clock();
  auto checkpoints = store_.audit_checkpoints();
  if (!checkpoints) return std::unexpected(checkpoints.error());
  if (!checkpoints->empty()) {
    const store::AuditCheckpoint& last = checkpoints->back();
    if (!signature_valid(last, key_.public_key())) {
      return poison(model::Error{ErrorCode::kCrypto,
                                 fmt::format("the audit checkpoint at tree size {} is not signed "
                                             "by this keyring's audit key; run labvault audit "
                                             "verify",
                                             last.tree_size),
                                 {}});
    }
    auto restored = frontier_of(last);
    if (!restored) return poison(restored.error());
    auto at = store_.read_audit(last.tree_size, 1);
    if (!at) return std::unexpected(at.error());
    if (at->empty() || (*at)[0].seq != last.tree_size || (*at)[0].chain != last.chain) {
      return poison(model::Error{ErrorCode::kCrypto,
                                 fmt::format("audit record {} does not match the signed "
                                             "checkpoint (records deleted or changed); run "
                                             "labvault audit verify",
                                             last.tree_size),
                                 {}});
    }
    tree = std::move(*restored);
    chain = *hash_from_bytes(last.chain);
    checkpointed = last.tree_size;
    checkpointed_at = last.time_us;
  }
  // Records after the last checkpoint are not signed yet: check their chain before signing.
  if (auto r = catch_up(tree, chain); !r) return poison(r.error());
  tree_ = std::move(tree);
  chain_ = chain;
  checkpointed_size_ = checkpointed;
  checkpointed_at_us_ = checkpointed_at;
  return {};
}

std::unexpected<model::Error> Log::poison(model::Error e) {
  poisoned_ = e;
  return std::unexpected(std::move(e));
}

model::Result<bool> Log::sync_with_store() {
  if (poisoned_) return std::unexpected(*poisoned_);
  auto last = store_.last_audit();
  if (!last) return std::unexpected(last.error());
  std::uint64_t stored = *last ? (*last)->seq : 0;
  if (stored < tree_.size()) {
    return poison(model::Error{ErrorCode::kCrypto,
                               fmt::format("audit records after {} that this log wrote are gone "
                                           "(deleted behind its back); run labvault audit verify",
                                           stored),
                               {}});
  }
  // The record this log wrote last must still be there, unchanged.
  if (tree_.size() > 0) {
    auto head = store_.read_audit(tree_.size(), 1);
    if (!head) return std::unexpected(head.error());
    if (head->empty() || (*head)[0].chain != to_bytes(chain_)) {
      return poison(model::Error{ErrorCode::kCrypto,
                                 fmt::format("audit record {} changed behind this log's back; run "
                                             "labvault audit verify",
                                             tree_.size()),
                                 {}});
    }
  }
  if (stored == tree_.size()) return false;
  // Another process (a CLI command beside the server) appended: chain its records in.
  CompactTree tree = tree_;
  Hash chain = chain_;
  if (auto r = catch_up(tree, chain); !r) return poison(r.error());
  tree_ = std::move(tree);
  chain_ = chain;
  return true;
}

model::Result<std::uint64_t> Log::record(const Event& event) {
  return record(std::span<const Event>(&event, 1));
}

model::Result<std::uint64_t> Log::record(std::span<const Event> events) {
  Pending me{events};
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (writing_) {
      queue_cv_.wait(lock);
      continue;
    }
    // Leader: write everything queued so far in one transaction.
    writing_ = true;
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    {
      std::lock_guard write_lock(write_mu_);
      // A caller's invalid event fails that caller alone, not the others in the batch.
      std::vector<const Event*> all;
      std::vector<Pending*> valid;
      for (Pending* p : batch) {
        auto ok = std::find_if(p->events.begin(), p->events.end(),
                               [](const Event& e) { return !validate(e); }) == p->events.end();
        if (!ok) {
          p->result = model::fail(ErrorCode::kUsage, "invalid audit event (actor id or lab)");
          continue;
        }
        for (const Event& e : p->events) all.push_back(&e);
        valid.push_back(p);
      }
      model::Result<void> written;
      try {
        written = write(all);
      } catch (const std::exception&) {
        // Every waiting caller must hear back, or the queue would stay blocked for good.
        written = model::fail(ErrorCode::kInternal, "the audit writer failed unexpectedly");
      }
      // On success each caller gets the number of its own last record.
      std::uint64_t end = tree_.size() - all.size();
      for (Pending* p : valid) {
        end += p->events.size();
        p->result = written ? model::Result<std::uint64_t>(end)
                            : model::Result<std::uint64_t>(std::unexpected(written.error()));
      }
    }
    lock.lock();
    for (Pending* p : batch) p->done = true;
    writing_ = false;
    queue_cv_.notify_all();
  }
  return me.result;
}

model::Result<std::vector<store::AuditRow>> Log::build_rows(std::span<const Event* const> events,
                                                            CompactTree& tree, Hash& chain,
                                                            bool may_seal) {
  std::vector<store::AuditRow> rows;
  rows.reserve(events.size());
  std::string scratch;
  const std::int64_t now = options_.clock();
  for (const Event* event : events) {
    const Event& e = *event;  // details_json validates it
    std::uint64_t seq = tree.size() + 1;
    std::string sealed;
    if (std::string details = private_details(e); !details.empty()) {
      // Inside a store transaction the store cannot seal (its lock is held): such events carry
      // no free text by contract.
      if (!may_seal) {
        return model::fail(ErrorCode::kUsage,
                           "an audit event written with a store transaction has no free text");
      }
      auto s = store_.seal_audit_text(e.lab, e.patient, seq, details);
      if (!s) return std::unexpected(s.error());
      sealed = std::move(*s);
    }
    auto entry = details_json(e, sealed, options_.node);
    if (!entry) return std::unexpected(entry.error());
    store::AuditRow& row = rows.emplace_back();
    row.seq = seq;
    row.time_us = e.time_us != 0 ? e.time_us : now;
    row.lab_id = e.lab;
    row.actor = e.actor;
    row.patient_id = e.patient;
    row.action = to_string(e.action);
    row.outcome = to_string(e.outcome);
    row.entry = std::move(*entry);
    canonical(row.view(), scratch);
    Hash leaf = leaf_hash(scratch);
    chain = chain_hash(chain, leaf);
    tree.append(leaf);
    row.chain = to_bytes(chain);
  }
  return rows;
}

void Log::advance(CompactTree tree, const Hash& chain) {
  tree_ = std::move(tree);
  chain_ = chain;
  wrote_any_ = true;
  // A checkpoint that fails now is retried with the next write or at close; the records are
  // committed either way.
  if (checkpoint_due()) (void)checkpoint_locked();
}

model::Result<void> Log::write(std::span<const Event* const> events) {
  if (closed_) return model::fail(ErrorCode::kUsage, "the audit log is closed");
  if (poisoned_) return std::unexpected(*poisoned_);
  if (events.empty()) return {};
  for (int attempt = 0;; ++attempt) {
    CompactTree tree = tree_;
    Hash chain = chain_;
    auto rows = build_rows(events, tree, chain, true);
    if (!rows) return std::unexpected(rows.error());
    auto appended = store_.append_audit(*rows);
    if (appended) {
      advance(std::move(tree), chain);
      return {};
    }
    auto moved_on = sync_with_store();
    if (!moved_on) return std::unexpected(moved_on.error());
    if (!*moved_on || attempt >= 3) return std::unexpected(appended.error());
  }
}

bool Log::checkpoint_due() const {
  std::uint64_t uncovered = tree_.size() - checkpointed_size_;
  if (uncovered == 0) return false;
  return uncovered >= options_.checkpoint_every ||
         options_.clock() - checkpointed_at_us_ >= options_.checkpoint_interval_us;
}

model::Result<void> Log::checkpoint_locked() {
  if (poisoned_) return std::unexpected(*poisoned_);
  // Sign only what is in the store as this log knows it: catch up with other writers first.
  if (auto synced = sync_with_store(); !synced) return std::unexpected(synced.error());
  if (pending_publish_) {
    if (auto p = publish(options_.publish_file, *pending_publish_); !p) return p;
    pending_publish_.reset();
  }
  if (tree_.size() == checkpointed_size_) return {};
  auto c = make_checkpoint(tree_, chain_, options_.clock(), key_);
  if (!c) return std::unexpected(c.error());
  if (auto r = store_.add_audit_checkpoint(*c); !r) {
    // Another process signed this size or a larger one first: these records are covered.
    auto existing = store_.audit_checkpoints();
    if (!existing) return std::unexpected(existing.error());
    if (existing->empty() || existing->back().tree_size < c->tree_size) return r;
  } else if (!options_.publish_file.empty()) {
    if (auto p = publish(options_.publish_file, *c); !p) {
      pending_publish_ = *c;  // retried with the next checkpoint; signed in the database already
      checkpointed_size_ = c->tree_size;
      checkpointed_at_us_ = c->time_us;
      return p;
    }
  }
  checkpointed_size_ = c->tree_size;
  checkpointed_at_us_ = c->time_us;
  return {};
}

model::Result<void> Log::checkpoint() {
  std::lock_guard lock(write_mu_);
  return checkpoint_locked();
}

model::Result<void> Log::checkpoint_if_due() {
  std::lock_guard lock(write_mu_);
  if (closed_ || !checkpoint_due()) return {};
  return checkpoint_locked();
}

model::Result<void> Log::close() {
  std::lock_guard lock(write_mu_);
  if (closed_) return {};
  closed_ = true;
  // A log that only read signs nothing (a reader must not race the server's checkpoints); a
  // poisoned one never signs.
  if (poisoned_ || !wrote_any_) return {};
  return checkpoint_locked();
}

std::uint64_t Log::size() const {
  std::lock_guard lock(write_mu_);
  return tree_.size();
}

std::uint64_t Log::unsigned_records() const {
  std::lock_guard lock(write_mu_);
  return tree_.size() - std::min<std::uint64_t>(tree_.size(), checkpointed_size_);
}

}  // namespace labvault::audit
