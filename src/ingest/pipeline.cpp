#include "ingest/pipeline.hpp"

#include <fmt/format.h>

#include <future>
#include <map>
#include <optional>

#include "crypto/secret.hpp"
#include "hl7/hl7.hpp"
#include "hl7/message.hpp"

namespace labvault::ingest {

using model::ErrorCode;

struct Pipeline::Item {
  std::string raw;
  Source source;
  Done done;
  model::LabMessage message;
  const SenderRule* sender = nullptr;
  std::string sender_key;  // MSH-3^MSH-4: the dedupe scope
};

namespace {

std::string first_component(std::string_view field) {
  return std::string(field.substr(0, field.find('^')));
}

model::DateTime to_datetime(std::int64_t us) {
  std::time_t t = us / 1'000'000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  model::DateTime d;
  d.precision = model::DateTime::Precision::kSecond;
  d.year = tm.tm_year + 1900, d.month = tm.tm_mon + 1, d.day = tm.tm_mday;
  d.hour = tm.tm_hour, d.minute = tm.tm_min, d.second = tm.tm_sec;
  d.utc_offset_minutes = 0;
  return d;
}

audit::Event event_for(const SenderRule* sender, const Source& source) {
  audit::Event e;
  e.lab = sender ? sender->lab : 0;
  e.actor = sender ? "sender:" + sender->id : "sender:unknown";
  e.role = "sending-system";
  e.action = audit::Action::kCreate;
  e.listener = source.listener;
  // Only the address: the port changes per connection and says nothing more.
  e.source_ip = source.remote_address.substr(0, source.remote_address.rfind(':'));
  if (!audit::validate(e)) e.source_ip.clear();
  return e;
}

}  // namespace

Pipeline::Pipeline(store::Store& store, audit::Log& log, Options options)
    : store_(store), log_(log), options_(std::move(options)) {}

Pipeline::~Pipeline() { stop(); }

void Pipeline::start() {
  std::lock_guard lock(mu_);
  if (committer_.joinable()) return;
  stopping_ = false;
  committer_ = std::thread([this] { run(); });
}

void Pipeline::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

Pipeline::Counters Pipeline::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::size_t Pipeline::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::string Pipeline::ack(const Item& item, std::span<const model::Error> errors) {
  hl7::AckOptions o;
  o.sending_application = options_.ack_application;
  o.sending_facility = options_.ack_facility;
  auto id = crypto::random_hex(8);
  o.control_id = id ? "ACK" + *id : "ACK";
  o.now = to_datetime(options_.clock());
  return hl7::make_ack(item.raw, errors, o);
}

void Pipeline::refuse(Item& item, std::vector<model::Error> errors, audit::Outcome outcome,
                      std::string detail) {
  audit::Event e = event_for(item.sender, item.source);
  e.outcome = outcome;
  e.outcome_detail = audit::detail_code(detail);
  std::string reply = ack(item, errors);
  // Fail closed: a refusal that cannot be recorded is answered as an internal error instead,
  // so the sender retries rather than taking the refusal as final.
  if (auto r = log_.record(e); !r) {
    model::Error internal{ErrorCode::kInternal, "the audit record could not be written", {}};
    reply = ack(item, std::span(&internal, 1));
  }
  {
    std::lock_guard lock(mu_);
    ++counters_.rejected;
  }
  item.done(std::move(reply));
}

// A rule names MSH-3/MSH-4 (optionally tied to a certificate) or only a certificate, for a
// system that relays many facilities. The certificate wins: a message whose MSH-3/MSH-4 belong
// to another certificate or another lab than the connection's is a claim to be someone else.
std::expected<const SenderRule*, std::pair<model::Error, std::string_view>>
Pipeline::resolve_sender(std::string_view app, std::string_view facility,
                         std::string_view tls_subject) const {
  const SenderRule* by_header = nullptr;
  const SenderRule* by_certificate = nullptr;
  for (const SenderRule& rule : options_.senders) {
    if (!rule.application.empty()) {
      if (!by_header && rule.application == app && rule.facility == facility) by_header = &rule;
    } else if (!by_certificate && !tls_subject.empty() && rule.tls_subject == tls_subject) {
      by_certificate = &rule;
    }
  }
  auto mismatch = [] {
    return std::unexpected(
        std::pair{model::Error{ErrorCode::kTableValue,
                               "the sending facility does not match the client certificate",
                               {.segment = "MSH", .segment_index = 1, .field = 4}},
                  std::string_view("sender-identity-mismatch")});
  };
  if (by_header) {
    if (!by_header->tls_subject.empty() && by_header->tls_subject != tls_subject) return mismatch();
    if (by_certificate && by_certificate->lab != by_header->lab) return mismatch();
    return by_header;
  }
  if (by_certificate) return by_certificate;
  return std::unexpected(
      std::pair{model::Error{ErrorCode::kTableValue,
                             "the sending application and facility are not a configured sender",
                             {.segment = "MSH", .segment_index = 1, .field = 3}},
                std::string_view("unknown-sender")});
}

void Pipeline::submit(std::string message, Source source, Done done) {
  auto item = std::make_unique<Item>();
  item->raw = std::move(message);
  item->source = std::move(source);
  item->done = std::move(done);
  // HL7 v2.5.1 2.9: a message that cannot be read or mapped is answered with every problem.
  auto parsed = hl7::Message::parse(item->raw);
  if (!parsed) return refuse(*item, {parsed.error()}, audit::Outcome::kError, "unreadable");
  std::vector<model::Error> problems = hl7::validate(*parsed);
  if (!problems.empty()) {
    auto code = hl7::hl7_error_code(problems.front().code);
    return refuse(*item, std::move(problems), audit::Outcome::kError,
                  fmt::format("hl7-error-{}", code));
  }
  auto mapped = hl7::to_model(*parsed);
  if (!mapped) return refuse(*item, {mapped.error()}, audit::Outcome::kError, "unmappable");
  item->message = std::move(*mapped);
  const model::MessageHeader& h = item->message.header;
  std::string app = first_component(h.sending_application);
  std::string facility = first_component(h.sending_facility);
  auto sender = resolve_sender(app, facility, item->source.tls_subject);
  if (!sender) {
    auto [error, detail] = sender.error();
    return refuse(*item, {std::move(error)}, audit::Outcome::kDenied, std::string(detail));
  }
  item->sender = *sender;
  options_.sensitivity.apply(item->message);
  item->sender_key = app + "^" + facility;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(item));
      cv_.notify_one();
      return;
    }
  }
  model::Error e{ErrorCode::kInternal, "the receiver is shutting down", {}};
  item->done(ack(*item, std::span(&e, 1)));
}

