// store_messages: dedupe, patient matching, corrections with history, sealing, provenance and
// outbox rows, one transaction per batch and one savepoint per message.
#include <fmt/format.h>

#include <algorithm>

#include "crypto/secret.hpp"
#include "store/codec.hpp"
#include "store/normalize.hpp"
#include "store/sqlite/internal/message_writer.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

Result<Outcome> MessageWriter::run() {
  std::string control = index("msh-10", in_.sender + '\x1f' + in_.control_id);
  auto dup = prepare(
      "SELECT id, coalesce(patient_id, 0) FROM inbound_messages "
      "WHERE lab_id = ? AND sender = ? AND control_index = ?");
  if (!dup) return std::unexpected(dup.error());
  (*dup)->bind(1, lab_).bind_text(2, in_.sender).bind_blob(3, control);
  if ((*dup)->step()) {
    Outcome o{(*dup)->int64(0), (*dup)->int64(1), true, std::nullopt};
    (*dup)->reset();
    return o;
  }
  if ((*dup)->error()) return std::unexpected(*(*dup)->error());

  if (in_.import_id) {
    auto import = prepare("SELECT 1 FROM imports WHERE id = ? AND lab_id = ?");
    if (!import) return std::unexpected(import.error());
    (*import)->bind(1, *in_.import_id).bind(2, lab_);
    bool ours = (*import)->step();
    (*import)->reset();
    if (!ours) {
      return model::fail(ErrorCode::kNotFound,
                         fmt::format("import {} not found in this lab", *in_.import_id));
    }
  }
  auto patient = upsert_patient();
  if (!patient) return std::unexpected(patient.error());
  if (auto r = upsert_encounter(); !r) return std::unexpected(r.error());
  for (const model::Order& order : msg_.orders) {
    if (auto r = upsert_order(order); !r) return std::unexpected(r.error());
  }
  for (const model::Report& report : msg_.reports) {
    if (auto r = upsert_report(report); !r) return std::unexpected(r.error());
  }
  auto message = insert_message();
  if (!message) return std::unexpected(message.error());
  if (auto r = insert_provenance_and_outbox(*message); !r) return std::unexpected(r.error());
  return Outcome{*message, patient_, false, std::nullopt};
}

