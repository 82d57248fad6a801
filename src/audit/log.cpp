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

model::Result<void> Log::resume() {
  tree_ = CompactTree();
  chain_ = chain_start();
  checkpointed_size_ = 0;
  checkpointed_at_us_ = 0;
  auto checkpoints = store_.audit_checkpoints();
  if (!checkpoints) return std::unexpected(checkpoints.error());
  std::uint64_t from = 1;
  if (!checkpoints->empty()) {
    const store::AuditCheckpoint& last = checkpoints->back();
    if (!signature_valid(last, key_.public_key())) {
      return model::fail(ErrorCode::kCrypto,
                         fmt::format("the audit checkpoint at tree size {} is not signed by this "
                                     "keyring's audit key; run labvault audit verify",
                                     last.tree_size));
    }
    auto tree = frontier_of(last);
    if (!tree) return std::unexpected(tree.error());
    auto at = store_.read_audit(last.tree_size, 1);
    if (!at) return std::unexpected(at.error());
    if (at->empty() || (*at)[0].seq != last.tree_size || (*at)[0].chain != last.chain) {
      return model::fail(ErrorCode::kCrypto,
                         fmt::format("audit record {} does not match the signed checkpoint "
                                     "(records deleted or changed); run labvault audit verify",
                                     last.tree_size));
    }
    tree_ = std::move(*tree);
    chain_ = *hash_from_bytes(last.chain);
    checkpointed_size_ = last.tree_size;
    checkpointed_at_us_ = last.time_us;
    from = last.tree_size + 1;
  }
  // Records after the last checkpoint are not signed yet: re-chain them before signing over them.
  for (;;) {
    auto rows = store_.read_audit(from, kResumeChunk);
    if (!rows) return std::unexpected(rows.error());
    std::string scratch;
    for (const store::AuditRow& row : *rows) {
      Hash leaf, chain;
      if (auto r = check_record(row.view(), from, chain_, leaf, chain, scratch); !r) {
        return model::fail(ErrorCode::kCrypto, r.error().message + "; run labvault audit verify");
      }
      tree_.append(leaf);
      chain_ = chain;
      ++from;
    }
    if (rows->size() < kResumeChunk) break;
  }
  if (checkpointed_at_us_ == 0) checkpointed_at_us_ = options_.clock();
  return {};
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
      auto written = write(all);
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

model::Result<void> Log::write(std::span<const Event* const> events) {
  if (closed_) return model::fail(ErrorCode::kUsage, "the audit log is closed");
  if (events.empty()) return {};
  for (int attempt = 0;; ++attempt) {
    CompactTree tree = tree_;
    Hash chain = chain_;
    std::vector<store::AuditRow> rows;
    rows.reserve(events.size());
    std::string scratch;
    const std::int64_t now = options_.clock();
    for (const Event* event : events) {
      const Event& e = *event;
      std::uint64_t seq = tree.size() + 1;
      std::string sealed;
      if (std::string details = private_details(e); !details.empty()) {
        auto s = store_.seal_audit_text(e.lab, seq, details);
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
    auto appended = store_.append_audit(rows);
    if (appended) {
      tree_ = std::move(tree);
      chain_ = chain;
      break;
    }
    // Another process (a CLI command beside the server) appended first: catch up, then retry.
    auto last = store_.last_audit();
    bool moved_on = last && *last && (*last)->seq != tree_.size();
    if (attempt >= 3 || !moved_on) return std::unexpected(appended.error());
    if (auto r = resume(); !r) return r;
  }
  // A checkpoint that fails now is retried with the next write or at close; the records are
  // committed either way.
  if (checkpoint_due()) (void)checkpoint_locked();
  return {};
}

bool Log::checkpoint_due() const {
  std::uint64_t uncovered = tree_.size() - checkpointed_size_;
  if (uncovered == 0) return false;
  return uncovered >= options_.checkpoint_every ||
         options_.clock() - checkpointed_at_us_ >= options_.checkpoint_interval_us;
}

model::Result<void> Log::checkpoint_locked() {
  if (tree_.size() == checkpointed_size_) return {};
  auto c = make_checkpoint(tree_, chain_, options_.clock(), key_);
  if (!c) return std::unexpected(c.error());
  if (auto r = store_.add_audit_checkpoint(*c); !r) {
    // Another process signed this same size first: fine if it signed the same root.
    auto existing = store_.audit_checkpoints();
    bool same = existing && std::any_of(existing->begin(), existing->end(), [&](const auto& e) {
                  return e.tree_size == c->tree_size && e.root == c->root;
                });
    if (!same) return r;
  } else if (!options_.publish_file.empty()) {
    if (auto p = publish(options_.publish_file, *c); !p) return p;
  }
  checkpointed_size_ = c->tree_size;
  checkpointed_at_us_ = c->time_us;
  return {};
}

model::Result<void> Log::checkpoint() {
  std::lock_guard lock(write_mu_);
  return checkpoint_locked();
}

model::Result<void> Log::close() {
  std::lock_guard lock(write_mu_);
  if (closed_) return {};
  auto r = checkpoint_locked();
  closed_ = true;
  return r;
}

std::uint64_t Log::size() const {
  std::lock_guard lock(write_mu_);
  return tree_.size();
}

}  // namespace labvault::audit
