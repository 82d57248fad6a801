// `labvault bench ingest`: the load generator of bench/ingest.sh. N connections (one thread
// each, net::MllpClient, plaintext or TLS) send one ORU^R01 over and over to an MLLP listener,
// every copy made unique: MSH-10 (else it is a retransmission, acknowledged and stored once),
// PID-3 (the patient), ORC-2/OBR-2 and ORC-3/OBR-3 (a filler order number belongs to one
// patient) and SPM-2. Two modes:
//   closed loop (--rate 0): each connection sends its next message as soon as the ACK arrives;
//   open loop (--rate R): R msgs/s in total on a fixed schedule spread over the connections;
//     latency counts from the scheduled send time, so a stalled server is charged for the
//     messages it delayed (no coordinated omission). One message in flight per connection: a
//     connection that falls behind sends its overdue messages back to back.
// Every ACK must be AA and name the message it answers (MSA-2); exit 1 otherwise.
// The last line is machine-readable: ingest_msgs_per_s=... p50_ms=... p99_ms=... ok=... failed=...
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/formats.hpp"
#include "hl7/hl7.hpp"
#include "hl7/message.hpp"
#include "net/mllp_client.hpp"

namespace labvault::cli {

namespace {

using Clock = std::chrono::steady_clock;
using model::ErrorCode;

// What a generated value replaces: the whole of MSH-10, or the first component of the first
// repetition of an identifier field.
enum class Slot { kControlId, kPatient, kPlacer, kFiller, kSpecimen };

// The message cut at the values that change per copy: literal[0] slot[0] literal[1] ... .
struct Template {
  std::vector<std::string> literals;
  std::vector<Slot> slots;
  std::size_t size_hint = 0;
};

// Finds the slots in a message with CR segment ends. kUsage when the message lacks MSH-10 or
// PID-3 (the bench needs both to make copies distinct).
model::Result<Template> make_template(const std::string& text) {
  if (text.size() < 8 || !text.starts_with("MSH")) {
    return model::fail(ErrorCode::kUsage, "the message must start with MSH");
  }
  const char field_sep = text[3], component_sep = text[4], repetition_sep = text[5],
             subcomponent_sep = text[7];
  struct Cut {
    std::size_t begin, end;
    Slot slot;
  };
  std::vector<Cut> cuts;
  bool have_control_id = false, have_patient = false;
  std::size_t seg_begin = 0;
  while (seg_begin < text.size()) {
    std::size_t seg_end = text.find('\r', seg_begin);
    if (seg_end == std::string::npos) seg_end = text.size();
    std::string_view seg(text.data() + seg_begin, seg_end - seg_begin);
    std::string_view id = seg.substr(0, 3);
    // Field n starts after the n-th separator (MSH: after the (n-1)-th, MSH-1 being the
    // separator itself).
    auto field = [&](int n) -> std::pair<std::size_t, std::size_t> {
      int want = id == "MSH" ? n - 1 : n;
      std::size_t at = 3, count = 0;
      while (at < seg.size() && static_cast<int>(count) < want) {
        at = seg.find(field_sep, at);
        if (at == std::string_view::npos) return {seg.size(), seg.size()};
        ++count;
        ++at;
      }
      if (static_cast<int>(count) < want) return {seg.size(), seg.size()};
      std::size_t end = seg.find(field_sep, at);
      return {at, end == std::string_view::npos ? seg.size() : end};
    };
    auto whole = [&](int n, Slot slot) {
      auto [b, e] = field(n);
      if (b < e) cuts.push_back({seg_begin + b, seg_begin + e, slot});
      return b < e;
    };
    auto first_component = [&](int n, Slot slot) {
      auto [b, e] = field(n);
      std::size_t stop = b;
      while (stop < e && seg[stop] != component_sep && seg[stop] != repetition_sep &&
             seg[stop] != subcomponent_sep) {
        ++stop;
      }
      if (b < stop) cuts.push_back({seg_begin + b, seg_begin + stop, slot});
      return b < stop;
    };
    if (id == "MSH") {
      have_control_id = whole(10, Slot::kControlId) || have_control_id;
    } else if (id == "PID") {
      have_patient = first_component(3, Slot::kPatient) || have_patient;
    } else if (id == "ORC" || id == "OBR") {
      first_component(2, Slot::kPlacer);
      first_component(3, Slot::kFiller);
    } else if (id == "SPM") {
      first_component(2, Slot::kSpecimen);
    }
    seg_begin = seg_end + 1;
  }
  if (!have_control_id || !have_patient) {
    return model::fail(ErrorCode::kUsage,
                       "the message needs MSH-10 and PID-3 (each copy gets its own values)");
  }
  Template t;
  std::size_t at = 0;
  for (const Cut& c : cuts) {  // segments were walked in order, so cuts are sorted
    t.literals.push_back(text.substr(at, c.begin - at));
    t.slots.push_back(c.slot);
    at = c.end;
  }
  t.literals.push_back(text.substr(at));
  t.size_hint = text.size() + 32 * t.slots.size();
  return t;
}

// Copy `seq` of connection `conn`: every generated value is distinct across connections and
// runs (prefix), and fits HL7 v2.5.1's 20-character ST for MSH-10 with a short prefix.
void render(const Template& t, const std::string& prefix, int conn, std::uint64_t seq,
            std::uint64_t patient, std::string& out, std::string& control_id) {
  out.clear();
  control_id = fmt::format("{}{:x}-{}", prefix, conn, seq);
  for (std::size_t i = 0; i < t.slots.size(); ++i) {
    out += t.literals[i];
    switch (t.slots[i]) {
      case Slot::kControlId:
        out += control_id;
        break;
      case Slot::kPatient:
        fmt::format_to(std::back_inserter(out), "M{}{:x}-{}", prefix, conn, patient);
        break;
      case Slot::kPlacer:
        fmt::format_to(std::back_inserter(out), "P{}{:x}-{}", prefix, conn, seq);
        break;
      case Slot::kFiller:
        fmt::format_to(std::back_inserter(out), "F{}{:x}-{}", prefix, conn, seq);
        break;
      case Slot::kSpecimen:
        fmt::format_to(std::back_inserter(out), "S{}{:x}-{}", prefix, conn, seq);
        break;
    }
  }
  out += t.literals.back();
}

// MSA-1 and MSA-2 of an ACK, without a full parse (the generator must not be the bottleneck).
struct AckFields {
  std::string_view code, control_id;
};

AckFields read_ack(std::string_view ack) {
  if (ack.size() < 8 || !ack.starts_with("MSH")) return {};
  const char sep = ack[3];
  std::size_t at = 0;
  while (at < ack.size()) {
    std::size_t end = ack.find_first_of("\r\n", at);
    if (end == std::string_view::npos) end = ack.size();
    std::string_view seg = ack.substr(at, end - at);
    if (seg.size() > 4 && seg.starts_with("MSA") && seg[3] == sep) {
      std::string_view rest = seg.substr(4);
      auto bar = rest.find(sep);
      AckFields f{rest.substr(0, bar), {}};
      if (bar != std::string_view::npos) {
        rest = rest.substr(bar + 1);
        f.control_id = rest.substr(0, rest.find(sep));
      }
      return f;
    }
    at = end + 1;
  }
  return {};
}

struct Worker {
  std::uint64_t ok = 0, not_aa = 0, wrong_id = 0, io_errors = 0, reconnects = 0;
  std::uint64_t warmup_sent = 0, behind = 0;  // behind: scheduled, not sent before the end
  std::vector<std::uint32_t> latency_us;      // measured messages only
  std::uint64_t in_window = 0;  // AA received inside the measured window, whenever sent
  std::string first_problem;
};

struct Shared {
  const BenchIngestArgs& args;
  const net::MllpClientOptions& client_options;
  const Template& templ;
  std::string prefix;
  std::latch connected;
  std::latch go{1};
  Clock::time_point start{}, measure_from{}, end{};  // written before `go` opens
  std::atomic<bool> abort{false};
};

std::uint32_t micros(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX));
}