Result<Id> MessageWriter::upsert_patient() {
  const model::Patient& incoming = msg_.patient;
  std::vector<std::string> id_indexes;
  for (const model::Identifier& id : incoming.identifiers) {
    if (!id.value.empty())
      id_indexes.push_back(index("patient-id", normalize_identifier(id, in_.sender)));
  }
  auto find = prepare(
      "SELECT patient_id FROM patient_identifiers WHERE lab_id = ? AND identifier_index = ?");
  if (!find) return std::unexpected(find.error());
  for (const std::string& idx : id_indexes) {
    (*find)->bind(1, lab_).bind_blob(2, idx);
    if ((*find)->step()) {
      patient_ = (*find)->int64(0);
      (*find)->reset();
      break;
    }
    if ((*find)->error()) return std::unexpected(*(*find)->error());
  }

  model::Patient merged = incoming;
  if (patient_ != 0) {
    auto row = prepare("SELECT key_id, demographics FROM patients WHERE id = ?");
    if (!row) return std::unexpected(row.error());
    (*row)->bind(1, patient_);
    if (!(*row)->step()) return model::fail(ErrorCode::kStorage, "patient index is dangling");
    Id key_id = (*row)->int64(0);
    std::string sealed((*row)->blob(1));
    (*row)->reset();
    auto key = s_.data_key(key_id);
    if (!key) return std::unexpected(key.error());
    key_ = *key;
    auto stored =
        s_.open_decoded<model::Patient>({"patients", "demographics", patient_, lab_}, sealed);
    if (!stored) return std::unexpected(stored.error());
    // The newest message wins for demographics; identifiers accumulate (a patient keeps every
    // MRN any sender used, so later messages with either still match).
    for (const model::Identifier& id : stored->identifiers) {
      if (std::ranges::find(merged.identifiers, id) == merged.identifiers.end()) {
        merged.identifiers.push_back(id);
      }
    }
    if (merged.names.empty()) merged.names = stored->names;
    if (merged.birth_date.empty()) merged.birth_date = stored->birth_date;
    if (merged.sex == model::Sex::kUnknown) merged.sex = stored->sex;
    if (merged.addresses.empty()) merged.addresses = stored->addresses;
    if (merged.phones.empty()) merged.phones = stored->phones;
  } else {
    auto id = s_.next_id("patients");
    if (!id) return std::unexpected(id.error());
    patient_ = *id;
    auto key = s_.new_data_key(lab_, "patient", patient_);
    if (!key) return std::unexpected(key.error());
    key_ = *key;
  }
  std::string name_index;
  if (!merged.names.empty()) {
    std::string normalized = normalize_name_birth(merged.names.front(), merged.birth_date);
    if (!normalized.empty()) name_index = index("name-birth", normalized);
    crypto::wipe(normalized);
  }
  if (auto r = seal_encoded(s_, buf_, *key_, {"patients", "demographics", patient_, lab_}, merged);
      !r) {
    return std::unexpected(r.error());
  }
  auto write = prepare(
      "INSERT INTO patients (id, lab_id, key_id, name_dob_index, demographics, created_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (id) DO UPDATE SET "
      "name_dob_index = ?4, demographics = ?5, updated_at = ?6");
  if (!write) return std::unexpected(write.error());
  (*write)->bind(1, patient_).bind(2, lab_).bind(3, static_cast<Id>(key_->ref().id));
  if (name_index.empty())
    (*write)->bind_null(4);
  else
    (*write)->bind_blob(4, name_index);
  (*write)->bind_blob(5, buf_.sealed).bind(6, now_);
  if (auto r = (*write)->run(); !r) return std::unexpected(r.error());

  auto link = prepare(
      "INSERT OR IGNORE INTO patient_identifiers (lab_id, identifier_index, patient_id) "
      "VALUES (?, ?, ?)");
  if (!link) return std::unexpected(link.error());
  for (const std::string& idx : id_indexes) {
    (*link)->bind(1, lab_).bind_blob(2, idx).bind(3, patient_);
    if (auto r = (*link)->run(); !r) return std::unexpected(r.error());
  }
  records_.emplace_back("patients", patient_);
  return patient_;
}

Result<void> MessageWriter::upsert_encounter() {
  const model::Encounter& e = msg_.encounter;
  if (e.empty()) return {};
  std::string visit;
  Id existing = 0;
  if (!e.visit_number.empty()) {
    visit = index("visit", fmt::format("{}\x1f{}", patient_, normalize_token(e.visit_number)));
    auto find = prepare("SELECT id FROM encounters WHERE lab_id = ? AND visit_index = ?");
    if (!find) return std::unexpected(find.error());
    (*find)->bind(1, lab_).bind_blob(2, visit);
    if ((*find)->step()) existing = (*find)->int64(0);
    (*find)->reset();
  }
  Id id = existing;
  if (id == 0) {
    auto next = s_.next_id("encounters");
    if (!next) return std::unexpected(next.error());
    id = *next;
  }
  if (auto r = seal_encoded(s_, buf_, *key_, {"encounters", "detail", id, lab_}, e); !r) return r;
  auto write = prepare(
      "INSERT INTO encounters (id, lab_id, patient_id, key_id, visit_index, detail, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET detail = ?6");
  if (!write) return std::unexpected(write.error());
  (*write)->bind(1, id).bind(2, lab_).bind(3, patient_).bind(4, static_cast<Id>(key_->ref().id));
  if (visit.empty())
    (*write)->bind_null(5);
  else
    (*write)->bind_blob(5, visit);
  (*write)->bind_blob(6, buf_.sealed).bind(7, now_);
  if (auto r = (*write)->run(); !r) return r;
  records_.emplace_back("encounters", id);
  return {};
}

