// The ingest pipeline: validate -> sender check -> map -> persist encrypted with its audit record
// -> acknowledge. Messages from every connection queue for one committer thread, which stores
// them in one transaction and one fsync per lab (group commit).
// Invariant (DESIGN.md 1): an AA leaves only after the message and its audit record are
// committed; a retransmission (same sender + MSH-10) is acknowledged again and stored once; a
// rejected message (AE/AR) stores nothing but its audit record.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audit/log.hpp"
#include "model/sensitivity.hpp"
#include "store/store.hpp"

namespace labvault::ingest {

// Which lab a sending system belongs to. A message is accepted only from a configured sender,
// matched on MSH-3 and MSH-4 (first components) and, when `tls_subject` is set, on the client
// certificate's subject CN as well; a rule with only `tls_subject` (empty application) accepts
// any MSH-3/MSH-4 on a connection with that certificate, unless they are another sender's.
struct SenderRule {
  std::string id;  // the sender's audit actor becomes "sender:<id>"
  store::Id lab = 0;
  std::string application, facility;
  std::string tls_subject;
};

// Where a message came from.
struct Source {
  std::string listener;        // "mllp", "import"
  std::string remote_address;  // "10.1.2.3:40112"; no port for files
  std::string tls_subject;     // mutual TLS client certificate CN, if any
};

struct Options {
  std::vector<SenderRule> senders;
  model::SensitivityRules sensitivity = model::SensitivityRules::defaults();
  std::size_t max_batch = 512;  // messages per group commit
  std::string ack_application = "LABVAULT", ack_facility;
  store::Clock clock = store::system_now_us;
};

using Done = std::function<void(std::string ack)>;

class Pipeline {
 public:
  Pipeline(store::Store& store, audit::Log& log, Options options);
  ~Pipeline();  // stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();
  // Commits what is queued, answers it, and joins the committer. Later submits answer AE.
  void stop();

  // One HL7 message (an MLLP frame's payload). `done` receives the ACK, from the committer thread
  // after the commit, or at once for a message that is refused. Thread-safe.
  void submit(std::string message, Source source, Done done);
  // submit() and wait: for imports and tests.
  [[nodiscard]] std::string handle(std::string message, Source source);

  struct Counters {
    std::uint64_t accepted = 0, duplicates = 0, rejected = 0, commits = 0;
  };
  [[nodiscard]] Counters counters() const;
  [[nodiscard]] std::size_t queue_depth() const;  // messages waiting for the committer

 private:
  struct Item;
  void run();
  void commit(std::vector<std::unique_ptr<Item>>& batch);
  void refuse(Item& item, std::vector<model::Error> errors, audit::Outcome outcome,
              std::string detail);
  [[nodiscard]] std::string ack(const Item& item, std::span<const model::Error> errors);
  // The configured sender of a message, or the refusal and its audit detail code.
  [[nodiscard]] std::expected<const SenderRule*, std::pair<model::Error, std::string_view>>
  resolve_sender(std::string_view app, std::string_view facility,
                 std::string_view tls_subject) const;

  store::Store& store_;
  audit::Log& log_;
  Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Item>> queue_;
  bool stopping_ = false;
  std::thread committer_;
  Counters counters_;
};

}  // namespace labvault::ingest