void note(Worker& w, std::string what) {
  if (w.first_problem.empty()) w.first_problem = std::move(what);
}

void run_worker(Shared& s, int conn, Worker& w) {
  auto client = net::MllpClient::connect(s.client_options);
  if (!client) {
    note(w, client.error().to_string());
    s.abort = true;
  }
  s.connected.count_down();
  s.go.wait();
  if (!client || s.abort) return;

  const BenchIngestArgs& a = s.args;
  const bool open_loop = a.rate > 0;
  // Open loop: this connection's share of the schedule, offset so connections interleave.
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(open_loop ? a.connections / a.rate : 0));
  const auto offset = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(open_loop ? conn / a.rate : 0));
  double expected = (open_loop ? a.rate / a.connections : 4000.0) * a.seconds;
  w.latency_us.reserve(static_cast<std::size_t>(std::min(expected * 1.2, 5e7)));

  std::string message, control_id;
  message.reserve(s.templ.size_hint);
  for (std::uint64_t seq = 0;; ++seq) {
    Clock::time_point sent_at;
    if (open_loop) {
      sent_at = s.start + offset + interval * static_cast<std::int64_t>(seq);
      if (sent_at >= s.end) break;
      if (Clock::now() >= s.end) {
        // Fell behind: what is left was never sent. Each measured one still counts, with its
        // wait until the end as latency (a lower bound), so a saturated server cannot look
        // fast by leaving its worst cases out.
        for (auto t = sent_at; t < s.end; t += interval) {
          ++w.behind;
          if (t >= s.measure_from) w.latency_us.push_back(micros(s.end - t));
        }
        break;
      }
      std::this_thread::sleep_until(sent_at);
    } else {
      sent_at = Clock::now();
      if (sent_at >= s.end) break;
    }
    if (s.abort) break;
    std::uint64_t patient = a.patients > 0 ? seq % static_cast<std::uint64_t>(a.patients) : seq;
    render(s.templ, s.prefix, conn, seq, patient, message, control_id);
    auto ack = client->send(message);
    const auto acked_at = Clock::now();
    const bool measured = sent_at >= s.measure_from;
    if (!ack) {
      ++w.io_errors;
      note(w, ack.error().to_string());
      // The connection is closed after any failure (MllpClient's invariant): reconnect once.
      auto again = net::MllpClient::connect(s.client_options);
      if (!again) {
        note(w, again.error().to_string());
        break;
      }
      ++w.reconnects;
      *client = std::move(*again);
      continue;
    }
    AckFields f = read_ack(*ack);
    if (f.code != "AA" || f.control_id != control_id) {
      if (f.code != "AA") {
        ++w.not_aa;
        note(w, fmt::format("MSA-1 '{}' (first non-AA ACK)", f.code));
      } else {
        ++w.wrong_id;
        note(w, "an ACK's MSA-2 does not name the message it answers");
      }
      // Nothing accepted in the first 100: a setup problem (sender, certificate); stop everyone.
      if (w.ok + w.warmup_sent == 0 && w.not_aa + w.wrong_id >= 100) s.abort = true;
      continue;
    }
    if (acked_at >= s.measure_from && acked_at < s.end) ++w.in_window;
    if (!measured) {
      ++w.warmup_sent;
      continue;
    }
    ++w.ok;
    w.latency_us.push_back(micros(acked_at - sent_at));
  }
  client->close();
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

}  // namespace

