// Exporters of audit records for people and systems outside labvault: JSON lines for the privacy
// officer's tools, FHIR R4 AuditEvents shaped after IHE BALP, and events for the RFC 5424 syslog
// forwarder. Invariant: an export holds only what the entry already holds in clear; sealed
// private details leave sealed unless the caller passes an explicit reveal function.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "audit/event.hpp"
#include "audit/syslog.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::audit {

// One record's entry read back into typed fields.
struct ParsedEntry {
  std::uint64_t seq = 0;
  // Everything of the Event but its private details: `event.reason` is always empty, and so is
  // `event.source_ip` when the IP was sealed (ip_is_private).
  Event event;
  std::string sealed;  // the sealed private details as Store::seal_audit_text made them, or empty
};

// Opens a record's sealed private details (Store::open_audit_text does).
using RevealFn =
    std::function<model::Result<std::string>(store::Id lab, std::uint64_t seq, std::string_view)>;

struct ExportContext {
  std::map<store::Id, std::string> lab_codes;  // lab id -> the operator's lab code
  // Set only for a reader entitled to the private details (a break-glass reason may name a
  // patient); unset, they are exported as "sealed".
  RevealFn reveal;
};

// Reads the clear columns (the canonical record's header) and the details JSON into typed
// fields: checks the columns are well-formed (known action and outcome, an actor id) and the
// details canonical, as details_json writes them. Errors (kParse) name the record number only.
[[nodiscard]] model::Result<ParsedEntry> parse_entry(const store::AuditRow& row);

// One JSON object without a line feed (the caller joins lines with LF): every field, empty ones
// as "" or [], and "private" as an object (revealed), "sealed", or absent (nothing sealed).
// Fails when the entry does not parse or reveal fails.
[[nodiscard]] model::Result<std::string> to_jsonl(const store::AuditRow& row,
                                                  const ExportContext& context);

// A FHIR R4 AuditEvent (compact JSON), id "labvault-audit-<seq>"; the codes per action are in the
// table at the top of export.cpp. Private details are never included, revealed or not.
[[nodiscard]] model::Result<std::string> to_fhir_audit_event(const store::AuditRow& row,
                                                             const ExportContext& context);

// The record as the syslog forwarder sends it: msgid = action, severity by outcome (break-glass
// always warning), SD-PARAMs of the clear fields that are set, a short message without PHI.
[[nodiscard]] SyslogEvent to_syslog_event(const ParsedEntry& entry, const store::AuditRow& row);

}  // namespace labvault::audit
