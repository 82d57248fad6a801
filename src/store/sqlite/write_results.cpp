// Reports, observations (corrections folded in with their history) and specimens of one message.
#include <algorithm>

#include "store/normalize.hpp"
#include "store/sqlite/internal/message_writer.hpp"

namespace labvault::store::sqlite::internal {

using model::ErrorCode;

Result<void> MessageWriter::upsert_report(const model::Report& incoming) {
  const model::Identifier& number =
      order_number(incoming.filler_order_number, incoming.placer_order_number);
  Id id = 0;
  std::string report_index, sealed_detail;
  // A report without any order number cannot be recognised later: it is always new (folding it
  // into another report of the same test would turn unrelated results into "corrections").
  if (!number.value.empty()) {
    report_index = index(
        "report", fmt::format("{}\x1f{}\x1f{}", normalize_identifier(number, in_.sender),
                              primary_system(incoming.service), primary_code(incoming.service)));
  }
  auto find =
      prepare("SELECT id, patient_id, detail FROM reports WHERE lab_id = ? AND report_index = ?");
  if (!find) return std::unexpected(find.error());
  (*find)->bind(1, lab_).bind_blob(2, report_index);
  if (!report_index.empty() && (*find)->step()) {
    id = (*find)->int64(0);
    Id owner = (*find)->int64(1);
    sealed_detail = (*find)->blob(2);
    (*find)->reset();
    if (owner != patient_) {
      return model::fail(ErrorCode::kDuplicate,
                         "the report's order number is already on file for another patient",
                         {.segment = "OBR", .field = 3});
    }
  } else if ((*find)->error()) {
    return std::unexpected(*(*find)->error());
  }

  model::Report merged = incoming;
  std::vector<Id> observation_ids;
  std::vector<std::size_t> stored_history;
  std::vector<model::Observation> stored_observations;
  std::size_t stored_specimens = 0;
  if (id != 0) {
    // A correction or an update of a known report: fold it into what is stored, so that
    // superseded values move to history instead of disappearing (model::apply_correction).
    auto current = s_.open_decoded<model::Report>({"reports", "detail", id, lab_}, sealed_detail);
    if (!current) return std::unexpected(current.error());
    auto obs = prepare(
        "SELECT o.id, o.result, (SELECT count(*) FROM observation_history h WHERE "
        "h.observation_id = o.id) FROM observations o WHERE o.report_id = ? ORDER BY o.position");
    if (!obs) return std::unexpected(obs.error());
    (*obs)->bind(1, id);
    std::vector<std::pair<Id, std::string>> rows;
    while ((*obs)->step()) {
      rows.emplace_back((*obs)->int64(0), (*obs)->blob(1));
      stored_history.push_back(static_cast<std::size_t>((*obs)->int64(2)));
    }
    if ((*obs)->error()) return std::unexpected(*(*obs)->error());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      auto o = s_.open_decoded<model::Observation>({"observations", "result", rows[i].first, lab_},
                                                   rows[i].second);
      if (!o) return std::unexpected(o.error());
      // History contents are not needed to fold: only new versions are appended below.
      o->history.assign(stored_history[i], {});
      observation_ids.push_back(rows[i].first);
      stored_observations.push_back(*o);
      current->observations.push_back(std::move(*o));
    }
    auto sp = prepare("SELECT id, detail FROM specimens WHERE report_id = ?");
    if (!sp) return std::unexpected(sp.error());
    (*sp)->bind(1, id);
    std::vector<std::pair<Id, std::string>> specimens;
    while ((*sp)->step()) specimens.emplace_back((*sp)->int64(0), (*sp)->blob(1));
    if ((*sp)->error()) return std::unexpected(*(*sp)->error());
    for (auto& [sid, blob] : specimens) {
      auto s = s_.open_decoded<model::Specimen>({"specimens", "detail", sid, lab_}, blob);
      if (!s) return std::unexpected(s.error());
      current->specimens.push_back(std::move(*s));
    }
    stored_specimens = current->specimens.size();
    model::apply_correction(*current, incoming);
    merged = std::move(*current);
  } else {
    auto next = s_.next_id("reports");
    if (!next) return std::unexpected(next.error());
    id = *next;
    if (report_index.empty()) report_index = index("report-unnumbered", std::to_string(id));
  }

  if (auto r = seal_encoded(s_, buf_, *key_, {"reports", "detail", id, lab_}, merged); !r) return r;
  auto write = prepare(
      "INSERT INTO reports (id, lab_id, patient_id, key_id, report_index, service_system, "
      "service_code, status, detail, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,"
      "?10,?10) ON CONFLICT (id) DO UPDATE SET status = ?8, detail = ?9, updated_at = ?10");
  if (!write) return std::unexpected(write.error());
  (*write)
      ->bind(1, id)
      .bind(2, lab_)
      .bind(3, patient_)
      .bind(4, static_cast<Id>(key_->ref().id))
      .bind_blob(5, report_index)
      .bind_text(6, primary_system(merged.service))
      .bind_text(7, primary_code(merged.service))
      .bind_text(8, model::to_hl7_code(merged.status))
      .bind_blob(9, buf_.sealed)
      .bind(10, now_);
  if (auto r = (*write)->run(); !r) return r;
  records_.emplace_back("reports", id);

