// `labvault audit export|tail|query`: the privacy officer's view of the log. Export writes JSON
// lines, FHIR AuditEvents (NDJSON) or RFC 5424 lines; tail and query answer "who looked at this
// patient's results" from the clear columns. Every export is itself an audit record.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "audit/export.hpp"
#include "audit/syslog.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "cli/formats.hpp"

namespace labvault::cli {

using model::ErrorCode;

namespace {

constexpr int kPage = 1000;

// "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" to UTC microseconds.
model::Result<std::int64_t> parse_utc(std::string_view flag, const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char z = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z);
  bool date_only = n == 3 && text.size() == 10;
  bool full = n == 7 && z == 'Z' && text.size() == 20;
  if ((!date_only && !full) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      s > 60) {
    return model::fail(ErrorCode::kUsage,
                       fmt::format("{}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", flag));
  }
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1'000'000;
}

std::string utc(std::int64_t us) {
  std::time_t t = us / 1'000'000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1'000'000);
}

struct Session {
  Config config;
  Opened opened;
  audit::ExportContext context;
};

model::Result<Session> open_session(const AuditArgs& args) {
  auto config = load_config(args.config);
  if (!config) return std::unexpected(config.error());
  auto opened = open_data(*config);
  if (!opened) return std::unexpected(opened.error());
  Session s{std::move(*config), std::move(*opened), {}};
  auto labs = s.opened.store->list_labs();
  if (!labs) return std::unexpected(labs.error());
  for (const auto& lab : *labs) s.context.lab_codes[lab.id] = lab.code;
  if (args.reveal) {
    store::Store* store = s.opened.store.get();
    s.context.reveal = [store](store::Id lab, std::uint64_t seq, std::string_view sealed) {
      return store->open_audit_text(lab, seq, sealed);
    };
  }
  return s;
}

model::Result<store::AuditQuery> query_of(const AuditArgs& args, Session& s) {
  store::AuditQuery q;
  if (args.lab) {
    auto lab = s.opened.store->find_lab(*args.lab);
    if (!lab) return std::unexpected(lab.error());
    if (!*lab) return model::fail(ErrorCode::kNotFound, fmt::format("no lab '{}'", *args.lab));
    q.lab = (*lab)->id;
  }
  q.patient = args.patient;
  q.actor = args.user;
  q.action = args.action;
  if (args.since) {
    auto t = parse_utc("--since", *args.since);
    if (!t) return std::unexpected(t.error());
    q.from_us = *t;
  }
  if (args.until) {
    auto t = parse_utc("--until", *args.until);
    if (!t) return std::unexpected(t.error());
    q.to_us = *t;
  }
  q.after_seq = args.from_seq > 0 ? args.from_seq - 1 : 0;
  q.limit = kPage;
  return q;
}

// Calls `each` for every record the query selects, page by page (bounded memory).
template <typename F>
model::Result<std::uint64_t> for_each_record(store::Store& store, store::AuditQuery q, F&& each) {
  std::uint64_t n = 0;
  for (;;) {
    auto rows = store.query_audit(q);
    if (!rows) return std::unexpected(rows.error());
    for (const auto& row : *rows) {
      if (auto r = each(row); !r) return std::unexpected(r.error());
      ++n;
    }
    if (rows->size() < static_cast<std::size_t>(q.limit)) return n;
    q.after_seq = rows->back().seq;
  }
}

std::string table_line(const store::AuditRow& row, const audit::ParsedEntry& p) {
  return fmt::format("{:>8}  {}  {:<12} {:<18} {:<14} {:<22} {:>8}  {}{}\n", row.seq,
                     utc(row.time_us), row.actor, p.event.role, row.action, p.event.resource,
                     row.patient_id ? std::to_string(row.patient_id) : "-", row.outcome,
                     p.event.outcome_detail.empty() ? "" : " (" + p.event.outcome_detail + ")");
}

// A bad flag value (a time that does not parse) is a usage error: exit 2, not 1.
int exit_for(const model::Error& e) {
  print_error(e);
  return e.code == ErrorCode::kUsage ? kExitUsage : kExitUserError;
}

constexpr const char* kTableHeader =
    "     seq  time (UTC)                   actor        role               action         "
    "resource                patient  outcome\n";

