#include "audit/event.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <utility>

#include "crypto/secret.hpp"

namespace labvault::audit {

namespace {

constexpr std::array<std::pair<Action, std::string_view>, 25> kActions{{
    {Action::kRead, "read"},
    {Action::kSearch, "search"},
    {Action::kCreate, "create"},
    {Action::kUpdate, "update"},
    {Action::kDelete, "delete"},
    {Action::kExport, "export"},
    {Action::kConvert, "convert"},
    {Action::kImport, "import"},
    {Action::kLogin, "login"},
    {Action::kLogout, "logout"},
    {Action::kLoginFailed, "login-failed"},
    {Action::kLockout, "lockout"},
    {Action::kMfaEnroll, "mfa-enroll"},
    {Action::kMfaFailed, "mfa-failed"},
    {Action::kSessionTimeout, "session-timeout"},
    {Action::kTokenIssue, "token-issue"},
    {Action::kTokenReject, "token-reject"},
    {Action::kUnmask, "unmask"},
    {Action::kBreakGlass, "break-glass"},
    {Action::kConfigChange, "config-change"},
    {Action::kUserAdmin, "user-admin"},
    {Action::kKeyRotation, "key-rotation"},
    {Action::kKeyShred, "key-shred"},
    {Action::kAuditVerify, "audit-verify"},
    {Action::kAuditExport, "audit-export"},
}};
constexpr std::array<std::pair<Outcome, std::string_view>, 3> kOutcomes{{
    {Outcome::kSuccess, "success"},
    {Outcome::kDenied, "denied"},
    {Outcome::kError, "error"},
}};

// JSON string escaping (RFC 8259 7): enough for a deterministic writer; the values are ids and
// codes, plus the base64 of sealed text.
void put_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    if (u < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out += '\\';
      out += static_cast<char>(u);
    }
  }
  out.append(s.substr(run));
  out += '"';
}

// Members in sorted key order, empty ones left out, so equal events serialize to equal bytes.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  ~JsonObject() { out_ += '}'; }
  void text(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    start(key);
    put_string(out_, value);
  }
  void list(std::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    start(key);
    out_ += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) out_ += ',';
      put_string(out_, values[i]);
    }
    out_ += ']';
  }

 private:
  void start(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    put_string(out_, key);
    out_ += ':';
  }
  std::string& out_;
  bool first_ = true;
};

bool printable_id(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

template <typename Int>
void put_int(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Hashed for every record on write and on verify: to_chars, not a format string.
// Letters, digits and . _ : / - (and [ ] for IPv6), at most 200 bytes.
bool is_code(std::string_view s) {
  if (s.size() > 200) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '-' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

void put_header(std::string& out, std::uint64_t seq, std::int64_t time_us, store::Id lab,
                std::string_view actor, store::Id patient, std::string_view action,
                std::string_view outcome) {
  put_int(out, seq);
  out += '\t';
  put_int(out, time_us);
  out += '\t';
  put_int(out, lab);
  out += '\t';
  out += actor;
  out += '\t';
  put_int(out, patient);
  out += '\t';
  out += action;
  out += '\t';
  out += outcome;
}

}  // namespace

std::string detail_code(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '-';
    out += keep ? c : '-';
  }
  return out;
}

std::string_view to_string(Action a) {
  for (const auto& [value, name] : kActions) {
    if (value == a) return name;
  }
  return "unknown";
}

std::string_view to_string(Outcome o) {
  for (const auto& [value, name] : kOutcomes) {
    if (value == o) return name;
  }
  return "unknown";
}

std::optional<Action> parse_action(std::string_view s) {
  for (const auto& [value, name] : kActions) {
    if (name == s) return value;
  }
  return std::nullopt;
}

std::optional<Outcome> parse_outcome(std::string_view s) {
  for (const auto& [value, name] : kOutcomes) {
    if (name == s) return value;
  }
  return std::nullopt;
}

bool ip_is_private(const Event& e) { return e.role == "patient"; }

std::string private_details(const Event& e) {
  if (e.reason.empty() && !(ip_is_private(e) && !e.source_ip.empty())) return {};
  std::string out;
  {
    JsonObject o(out);
    if (ip_is_private(e)) o.text("ip", e.source_ip);
    o.text("reason", e.reason);
  }
  return out;
}

model::Result<void> validate(const Event& e) {
  // The actor goes into a tab-separated header and an index: an id, never a display name.
  if (e.actor.empty() || e.actor.size() > 128 || !printable_id(e.actor)) {
    return model::fail(model::ErrorCode::kUsage,
                       "an audit actor is an internal id of printable ASCII without spaces");
  }
  // Everything else in clear is an id or a code: kept forever and never shredded, so no room for
  // a name, an MRN in a query string or an error message quoting a value. Free text goes in
  // `reason`, which is sealed.
  auto bad = [](std::string_view what) {
    return model::fail(
        model::ErrorCode::kUsage,
        fmt::format("audit {} must be an id or code (letters, digits, . _ : / -)", what));
  };
  for (auto [name, value] : {std::pair<std::string_view, std::string_view>{"role", e.role},
                             {"on_behalf_of", e.on_behalf_of},
                             {"resource", e.resource},
                             {"listener", e.listener},
                             {"node", e.node},
                             {"purpose", e.purpose},
                             {"detail", e.outcome_detail},
                             {"request_id", e.request_id},
                             {"ip", e.source_ip}}) {
    if (!is_code(value)) return bad(name);
  }
  for (const auto& list : {&e.released_fields, &e.masked_fields}) {
    for (const std::string& field : *list) {
      if (field.empty() || !is_code(field)) return bad("field name");
    }
  }
  if (e.lab == 0 && !private_details(e).empty()) {
    return model::fail(model::ErrorCode::kUsage, "an audit event with a reason must name its lab");
  }
  return {};
}

model::Result<std::string> details_json(const Event& e, std::string_view sealed,
                                        std::string_view default_node) {
  if (auto r = validate(e); !r) return std::unexpected(r.error());
  if (!private_details(e).empty() && sealed.empty()) {
    return model::fail(model::ErrorCode::kInternal, "private audit details were not sealed");
  }
  std::string out;
  out.reserve(256);
  std::string sealed_b64;
  if (!sealed.empty()) {
    sealed_b64 = crypto::base64_encode(
        {reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size()});
  }
  {
    JsonObject o(out);
    o.text("detail", e.outcome_detail);
    if (!ip_is_private(e)) o.text("ip", e.source_ip);
    o.text("listener", e.listener);
    o.list("masked", e.masked_fields);
    o.text("node", e.node.empty() ? default_node : std::string_view(e.node));
    o.text("on_behalf_of", e.on_behalf_of);
    o.text("purpose", e.purpose);
    o.list("released", e.released_fields);
    o.text("request_id", e.request_id);
    o.text("resource", e.resource);
    o.text("role", e.role);
    o.text("sealed", sealed_b64);
  }  // closes the object
  return out;
}

void canonical(const store::AuditRowView& row, std::string& out) {
  out.clear();
  put_header(out, row.seq, row.time_us, row.lab_id, row.actor, row.patient_id, row.action,
             row.outcome);
  out += '\n';
  out += row.entry;
}

std::string canonical(const store::AuditRowView& row) {
  std::string out;
  canonical(row, out);
  return out;
}

}  // namespace labvault::audit