Result<void> MessageWriter::upsert_order(const model::Order& order) {
  const model::Identifier& number =
      order_number(order.filler_order_number, order.placer_order_number);
  Id id = 0;
  std::string accession;
  if (!number.value.empty()) {
    accession = index("order", normalize_identifier(number, in_.sender));
    auto find =
        prepare("SELECT id, patient_id FROM orders WHERE lab_id = ? AND accession_index = ?");
    if (!find) return std::unexpected(find.error());
    (*find)->bind(1, lab_).bind_blob(2, accession);
    if ((*find)->step()) {
      id = (*find)->int64(0);
      Id owner = (*find)->int64(1);
      (*find)->reset();
      if (owner != patient_) {
        return model::fail(
            ErrorCode::kDuplicate, "the order number is already on file for another patient",
            {.segment = "ORC", .field = number.value == order.filler_order_number.value ? 3 : 2});
      }
    }
  }
  bool existed = id != 0;
  if (!existed) {
    auto next = s_.next_id("orders");
    if (!next) return std::unexpected(next.error());
    id = *next;
    // Orders without any number cannot be matched later; a per-row index keeps UNIQUE happy.
    if (accession.empty()) accession = index("order-unnumbered", std::to_string(id));
  }
  if (auto r = seal_encoded(s_, buf_, *key_, {"orders", "detail", id, lab_}, order); !r) return r;
  auto write = prepare(
      "INSERT INTO orders (id, lab_id, patient_id, key_id, accession_index, service_system, "
      "service_code, detail, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9) "
      "ON CONFLICT (id) DO UPDATE SET service_system = ?6, service_code = ?7, detail = ?8, "
      "updated_at = ?9");
  if (!write) return std::unexpected(write.error());
  (*write)
      ->bind(1, id)
      .bind(2, lab_)
      .bind(3, patient_)
      .bind(4, static_cast<Id>(key_->ref().id))
      .bind_blob(5, accession)
      .bind_text(6, primary_system(order.service))
      .bind_text(7, primary_code(order.service))
      .bind_blob(8, buf_.sealed)
      .bind(9, now_);
  if (auto r = (*write)->run(); !r) return r;
  records_.emplace_back("orders", id);
  // Specimens of an order (OML^O21) accumulate: a resent order adds only new ones.
  std::vector<model::Specimen> stored;
  if (existed) {
    auto rows = prepare("SELECT id, detail FROM specimens WHERE order_id = ?");
    if (!rows) return std::unexpected(rows.error());
    (*rows)->bind(1, id);
    std::vector<std::pair<Id, std::string>> sealed;
    while ((*rows)->step()) sealed.emplace_back((*rows)->int64(0), (*rows)->blob(1));
    if ((*rows)->error()) return std::unexpected(*(*rows)->error());
    for (auto& [sid, blob] : sealed) {
      auto sp = s_.open_decoded<model::Specimen>({"specimens", "detail", sid, lab_}, blob);
      if (!sp) return std::unexpected(sp.error());
      stored.push_back(std::move(*sp));
    }
  }
  for (const model::Specimen& sp : order.specimens) {
    if (std::ranges::find(stored, sp) != stored.end()) continue;
    if (auto r = insert_specimen(id, std::nullopt, sp); !r) return r;
  }
  return {};
}