  for (std::size_t i = 0; i < merged.observations.size(); ++i) {
    const model::Observation& o = merged.observations[i];
    if (i < observation_ids.size()) {
      model::Observation before = stored_observations[i];
      model::Observation after = o;
      before.history.clear();
      after.history.clear();
      if (before == after && o.history.size() == stored_history[i]) continue;
      if (auto r = update_observation(observation_ids[i], o, stored_history[i]); !r) return r;
    } else if (auto r = insert_observation(id, static_cast<int>(i), o); !r) {
      return r;
    }
  }
  for (std::size_t i = stored_specimens; i < merged.specimens.size(); ++i) {
    if (auto r = insert_specimen(std::nullopt, id, merged.specimens[i]); !r) return r;
  }
  return {};
}

Result<void> MessageWriter::insert_observation(Id report, int position,
                                               const model::Observation& o) {
  auto id = s_.next_id("observations");
  if (!id) return std::unexpected(id.error());
  if (auto r = seal_encoded(s_, buf_, *key_, {"observations", "result", *id, lab_}, o); !r) {
    return r;
  }
  auto write = prepare(
      "INSERT INTO observations (id, lab_id, patient_id, key_id, report_id, position, "
      "code_system, code, status, sensitivity, result, created_at, updated_at) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12)");
  if (!write) return std::unexpected(write.error());
  (*write)
      ->bind(1, *id)
      .bind(2, lab_)
      .bind(3, patient_)
      .bind(4, static_cast<Id>(key_->ref().id))
      .bind(5, report)
      .bind(6, position)
      .bind_text(7, primary_system(o.code))
      .bind_text(8, primary_code(o.code))
      .bind_text(9, model::to_hl7_code(o.status))
      .bind_text(10, model::to_string(o.sensitivity))
      .bind_blob(11, buf_.sealed)
      .bind(12, now_);
  if (auto r = (*write)->run(); !r) return r;
  records_.emplace_back("observations", *id);
  return {};
}

Result<void> MessageWriter::update_observation(Id id, const model::Observation& o,
                                               std::size_t old_history) {
  for (std::size_t seq = old_history; seq < o.history.size(); ++seq) {
    auto hid = s_.next_id("observation_history");
    if (!hid) return std::unexpected(hid.error());
    if (auto r = seal_encoded(s_, buf_, *key_, {"observation_history", "version", *hid, lab_},
                              o.history[seq]);
        !r) {
      return r;
    }
    auto insert = prepare(
        "INSERT INTO observation_history (id, lab_id, observation_id, key_id, seq, version, "
        "replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    (*insert)
        ->bind(1, *hid)
        .bind(2, lab_)
        .bind(3, id)
        .bind(4, static_cast<Id>(key_->ref().id))
        .bind(5, static_cast<std::int64_t>(seq + 1))
        .bind_blob(6, buf_.sealed)
        .bind(7, now_);
    if (auto r = (*insert)->run(); !r) return r;
    records_.emplace_back("observation_history", *hid);
  }
  if (auto r = seal_encoded(s_, buf_, *key_, {"observations", "result", id, lab_}, o); !r) return r;
  auto update = prepare(
      "UPDATE observations SET status = ?, sensitivity = ?, result = ?, updated_at = ? "
      "WHERE id = ?");
  if (!update) return std::unexpected(update.error());
  (*update)
      ->bind_text(1, model::to_hl7_code(o.status))
      .bind_text(2, model::to_string(o.sensitivity))
      .bind_blob(3, buf_.sealed)
      .bind(4, now_)
      .bind(5, id);
  if (auto r = (*update)->run(); !r) return r;
  records_.emplace_back("observations", id);
  return {};
}

Result<void> MessageWriter::insert_specimen(std::optional<Id> order, std::optional<Id> report,
                                            const model::Specimen& sp) {
  auto id = s_.next_id("specimens");
  if (!id) return std::unexpected(id.error());
  if (auto r = seal_encoded(s_, buf_, *key_, {"specimens", "detail", *id, lab_}, sp); !r) return r;
  auto write = prepare(
      "INSERT INTO specimens (id, lab_id, patient_id, key_id, order_id, report_id, detail, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!write) return std::unexpected(write.error());
  (*write)
      ->bind(1, *id)
      .bind(2, lab_)
      .bind(3, patient_)
      .bind(4, static_cast<Id>(key_->ref().id))
      .bind_opt(5, order)
      .bind_opt(6, report)
      .bind_blob(7, buf_.sealed)
      .bind(8, now_);
  if (auto r = (*write)->run(); !r) return r;
  records_.emplace_back("specimens", *id);
  return {};
}

}  // namespace labvault::store::sqlite::internal
