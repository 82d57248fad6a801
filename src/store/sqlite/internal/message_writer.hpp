// The writer of one inbound message inside store_messages' transaction, shared by write.cpp
// (patient, encounter, orders, the message, provenance and outbox) and write_results.cpp
// (reports, observations with their correction history, specimens).
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/secret.hpp"
#include "store/codec.hpp"
#include "store/sqlite/internal/store_impl.hpp"

namespace labvault::store::sqlite::internal {

// Everything one message wrote, for its provenance rows.
using Records = std::vector<std::pair<std::string_view, Id>>;

// Sealed columns are built in reused buffers: one allocation per batch, not per value.
struct Scratch {
  std::string plain, sealed;
};

template <typename T>
inline Result<void> seal_encoded(SqliteStore& s, Scratch& buf, const crypto::AeadKey& key,
                                 const Slot& slot, const T& value) {
  buf.plain = codec::encode(value);
  buf.sealed.clear();
  auto r = s.seal_into(buf.sealed, key, slot, buf.plain);
  crypto::wipe(buf.plain);
  return r;
}

inline std::string_view primary_system(const model::CodeableConcept& c) {
  if (const model::Coding* l = c.loinc()) return l->system;
  return c.codings.empty() ? std::string_view() : std::string_view(c.codings.front().system);
}

inline std::string_view primary_code(const model::CodeableConcept& c) {
  if (const model::Coding* l = c.loinc()) return l->code;
  return c.codings.empty() ? std::string_view() : std::string_view(c.codings.front().code);
}

inline const model::Identifier& order_number(const model::Identifier& filler,
                                             const model::Identifier& placer) {
  return filler.value.empty() ? placer : filler;
}

class MessageWriter {
 public:
  MessageWriter(SqliteStore& s, Id lab, const Inbound& in, Scratch& buf)
      : s_(s), lab_(lab), in_(in), msg_(*in.message), buf_(buf), now_(s.clock_()) {}

  Result<Outcome> run();

 private:
  Result<Id> upsert_patient();
  Result<void> upsert_encounter();
  Result<void> upsert_order(const model::Order& order);
  Result<void> upsert_report(const model::Report& report);
  Result<void> insert_observation(Id report, int position, const model::Observation& o);
  Result<void> update_observation(Id id, const model::Observation& o, std::size_t old_history);
  Result<void> insert_specimen(std::optional<Id> order, std::optional<Id> report,
                               const model::Specimen& sp);
  Result<Id> insert_message();
  Result<void> insert_provenance_and_outbox(Id message);
  Result<Stmt*> prepare(std::string_view sql) { return s_.db_->prepare(sql); }
  std::string index(std::string_view domain, std::string_view value) const {
    return s_.keyring_.blind_indexer().index(domain, static_cast<std::uint64_t>(lab_), value);
  }

  SqliteStore& s_;
  Id lab_;
  const Inbound& in_;
  const model::LabMessage& msg_;
  Scratch& buf_;
  std::int64_t now_;
  Id patient_ = 0;
  KeyPtr key_;  // the patient's data key
  Records records_;
};

}  // namespace labvault::store::sqlite::internal