int run_bench_ingest(const BenchIngestArgs& args) {
  if (args.connections < 1 || args.connections > 1024 || args.seconds <= 0 || args.warmup < 0 ||
      args.rate < 0 || args.patients < 0) {
    eprint(
        "labvault: bench ingest: --connections (1-1024) and --seconds must be positive; "
        "--warmup, --rate and --patients not negative\n");
    return kExitUsage;
  }
  if (args.id_prefix.size() > 8 || !std::ranges::all_of(args.id_prefix, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
      })) {
    eprint("labvault: bench ingest: --id-prefix: at most 8 letters or digits\n");
    return kExitUsage;
  }
  auto options = mllp_client_options(args.to, args.tls_ca, args.cert, args.key, args.server_name);
  if (!options) return print_error(options.error()), kExitUsage;
  net::MllpClientOptions& o = *options;

  auto bytes = read_file(args.file);
  if (!bytes) return print_error(bytes.error()), kExitUserError;
  auto split = hl7::split_file(*bytes, args.file.string());
  if (!split) return print_error(split.error()), kExitUserError;
  if (split->messages.size() != 1) {
    eprint("labvault: bench ingest: {}: expected exactly one message, found {}\n",
           args.file.string(), split->messages.size());
    return kExitUserError;
  }
  // CR segment ends whatever the file uses; one CR after the last segment.
  std::string text;
  std::string_view raw = split->messages[0].text;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    text += raw[i] == '\n' ? '\r' : raw[i];
  }
  while (!text.empty() && text.back() == '\r') text.pop_back();
  text += '\r';
  auto templ = make_template(text);
  if (!templ) {
    eprint("labvault: bench ingest: {}: {}\n", args.file.string(), templ.error().message);
    return kExitUserError;
  }

  std::string prefix = args.id_prefix;
  if (prefix.empty()) {
    std::random_device rd;
    prefix = fmt::format("{:06x}", rd() & 0xffffff);
  }
  // Fail before any load if a copy does not map (the template cut something it should not).
  {
    std::string copy, id;
    render(*templ, prefix, 0, 0, 0, copy, id);
    auto mapped = hl7::parse_to_model(copy, args.file.string());
    if (!mapped) return print_error(mapped.error()), kExitUserError;
  }

  Shared shared{args, o, *templ, prefix, std::latch(args.connections)};
  std::vector<Worker> workers(static_cast<std::size_t>(args.connections));
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (int c = 0; c < args.connections; ++c) {
    threads.emplace_back([&shared, &workers, c] { run_worker(shared, c, workers[c]); });
  }
  shared.connected.wait();  // every TLS handshake done before the clock starts
  shared.start = Clock::now() + std::chrono::milliseconds(20);
  shared.measure_from = shared.start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(args.warmup));
  shared.end = shared.measure_from + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(args.seconds));
  shared.go.count_down();
  for (auto& t : threads) t.join();

  Worker total;
  std::vector<std::uint32_t> latency;
  for (Worker& w : workers) {
    total.ok += w.ok, total.not_aa += w.not_aa, total.wrong_id += w.wrong_id;
    total.io_errors += w.io_errors, total.reconnects += w.reconnects;
    total.warmup_sent += w.warmup_sent, total.behind += w.behind;
    latency.insert(latency.end(), w.latency_us.begin(), w.latency_us.end());
    total.in_window += w.in_window;
    if (total.first_problem.empty()) total.first_problem = w.first_problem;
  }
  std::ranges::sort(latency);
  // Throughput: ACKs (AA) that arrived inside the measured window, whenever their message was
  // sent or scheduled (a lagging open-loop run drains its warm-up backlog into the window).
  double rate = static_cast<double>(total.in_window) / args.seconds;
  std::uint64_t failed = total.not_aa + total.wrong_id + total.io_errors;

  fmt::print(
      "labvault bench ingest: {} {} connection(s) to {}, {}; {} s measured after {} s "
      "warm-up; {} byte message, ids prefixed {}\n",
      args.connections, args.tls_ca ? "TLS" : "plaintext", args.to,
      args.rate > 0 ? fmt::format("open loop at {:.0f} msgs/s offered", args.rate)
                    : std::string("closed loop (next message when the ACK arrives)"),
      args.seconds, args.warmup, text.size(), prefix);
  fmt::print(
      "  accepted (AA): {} measured + {} warm-up; not AA: {}; wrong MSA-2: {}; I/O errors: "
      "{} ({} reconnects){}\n",
      total.ok, total.warmup_sent, total.not_aa, total.wrong_id, total.io_errors, total.reconnects,
      total.behind ? fmt::format("; {} scheduled messages never sent (fell behind; those "
                                 "due in the window count as latency, their wait until "
                                 "the end)",
                                 total.behind)
                   : "");
  if (!total.first_problem.empty()) fmt::print("  first problem: {}\n", total.first_problem);
  fmt::print(
      "  throughput: {:.0f} msgs/s; ACK latency{}: p50 {:.3f} ms, p90 {:.3f} ms, p99 {:.3f} "
      "ms, p99.9 {:.3f} ms, max {:.3f} ms\n",
      rate, args.rate > 0 ? " from scheduled send" : "", percentile_ms(latency, 50),
      percentile_ms(latency, 90), percentile_ms(latency, 99), percentile_ms(latency, 99.9),
      latency.empty() ? 0.0 : latency.back() / 1000.0);
  fmt::print(
      "ingest_msgs_per_s={:.0f} p50_ms={:.3f} p90_ms={:.3f} p99_ms={:.3f} max_ms={:.3f} "
      "ok={} failed={} behind={} offered_per_s={:.0f} connections={} seconds={}\n",
      rate, percentile_ms(latency, 50), percentile_ms(latency, 90), percentile_ms(latency, 99),
      latency.empty() ? 0.0 : latency.back() / 1000.0, total.ok, failed, total.behind, args.rate,
      args.connections, args.seconds);
  std::fflush(stdout);
  if (shared.abort && total.ok == 0 && total.warmup_sent == 0) return kExitUserError;
  return failed == 0 && !shared.abort ? kExitOk : kExitUserError;
}

}  // namespace labvault::cli