int record_export(Session& s, const AuditArgs& args, std::uint64_t n, std::string_view what) {
  audit::Event e{
      .actor = cli_actor(),
      .role = "auditor",
      .action = audit::Action::kAuditExport,
      .resource = "AuditLog",
      .outcome_detail = fmt::format("{}-{}-records{}", what, n, args.reveal ? "-revealed" : "")};
  if (auto r = s.opened.audit->record(e); !r) return print_error(r.error()), kExitUserError;
  return kExitOk;
}

}  // namespace

int run_audit_export(const AuditArgs& args) {
  if (args.format != "jsonl" && args.format != "fhir" && args.format != "syslog") {
    eprint("labvault: --format must be jsonl, fhir or syslog\n");
    return kExitUsage;
  }
  auto s = open_session(args);
  if (!s) return print_error(s.error()), kExitUserError;
  auto q = query_of(args, *s);
  if (!q) return exit_for(q.error());
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string out;
  auto n = for_each_record(*s->opened.store, *q, [&](const store::AuditRow& row) {
    model::Result<std::string> line;
    if (args.format == "jsonl") {
      line = audit::to_jsonl(row, s->context);
    } else if (args.format == "fhir") {
      line = audit::to_fhir_audit_event(row, s->context);
    } else {
      auto parsed = audit::parse_entry(row);
      if (!parsed) return model::Result<void>(std::unexpected(parsed.error()));
      line = audit::format_rfc5424(audit::to_syslog_event(*parsed, row), host, "labvault",
                                   std::to_string(::getpid()));
    }
    if (!line) return model::Result<void>(std::unexpected(line.error()));
    out += *line;
    out += '\n';
    return model::Result<void>();
  });
  if (!n) return print_error(n.error()), kExitUserError;
  // The export is recorded before the data leaves (invariant 4).
  if (int rc = record_export(*s, args, *n, args.format); rc != kExitOk) return rc;
  if (args.output) {
    if (auto r = write_file_atomically(*args.output, out); !r) {
      return print_error(r.error()), kExitUserError;
    }
    eprint("exported {} audit records to {}\n", *n, args.output->string());
  } else if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() ||
             std::fflush(stdout) != 0) {
    eprint("labvault: cannot write to standard output\n");
    return kExitUserError;
  }
  return kExitOk;
}

int run_audit_query(const AuditArgs& args) {
  if (args.format != "table" && args.format != "jsonl") {
    eprint("labvault: --format must be table or jsonl\n");
    return kExitUsage;
  }
  auto s = open_session(args);
  if (!s) return print_error(s.error()), kExitUserError;
  auto q = query_of(args, *s);
  if (!q) return exit_for(q.error());
  std::string out = args.format == "table" ? kTableHeader : "";
  auto n = for_each_record(*s->opened.store, *q, [&](const store::AuditRow& row) {
    if (args.format == "jsonl") {
      auto line = audit::to_jsonl(row, s->context);
      if (!line) return model::Result<void>(std::unexpected(line.error()));
      out += *line + "\n";
      return model::Result<void>();
    }
    auto parsed = audit::parse_entry(row);
    if (!parsed) return model::Result<void>(std::unexpected(parsed.error()));
    out += table_line(row, *parsed);
    return model::Result<void>();
  });
  if (!n) return print_error(n.error()), kExitUserError;
  if (int rc = record_export(*s, args, *n, "query"); rc != kExitOk) return rc;
  fmt::print("{}", out);
  if (args.format == "table") fmt::print("{} records\n", *n);
  return kExitOk;
}

int run_audit_tail(const AuditArgs& args) {
  auto s = open_session(args);
  if (!s) return print_error(s.error()), kExitUserError;
  auto last = s->opened.store->last_audit();
  if (!last) return print_error(last.error()), kExitUserError;
  std::uint64_t end = *last ? (*last)->seq : 0;
  std::uint64_t from = end > static_cast<std::uint64_t>(args.lines) ? end - args.lines + 1 : 1;
  auto rows = s->opened.store->read_audit(from, static_cast<std::size_t>(args.lines));
  if (!rows) return print_error(rows.error()), kExitUserError;
  std::string out = kTableHeader;
  for (const auto& row : *rows) {
    auto parsed = audit::parse_entry(row);
    if (!parsed) return print_error(parsed.error()), kExitUserError;
    out += table_line(row, *parsed);
  }
  if (int rc = record_export(*s, args, rows->size(), "tail"); rc != kExitOk) return rc;
  fmt::print("{}", out);
  return kExitOk;
}

}  // namespace labvault::cli