std::string Pipeline::handle(std::string message, Source source) {
  std::promise<std::string> reply;
  auto future = reply.get_future();
  submit(std::move(message), std::move(source),
         [&reply](std::string ack) { reply.set_value(std::move(ack)); });
  return future.get();
}

void Pipeline::run() {
  for (;;) {
    std::vector<std::unique_ptr<Item>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything answered
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
  }
}

void Pipeline::commit(std::vector<std::unique_ptr<Item>>& batch) {
  // One transaction per lab: a store call is scoped to one lab (lab isolation).
  std::map<store::Id, std::vector<Item*>> by_lab;
  for (auto& item : batch) by_lab[item->sender->lab].push_back(item.get());
  for (auto& [lab, items] : by_lab) {
    std::vector<store::Inbound> inbound;
    inbound.reserve(items.size());
    for (Item* item : items) {
      inbound.push_back({item->sender_key,
                         item->message.header.control_id,
                         "hl7",
                         item->raw,
                         &item->message,
                         std::nullopt,
                         {}});
    }
    auto events_for = [&](std::span<const store::Outcome> outcomes) {
      std::vector<audit::Event> events;
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const store::Outcome& o = outcomes[i];
        audit::Event e = event_for(items[i]->sender, items[i]->source);
        e.resource = fmt::format("InboundMessage/{}", o.message_id);
        e.patient = o.patient_id;
        if (o.error) {
          e.outcome = audit::Outcome::kError;
          e.outcome_detail = audit::detail_code(model::to_string(o.error->code));
        } else if (o.duplicate) {
          e.outcome_detail = "retransmission";
        }
        events.push_back(std::move(e));
      }
      return events;
    };
    auto outcomes = log_.record_with(events_for, [&](const store::AuditRowsFor& hook) {
      return store_.store_messages(lab, inbound, hook);
    });
    std::vector<std::string> acks;
    acks.reserve(items.size());
    std::unique_lock lock(mu_);
    ++counters_.commits;
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::vector<model::Error> errors;
      if (!outcomes) {
        // Nothing of this batch is stored: an AE with "internal error" makes the sender retry.
        errors.push_back({ErrorCode::kInternal, "the message could not be stored", {}});
      } else if ((*outcomes)[i].error) {
        errors.push_back(*(*outcomes)[i].error);
      }
      if (errors.empty()) {
        ++((*outcomes)[i].duplicate ? counters_.duplicates : counters_.accepted);
      } else {
        ++counters_.rejected;
      }
      acks.push_back(ack(*items[i], errors));
    }
    lock.unlock();  // answers go out without the queue's lock
    for (std::size_t i = 0; i < items.size(); ++i) items[i]->done(std::move(acks[i]));
  }
}

}  // namespace labvault::ingest
