// Batch import of messages an operator brings as files (HL7 batches, CSV, FHIR Bundles): stored
// for one lab in transactions of many messages, each with its audit record, and tied to the file
// in the conversion history. Invariant: a message that does not map is reported with its
// location and stores nothing; the others are not held back by it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "model/lab.hpp"
#include "store/store.hpp"

namespace labvault::ingest {

// One message of a file, mapped or not.
struct FileMessage {
  std::string raw;  // the bytes kept (sealed) for replay and disputes
  model::Result<model::LabMessage> message = model::fail(model::ErrorCode::kInternal, "unset");
};

struct ImportSummary {
  std::uint64_t messages = 0, stored = 0, duplicates = 0, failed = 0;
  std::vector<model::Error> problems;  // with locations; no values
  store::Id import_id = 0;
  std::vector<store::Id> message_ids;  // of messages stored now or before (duplicates)
};

struct ImportRequest {
  store::Id lab = 0;
  std::string actor;        // "cli:<uid>"
  std::string kind;         // "hl7", "csv", "fhir"
  std::string source_name;  // the file name (sealed in the conversion history)
  std::string sender;       // dedupe scope for messages whose MSH-3/MSH-4 are empty
  std::size_t batch = 500;  // messages per transaction
  // Audit facts of where the file came from: the CLI's import, or a FHIR POST over HTTPS.
  std::string listener = "import", role = "lab-integration", request_id, source_ip;
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

// The messages a FHIR document (a Bundle, or one resource) maps to, ready to import. A document
// that holds several patients keeps, per message, the transaction Bundle of that message alone
// (written by labvault, deterministic) instead of the whole document: each message is then
// deduplicated by its own content, and its raw copy is sealed under its own patient's key (so
// shredding one patient leaves no copy of them under another's).
[[nodiscard]] std::vector<FileMessage> fhir_file_messages(std::string_view document,
                                                          std::vector<model::LabMessage> messages);

[[nodiscard]] model::Result<ImportSummary> import_messages(store::Store& store, audit::Log& log,
                                                           const ImportRequest& request,
                                                           std::vector<FileMessage>& messages);

}  // namespace labvault::ingest
