#include "audit/syslog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace labvault::audit {

namespace {

constexpr std::string_view kNil = "-";             // RFC 5424 6.2: NILVALUE
constexpr std::string_view kBom = "\xEF\xBB\xBF";  // RFC 5424 6.4: MSG-UTF8 starts with a BOM
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::uint64_t kMaxSequenceId = 2147483647;       // RFC 5424 7.3.1

// RFC 5424 6.2.4-6.2.7: maximum lengths of the header fields.
constexpr std::size_t kMaxHostname = 255;
constexpr std::size_t kMaxAppName = 48;
constexpr std::size_t kMaxProcId = 128;
constexpr std::size_t kMaxMsgId = 32;
constexpr std::size_t kMaxSdName = 32;  // 6.3.2

bool is_print_us_ascii(unsigned char c) { return c >= 33 && c <= 126; }  // RFC 5424 6

bool is_sd_name_char(unsigned char c) {
  return is_print_us_ascii(c) && c != '=' && c != ']' && c != '"';
}

// A header field or SD-NAME: PRINTUSASCII only, at most `max` octets; `allowed` picks the
// alphabet. An empty header field is NILVALUE.
std::string clean_token(std::string_view in, std::size_t max, bool (*allowed)(unsigned char)) {
  std::string out;
  for (char c : in.substr(0, max)) out += allowed(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void append_header_field(std::string& out, std::string_view in, std::size_t max) {
  out += ' ';
  out += in.empty() ? std::string(kNil) : clean_token(in, max, is_print_us_ascii);
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629 4), 0 if there is none:
// rejects overlong forms, surrogates and code points above U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = b0 >= 0xC2 && b0 <= 0xDF   ? 2
                  : b0 >= 0xE0 && b0 <= 0xEF ? 3
                  : b0 >= 0xF0 && b0 <= 0xF4 ? 4
                                             : 0;
  if (n == 0 || s.size() < n) return 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

// Copies UTF-8 text, replacing each byte that starts no valid sequence with U+FFFD and, for
// PARAM-VALUE, escaping '"', '\' and ']' (RFC 5424 6.3.3).
void append_utf8(std::string& out, std::string_view in, bool escape_param_value) {
  while (!in.empty()) {
    std::size_t n = utf8_sequence_length(in);
    if (n == 0) {
      out += kReplacement;
      in.remove_prefix(1);
      continue;
    }
    char c = in[0];
    if (escape_param_value && (c == '"' || c == '\\' || c == ']')) out += '\\';
    out.append(in.substr(0, n));
    in.remove_prefix(n);
  }
}

void append_param(std::string& out, std::string_view name, std::string_view value) {
  std::string clean = clean_token(name, kMaxSdName, is_sd_name_char);
  if (clean.empty()) return;
  out += ' ';
  out += clean;
  out += "=\"";
  append_utf8(out, value, true);
  out += '"';
}

// RFC 5424 6.2.3: full-date "T" full-time with TIME-SECFRAC to microseconds, in UTC ("Z").
// A time outside years 0000-9999 cannot be written in that grammar and becomes NILVALUE.
void append_timestamp(std::string& out, std::int64_t time_us) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{time_us}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  if (ymd.year() < year{0} || ymd.year() > year{9999}) {
    out += kNil;
    return;
  }
  hh_mm_ss hms{t - day};
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                 static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                 static_cast<unsigned>(ymd.day()), hms.hours().count(), hms.minutes().count(),
                 hms.seconds().count(), hms.subseconds().count());
}

}  // namespace

bool is_valid_sd_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxSdName &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return is_sd_name_char(static_cast<unsigned char>(c)); });
}

std::uint32_t meta_sequence_id(std::uint64_t seq) {
  if (seq == 0) return 0;
  return static_cast<std::uint32_t>((seq - 1) % kMaxSequenceId + 1);
}

std::string format_rfc5424(const SyslogEvent& event, std::string_view hostname,
                           std::string_view app_name, std::string_view procid,
                           std::string_view sd_id) {
  std::string out;
  out.reserve(160 + event.msg.size() + event.params.size() * 32);
  int severity = std::clamp(event.severity, 0, 7);
  // RFC 5424 6.2.1: PRI = facility * 8 + severity; VERSION 1.
  fmt::format_to(std::back_inserter(out), "<{}>1 ", kFacilityLogAudit * 8 + severity);
  append_timestamp(out, event.time_us);
  append_header_field(out, hostname, kMaxHostname);
  append_header_field(out, app_name, kMaxAppName);
  append_header_field(out, procid, kMaxProcId);
  append_header_field(out, event.msgid, kMaxMsgId);
  out += ' ';
  if (event.seq != 0) {
    fmt::format_to(std::back_inserter(out), "[meta sequenceId=\"{}\"]",
                   meta_sequence_id(event.seq));
  }
  std::string id = clean_token(sd_id, kMaxSdName, is_sd_name_char);
  if (id.empty()) id = kDefaultSdId;
  out += '[';
  out += id;
  append_param(out, "seq", std::to_string(event.seq));
  for (const auto& [name, value] : event.params) append_param(out, name, value);
  out += ']';
  if (!event.msg.empty()) {
    out += ' ';
    out += kBom;
    append_utf8(out, event.msg, false);
  }
  return out;
}

std::string frame_octet_counted(std::string_view msg) {
  std::string out = std::to_string(msg.size());
  out += ' ';
  out += msg;
  return out;
}

}  // namespace labvault::audit
