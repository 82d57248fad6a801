// An audit event (who did what to which record, when, where, why, with what outcome) and its
// canonical serialization, the bytes that the hash chain and the Merkle tree cover.
// Invariant: an event holds internal ids and codes only; the one free-text field (`reason`) and a
// patient's own IP address are sealed before they enter the serialization.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "store/store.hpp"

namespace labvault::audit {

enum class Action {
  kRead,
  kSearch,
  kCreate,
  kUpdate,
  kDelete,
  kExport,
  kConvert,
  kImport,
  kLogin,
  kLogout,
  kLoginFailed,
  kLockout,
  kMfaEnroll,
  kMfaFailed,
  kSessionTimeout,
  kTokenIssue,
  kTokenReject,
  kUnmask,
  kBreakGlass,
  kConfigChange,
  kUserAdmin,
  kKeyRotation,
  kKeyShred,
  kAuditVerify,
  kAuditExport,
};
enum class Outcome { kSuccess, kDenied, kError };

[[nodiscard]] std::string_view to_string(Action a);
[[nodiscard]] std::string_view to_string(Outcome o);
[[nodiscard]] std::optional<Action> parse_action(std::string_view s);
[[nodiscard]] std::optional<Outcome> parse_outcome(std::string_view s);
// `text` (e.g. an error code's name) as a detail code: other characters become '-'.
[[nodiscard]] std::string detail_code(std::string_view text);

struct Event {
  std::int64_t time_us = 0;  // 0: the log's clock at recording
  store::Id lab = 0;         // 0: system administration, not one lab's data
  std::string actor;         // "user:12", "client:ehr-3", "system", "cli:<uid>"
  std::string role;          // the role the actor acted in, e.g. "ordering-provider"
  std::string on_behalf_of;  // e.g. the user a system client acts for
  Action action = Action::kRead;
  std::string resource;   // "Observation/12", "Patient/7", "keyring", ...
  store::Id patient = 0;  // internal id, 0 when no patient is concerned
  std::string source_ip, listener, node;
  std::string purpose;  // purpose of use (HL7 v3 PurposeOfUse: TREAT, ETREAT, HPAYMT, ...)
  std::string reason;   // free text given for unmask and break-glass: sealed, may hold PHI
  Outcome outcome = Outcome::kSuccess;
  std::string outcome_detail;  // a code or short reason, e.g. "no-care-relationship"; no PHI
  std::string request_id;
  std::vector<std::string> released_fields, masked_fields;  // disclosures: what left, what not
};

// Checks what the serialization needs: an actor id of printable ASCII without spaces; every
// other clear member an id or code (letters, digits, . _ : / -), so that no PHI can sit in clear
// in a record that is kept forever; a lab for any event with private details (they are sealed).
[[nodiscard]] model::Result<void> validate(const Event& e);

// The canonical record, the bytes the chain and the Merkle tree hash:
//   <seq> TAB <time_us> TAB <lab> TAB <actor> TAB <patient> TAB <action> TAB <outcome> LF <details>
// The header line is the store's clear columns; the details (AuditRow::entry) are compact JSON
// with sorted keys and no empty members. `sealed` is Store::seal_audit_text over the private
// details, or empty when there are none.
// `default_node` stands in for an empty e.node (the log fills in its own node name).
[[nodiscard]] model::Result<std::string> details_json(const Event& e, std::string_view sealed,
                                                      std::string_view default_node = {});
// Writes the canonical record into `out` (replacing its contents; reuse it on hot paths).
void canonical(const store::AuditRowView& row, std::string& out);
[[nodiscard]] std::string canonical(const store::AuditRowView& row);
// The private details (reason, a patient's IP) as the text to seal; empty when there are none.
[[nodiscard]] std::string private_details(const Event& e);
// A patient acting for themselves: their IP address identifies them, so it is sealed.
[[nodiscard]] bool ip_is_private(const Event& e);

}  // namespace labvault::audit
