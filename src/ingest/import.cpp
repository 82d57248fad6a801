#include "ingest/import.hpp"

#include <fmt/format.h>

#include "crypto/secret.hpp"
#include "fhir/fhir.hpp"

namespace labvault::ingest {

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string sender_of(const model::LabMessage& m, const std::string& fallback) {
  auto first = [](const std::string& s) { return s.substr(0, s.find('^')); };
  std::string app = first(m.header.sending_application);
  std::string facility = first(m.header.sending_facility);
  return app.empty() && facility.empty() ? fallback : app + "^" + facility;
}

}  // namespace

std::vector<FileMessage> fhir_file_messages(std::string_view document,
                                            std::vector<model::LabMessage> messages) {
  std::vector<FileMessage> out;
  const bool whole = messages.size() == 1;
  for (model::LabMessage& m : messages) {
    std::string raw;
    if (whole) {
      raw = std::string(document);
    } else if (auto own = fhir::to_bundle(m, {})) {
      raw = std::move(*own);
    }  // to_bundle fails only on invalid Options: it cannot here
    out.push_back({std::move(raw), std::move(m)});
  }
  return out;
}

model::Result<ImportSummary> import_messages(store::Store& store, audit::Log& log,
                                             const ImportRequest& request,
                                             std::vector<FileMessage>& messages) {
  ImportSummary summary;
  summary.messages = messages.size();
  auto import_id = store.begin_import(request.lab, request.kind, request.source_name);
  if (!import_id) return std::unexpected(import_id.error());
  summary.import_id = *import_id;

  auto base_event = [&] {
    return audit::Event{.lab = request.lab,
                        .actor = request.actor,
                        .role = request.role,
                        .action = audit::Action::kImport,
                        .source_ip = request.source_ip,
                        .listener = request.listener,
                        .outcome_detail = fmt::format("import-{}", *import_id),
                        .request_id = request.request_id};
  };
  std::vector<audit::Event> refused;
  std::uint64_t done = 0;
  for (std::size_t at = 0; at < messages.size(); at += request.batch) {
    std::size_t end = std::min(messages.size(), at + request.batch);
    std::vector<store::Inbound> inbound;
    std::vector<std::size_t> index;  // inbound[i] is messages[index[i]]
    for (std::size_t i = at; i < end; ++i) {
      FileMessage& fm = messages[i];
      if (!fm.message) {
        summary.problems.push_back(fm.message.error());
        if (summary.problems.back().location.file.empty()) {
          summary.problems.back().location.file = request.source_name;
        }
        ++summary.failed;
        audit::Event e = base_event();
        e.outcome = audit::Outcome::kError;
        e.outcome_detail = audit::detail_code(model::to_string(fm.message.error().code));
        refused.push_back(std::move(e));
        continue;
      }
      // A message without a control id (some CSV and FHIR sources) is deduplicated by content.
      std::string control = fm.message->header.control_id;
      if (control.empty()) control = "sha256:" + hex(crypto::sha256(fm.raw));
      inbound.push_back({sender_of(*fm.message, request.sender),
                         control,
                         request.kind,
                         fm.raw,
                         &*fm.message,
                         *import_id,
                         {}});
      index.push_back(i);
    }
    if (!inbound.empty()) {
      auto events_for = [&](std::span<const store::Outcome> outcomes) {
        std::vector<audit::Event> events;
        for (const store::Outcome& o : outcomes) {
          audit::Event e = base_event();
          e.resource = fmt::format("InboundMessage/{}", o.message_id);
          e.patient = o.patient_id;
          if (o.error) e.outcome = audit::Outcome::kError;
          events.push_back(std::move(e));
        }
        return events;
      };
      auto outcomes = log.record_with(events_for, [&](const store::AuditRowsFor& hook) {
        return store.store_messages(request.lab, inbound, hook);
      });
      if (!outcomes) return std::unexpected(outcomes.error());
      for (std::size_t i = 0; i < outcomes->size(); ++i) {
        const store::Outcome& o = (*outcomes)[i];
        if (o.error) {
          ++summary.failed;
          model::Error e = *o.error;
          if (e.location.file.empty()) e.location.file = request.source_name;
          summary.problems.push_back(std::move(e));
        } else {
          ++(o.duplicate ? summary.duplicates : summary.stored);
          summary.message_ids.push_back(o.message_id);
        }
      }
    }
    done = end;
    if (request.progress) request.progress(done, messages.size());
  }
  if (!refused.empty()) {
    if (auto r = log.record(refused); !r) return std::unexpected(r.error());
  }
  if (auto r = store.finish_import(request.lab, *import_id,
                                   static_cast<int>(summary.stored + summary.duplicates),
                                   static_cast<int>(summary.failed));
      !r) {
    return std::unexpected(r.error());
  }
  return summary;
}

}  // namespace labvault::ingest