Result<Id> MessageWriter::insert_message() {
  auto id = s_.next_id("inbound_messages");
  if (!id) return std::unexpected(id.error());
  std::string header, extras, raw;
  if (auto r =
          seal_encoded(s_, buf_, *key_, {"inbound_messages", "header", *id, lab_}, msg_.header);
      !r) {
    return std::unexpected(r.error());
  }
  header = buf_.sealed;
  std::vector<std::string> rest = msg_.patient_notes;
  rest.push_back("");  // separator: notes, then unmapped segments
  rest.insert(rest.end(), msg_.extra_segments.begin(), msg_.extra_segments.end());
  if (auto r = seal_encoded(s_, buf_, *key_, {"inbound_messages", "extras", *id, lab_}, rest); !r) {
    return std::unexpected(r.error());
  }
  extras = buf_.sealed;
  if (auto r = s_.seal_into(raw, *key_, {"inbound_messages", "raw", *id, lab_}, in_.raw); !r) {
    return std::unexpected(r.error());
  }
  std::string control = index("msh-10", in_.sender + '\x1f' + in_.control_id);
  std::string type = msg_.header.trigger_event.empty()
                         ? msg_.header.message_type
                         : msg_.header.message_type + "^" + msg_.header.trigger_event;
  auto write = prepare(
      "INSERT INTO inbound_messages (id, lab_id, patient_id, key_id, sender, control_index, "
      "format, message_type, received_at, header, extras, raw, import_id) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!write) return std::unexpected(write.error());
  (*write)
      ->bind(1, *id)
      .bind(2, lab_)
      .bind(3, patient_)
      .bind(4, static_cast<Id>(key_->ref().id))
      .bind_text(5, in_.sender)
      .bind_blob(6, control)
      .bind_text(7, in_.format)
      .bind_text(8, type)
      .bind(9, now_)
      .bind_blob(10, header)
      .bind_blob(11, extras)
      .bind_blob(12, raw)
      .bind_opt(13, in_.import_id);
  if (auto r = (*write)->run(); !r) return std::unexpected(r.error());
  return *id;
}

Result<void> MessageWriter::insert_provenance_and_outbox(Id message) {
  auto link = prepare(
      "INSERT OR IGNORE INTO provenance (message_id, record_table, record_id) VALUES (?, ?, ?)");
  if (!link) return std::unexpected(link.error());
  for (const auto& [table, id] : records_) {
    (*link)->bind(1, message).bind_text(2, table).bind(3, id);
    if (auto r = (*link)->run(); !r) return r;
  }
  for (const std::string& subscriber : in_.subscribers) {
    auto id = s_.next_id("outbox");
    if (!id) return std::unexpected(id.error());
    auto queue = prepare(
        "INSERT INTO outbox (id, lab_id, subscriber, message_id, patient_id, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!queue) return std::unexpected(queue.error());
    (*queue)
        ->bind(1, *id)
        .bind(2, lab_)
        .bind_text(3, subscriber)
        .bind(4, message)
        .bind(5, patient_)
        .bind(6, now_)
        .bind(7, now_);
    if (auto r = (*queue)->run(); !r) return r;
  }
  return {};
}

Result<std::vector<Outcome>> SqliteStore::store_messages(Id lab, std::span<const Inbound> batch,
                                                         const AuditRowsFor& audit) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  next_ids_.clear();
  created_keys_.clear();
  auto fail = [&](model::Error e) -> Result<std::vector<Outcome>> {
    forget_keys_created_since(0);
    next_ids_.clear();
    return std::unexpected(std::move(e));
  };
  if (auto r = refresh_key_cache(); !r) return fail(r.error());
  if (auto r = lab_exists(lab); !r) return fail(r.error());
  std::vector<Outcome> outcomes;
  outcomes.reserve(batch.size());
  Scratch buf;
  for (const Inbound& in : batch) {
    if (in.message == nullptr || in.sender.empty() || in.control_id.empty()) {
      outcomes.push_back({0, 0, false,
                          model::Error{ErrorCode::kRequiredFieldMissing,
                                       "a stored message needs a sender and a control id (MSH-10)",
                                       {.segment = "MSH", .field = 10}}});
      continue;
    }
    std::size_t mark = created_keys_.size();
    if (auto r = db_->exec("SAVEPOINT message"); !r) return fail(r.error());
    auto outcome = MessageWriter(*this, lab, in, buf).run();
    if (outcome) {
      if (auto r = db_->exec("RELEASE message"); !r) return fail(r.error());
      outcomes.push_back(*outcome);
    } else {
      if (auto r = db_->exec("ROLLBACK TO message; RELEASE message"); !r) return fail(r.error());
      forget_keys_created_since(mark);
      outcomes.push_back({0, 0, false, outcome.error()});
    }
  }
  if (audit) {
    auto rows = audit(outcomes);
    if (!rows) return fail(rows.error());
    if (auto r = insert_audit_rows(*rows); !r) return fail(r.error());
  }
  if (auto r = tx->commit(); !r) return fail(r.error());
  created_keys_.clear();
  next_ids_.clear();
  return outcomes;
}

}  // namespace labvault::store::sqlite::internal
