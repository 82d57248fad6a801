// Audit events as RFC 5424 syslog messages, and the RFC 5425 octet-counting frame that carries
// them over TLS to a SIEM. Invariant: the output is always a well-formed RFC 5424 message: a value
// that would break the grammar is replaced, escaped or truncated, never passed through, so no
// event field can forge another header field, SD-ELEMENT or message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace labvault::audit {

// 32473 is the Private Enterprise Number that RFC 5612 reserves for documentation and examples;
// a deployment with its own IANA number passes "labvault@<its PEN>" as sd_id.
inline constexpr std::string_view kDefaultSdId = "labvault@32473";
inline constexpr int kFacilityLogAudit = 13;  // RFC 5424 6.2.1, table 1: "log audit"

// One audit record as the audit module hands it to exporters.
struct SyslogEvent {
  std::uint64_t seq = 0;     // the audit record's number, 1-based, gap-free
  std::int64_t time_us = 0;  // UTC microseconds since the epoch
  int severity = 6;          // RFC 5424 6.2.1; clamped to 0..7
  std::string msgid;         // the action, e.g. "read", "login-failed" (printable ASCII, <= 32)
  std::vector<std::pair<std::string, std::string>> params;  // SD-PARAMs of the labvault SD-ID
  std::string msg;                                          // short free text, UTF-8, no PHI
};

// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [meta sequenceId=..][sd_id seq=.. params..]
// BOM MSG` (RFC 5424 6). Empty header fields become NILVALUE "-"; characters outside PRINTUSASCII
// become '_' and fields are cut to their maximum length (6.2); SD-NAMEs likewise (6.3.2, with '=',
// ' ', ']' and '"' also replaced; a name left empty drops its parameter); invalid UTF-8 in
// values or MSG becomes U+FFFD. The meta sequenceId wraps to 1 after 2147483647 (7.3.1), so the
// unbounded audit number also goes into sd_id as seq="N"; seq 0 writes no meta element.
[[nodiscard]] std::string format_rfc5424(const SyslogEvent& event, std::string_view hostname,
                                         std::string_view app_name, std::string_view procid,
                                         std::string_view sd_id = kDefaultSdId);

// RFC 5425 4.3 / RFC 6587 3.4.1: "MSG-LEN SP SYSLOG-MSG", MSG-LEN in octets.
[[nodiscard]] std::string frame_octet_counted(std::string_view msg);

// RFC 5424 6.3.2 SD-NAME: 1 to 32 PRINTUSASCII, none of '=', ' ', ']', '"'.
[[nodiscard]] bool is_valid_sd_name(std::string_view name);

// RFC 5424 7.3.1: the meta sequenceId for audit number `seq` (1..2147483647, then 1 again);
// 0 for seq 0.
[[nodiscard]] std::uint32_t meta_sequence_id(std::uint64_t seq);

}  // namespace labvault::audit
