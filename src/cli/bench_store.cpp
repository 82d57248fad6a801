// `labvault bench store`: the labvault side of bench/store.sh. Three write paths over the same
// synthetic observations, one thread, one process, fresh files each:
//   full   the real Store (store_messages): what ingest pays per observation, with patients,
//          reports, the sealed raw message, provenance and per-patient data keys around it;
//   sealed an observations table like the store's, `result` sealed exactly as the store seals it
//          (codec::encode, AES-256-GCM, the same associated data);
//   plain  the same table and rows with `result` as codec::encode in clear.
// sealed vs plain is what field encryption costs; full vs plain is the whole ingest overhead.
#include <fmt/format.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/temp_dir.hpp"
#include "crypto/aead.hpp"
#include "crypto/keyring.hpp"
#include "crypto/secret.hpp"
#include "model/lab.hpp"
#include "store/codec.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace labvault::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kLab = 1;
constexpr std::int64_t kNowUs = 1'790'000'000'000'000;

struct Analyte {
  const char* loinc;
  const char* name;
  const char* unit;
  double low, high;
};

// A CBC panel: realistic codes, units and ranges so the codec sees field sizes like production.
constexpr Analyte kAnalytes[] = {
    {"718-7", "Hemoglobin", "g/dL", 12.0, 16.0},
    {"6690-2", "Leukocytes", "10*3/uL", 4.0, 11.0},
    {"789-8", "Erythrocytes", "10*6/uL", 4.2, 5.4},
    {"4544-3", "Hematocrit", "%", 37.0, 47.0},
    {"787-2", "MCV", "fL", 80.0, 100.0},
    {"785-6", "MCH", "pg", 27.0, 33.0},
    {"786-4", "MCHC", "g/dL", 32.0, 36.0},
    {"788-0", "RDW", "%", 11.5, 14.5},
    {"777-3", "Platelets", "10*3/uL", 150.0, 400.0},
    {"32623-1", "MPV", "fL", 7.5, 11.5},
    {"770-8", "Neutrophils", "%", 40.0, 75.0},
    {"736-9", "Lymphocytes", "%", 20.0, 45.0},
    {"5905-5", "Monocytes", "%", 2.0, 10.0},
    {"713-8", "Eosinophils", "%", 0.0, 6.0},
};
constexpr int kAnalyteCount = static_cast<int>(std::size(kAnalytes));

model::DateTime at(int minute, int second) {
  model::DateTime t;
  t.precision = model::DateTime::Precision::kSecond;
  t.year = 2026, t.month = 11, t.day = 25, t.hour = 7;
  t.minute = minute, t.second = second;
  t.utc_offset_minutes = -300;
  return t;
}

model::Observation observation(int message, int position) {
  const Analyte& a = kAnalytes[position % kAnalyteCount];
  // Varies per row so values do not compress or repeat, within a plausible band.
  double value = a.low + (a.high - a.low) * ((message * 7 + position * 13) % 120) / 100.0;
  model::Observation o;
  o.set_id = std::to_string(position + 1);
  o.value_type = "NM";
  o.code.codings.push_back({a.loinc, a.name, "LN", ""});
  o.value = model::NumericValue{fmt::format("{:.1f}", value), value};
  o.unit = {a.unit, a.unit, "UCUM", ""};
  o.reference_range = {fmt::format("{:.1f}-{:.1f}", a.low, a.high), a.low, a.high};
  o.abnormal_flags.push_back(value < a.low ? "L" : value > a.high ? "H" : "N");
  o.status = model::ResultStatus::kFinal;
  o.observed = at(15, 0);
  o.issued = at(29, message % 60);
  return o;
}

// One ORU^R01 in model form, plus the HL7-ish bytes the store keeps (sealed) as `raw`.
struct Synthetic {
  model::LabMessage message;
  std::string raw;
};

Synthetic synthetic(int index, int observations) {
  Synthetic s;
  model::LabMessage& m = s.message;
  m.header = {"ANALYZER", "LAB1", "LABVAULT", "HOSP",
              at(30, 0),  "ORU",  "R01",      fmt::format("BENCH-{}", index),
              "P",        "2.5.1"};
  m.patient.identifiers.push_back({fmt::format("MRN{:08}", index), "LAB1", "MR"});
  m.patient.names.push_back({fmt::format("FAMILY{}", index), {"GIVEN"}, "", "", "L"});
  m.patient.birth_date.precision = model::DateTime::Precision::kDay;
  m.patient.birth_date.year = 1940 + index % 70;
  m.patient.birth_date.month = 1 + index % 12;
  m.patient.birth_date.day = 1 + index % 28;
  m.patient.sex = index % 2 ? model::Sex::kFemale : model::Sex::kMale;
  model::Report r;
  r.set_id = "1";
  r.placer_order_number = {fmt::format("PL-{}", index), "HOSP", ""};
  r.filler_order_number = {fmt::format("FL-{}", index), "LAB1", ""};
  r.service.codings.push_back({"58410-2", "CBC panel", "LN", ""});
  r.observed = at(15, 0);
  r.issued = at(29, 0);
  r.result_status_code = "F";
  r.status = model::ReportStatus::kFinal;
  for (int i = 0; i < observations; ++i) r.observations.push_back(observation(index, i));
  m.reports.push_back(std::move(r));

  s.raw = fmt::format(
      "MSH|^~\\&|ANALYZER|LAB1|LABVAULT|HOSP|20261125073000-0500||ORU^R01^ORU_R01|BENCH-{0}|P|"
      "2.5.1\rPID|1||MRN{0:08}^^^LAB1^MR||FAMILY{0}^GIVEN\rOBR|1|PL-{0}|FL-{0}|58410-2^CBC "
      "panel^LN|||20261125071500-0500\r",
      index);
  for (const model::Observation& o : m.reports[0].observations) {
    const model::Coding& c = o.code.codings[0];
    fmt::format_to(std::back_inserter(s.raw), "OBX|{}|NM|{}^{}^LN||{}|{}^^UCUM|{}|{}|||F\r",
                   o.set_id, c.code, c.display, std::get<model::NumericValue>(o.value).text,
                   o.unit.code, o.reference_range.text, o.abnormal_flags[0]);
  }
  return s;
}

struct Timing {
  long rows = 0;
  double seconds = 0;
  [[nodiscard]] double rate() const { return seconds > 0 ? rows / seconds : 0; }
};

// --- plain SQLite, driven directly through the C API

class Sqlite {
 public:
  explicit Sqlite(sqlite3* db) : db_(db) {}
  ~Sqlite() {
    if (insert_) sqlite3_finalize(insert_);
    if (db_) sqlite3_close_v2(db_);
  }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  static model::Result<std::unique_ptr<Sqlite>> open(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(file.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto db = std::make_unique<Sqlite>(raw);
    if (rc != SQLITE_OK) return db->fail("open");
    // The pragmas of store/sqlite/internal/db.cpp, so both sides pay the same fsyncs.
    if (auto r =
            db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                     "PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;");
        !r) {
      return std::unexpected(r.error());
    }
    return db;
  }

  model::Result<void> exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return fail(sql);
    return {};
  }

  // The observations table of migrations/001_records.sql with its two indexes (every insert
  // maintains them in the store too), minus the foreign keys whose parent tables are absent here.
  model::Result<void> create_observations() {
    if (auto r = exec(
            "CREATE TABLE observations (id INTEGER PRIMARY KEY, lab_id INTEGER NOT NULL, "
            "patient_id INTEGER NOT NULL, key_id INTEGER NOT NULL, report_id INTEGER NOT NULL, "
            "position INTEGER NOT NULL, code_system TEXT NOT NULL, code TEXT NOT NULL, "
            "status TEXT NOT NULL, sensitivity TEXT NOT NULL, result BLOB NOT NULL, "
            "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
            "CREATE INDEX observations_report ON observations(report_id, position);"
            "CREATE INDEX observations_patient_code ON observations(lab_id, patient_id, code);");
        !r) {
      return r;
    }
    if (sqlite3_prepare_v3(db_,
                           "INSERT INTO observations (id, lab_id, patient_id, key_id, report_id, "
                           "position, code_system, code, status, sensitivity, result, created_at, "
                           "updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12)",
                           -1, SQLITE_PREPARE_PERSISTENT, &insert_, nullptr) != SQLITE_OK) {
      return fail("prepare");
    }
    return {};
  }

  // Binds like store/sqlite Stmt (SQLITE_TRANSIENT copies), so both sides copy the same bytes.
  model::Result<void> insert(std::int64_t id, std::int64_t patient, std::int64_t report,
                             int position, const model::Observation& o, std::string_view result) {
    const model::Coding& c = o.code.codings.front();
    auto text = [&](int i, std::string_view v) {
      sqlite3_bind_text(insert_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    };
    sqlite3_bind_int64(insert_, 1, id);
    sqlite3_bind_int64(insert_, 2, kLab);
    sqlite3_bind_int64(insert_, 3, patient);
    sqlite3_bind_int64(insert_, 4, patient);
    sqlite3_bind_int64(insert_, 5, report);
    sqlite3_bind_int64(insert_, 6, position);
    text(7, c.system);
    text(8, c.code);
    text(9, model::to_hl7_code(o.status));
    text(10, model::to_string(o.sensitivity));
    sqlite3_bind_blob(insert_, 11, result.data(), static_cast<int>(result.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 12, kNowUs);
    int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) return fail("insert");
    return {};
  }

  model::Result<std::int64_t> count(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) return fail("prepare");
    std::int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
  }

 private:
  std::unexpected<model::Error> fail(std::string_view what) const {
    return model::fail(
        model::ErrorCode::kStorage,
        fmt::format("bench database: {}: {}", what, db_ ? sqlite3_errmsg(db_) : "out of memory"));
  }

  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
};

// Rows of the plain and sealed paths, in the store's order: message by message.
struct Row {
  std::int64_t patient, report;
  int position;
  const model::Observation* o;
};

std::vector<Row> rows_of(const std::vector<Synthetic>& messages) {
  std::vector<Row> rows;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    const auto& obs = messages[m].message.reports[0].observations;
    for (std::size_t i = 0; i < obs.size(); ++i) {
      auto id = static_cast<std::int64_t>(m + 1);
      rows.push_back({id, id, static_cast<int>(i), &obs[i]});
    }
  }
  return rows;
}

// With `key`, the result column is sealed the way SqliteStore::seal_into does it (reused
// buffers, "table\x1fcolumn\x1frow\x1flab" associated data, clear bytes wiped after sealing).
model::Result<Timing> run_table(const std::filesystem::path& file, const std::vector<Row>& rows,
                                int batch, const crypto::AeadKey* key) {
  auto db = Sqlite::open(file);
  if (!db) return std::unexpected(db.error());
  if (auto r = (*db)->create_observations(); !r) return std::unexpected(r.error());
  std::string plain, sealed, aad;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i % static_cast<std::size_t>(batch) == 0) {
      if (i > 0) {
        if (auto r = (*db)->exec("COMMIT"); !r) return std::unexpected(r.error());
      }
      if (auto r = (*db)->exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
    }
    const Row& row = rows[i];
    auto id = static_cast<std::int64_t>(i + 1);
    plain = store::codec::encode(*row.o);
    std::string_view result = plain;
    if (key) {
      aad.clear();
      fmt::format_to(std::back_inserter(aad), "{}\x1f{}\x1f{}\x1f{}", "observations", "result", id,
                     kLab);
      sealed.clear();
      if (auto r = key->seal(plain, aad, sealed); !r) return std::unexpected(r.error());
      crypto::wipe(plain);
      result = sealed;
    }
    if (auto r = (*db)->insert(id, row.patient, row.report, row.position, *row.o, result); !r) {
      return std::unexpected(r.error());
    }
  }
  if (!rows.empty()) {
    if (auto r = (*db)->exec("COMMIT"); !r) return std::unexpected(r.error());
  }
  Timing t{static_cast<long>(rows.size()),
           std::chrono::duration<double>(Clock::now() - start).count()};
  auto n = (*db)->count("SELECT count(*) FROM observations");
  if (!n) return std::unexpected(n.error());
  if (*n != t.rows) {
    return model::fail(model::ErrorCode::kInternal,
                       fmt::format("{} holds {} rows, expected {}", file.string(), *n, t.rows));
  }
  return t;
}

// --- the real store

model::Result<Timing> run_store(const std::filesystem::path& root,
                                const std::vector<Synthetic>& messages, int per_call) {
  auto ring = crypto::Keyring::create(root / "keyring", "2026-11-25T00:00:00Z");
  if (!ring) return std::unexpected(ring.error());
  std::filesystem::create_directories(root / "data");
  const auto db_file = root / "data" / store::sqlite::kDatabaseFile;
  auto opened = store::sqlite::open(db_file, *ring);
  if (!opened) return std::unexpected(opened.error());
  store::Store& s = **opened;
  auto lab = s.create_lab("BENCH", "Bench lab");
  if (!lab) return std::unexpected(lab.error());

  long rows = 0;
  std::vector<store::Inbound> inbound;
  inbound.reserve(messages.size());
  for (const Synthetic& m : messages) {
    inbound.push_back(
        {"ANALYZER^LAB1", m.message.header.control_id, "hl7", m.raw, &m.message, std::nullopt, {}});
    rows += static_cast<long>(m.message.reports[0].observations.size());
  }
  std::span<const store::Inbound> all(inbound);
  const auto start = Clock::now();
  for (std::size_t at = 0; at < all.size(); at += static_cast<std::size_t>(per_call)) {
    auto batch = all.subspan(at, std::min(all.size() - at, static_cast<std::size_t>(per_call)));
    auto outcomes = s.store_messages(lab->id, batch, nullptr);
    if (!outcomes) return std::unexpected(outcomes.error());
    for (const store::Outcome& o : *outcomes) {
      if (o.error) return std::unexpected(*o.error);
      if (o.duplicate) return model::fail(model::ErrorCode::kInternal, "unexpected duplicate");
    }
  }
  Timing t{rows, std::chrono::duration<double>(Clock::now() - start).count()};
  opened->reset();
  auto check = Sqlite::open(db_file);
  if (!check) return std::unexpected(check.error());
  auto n = (*check)->count("SELECT count(*) FROM observations");
  if (!n) return std::unexpected(n.error());
  if (*n != rows) {
    return model::fail(model::ErrorCode::kInternal,
                       fmt::format("the store holds {} observations, expected {}", *n, rows));
  }
  return t;
}

double overhead_pct(const Timing& slower, const Timing& base) {
  // Time per row, not rate: "costs 15% more" means 15% more seconds for the same rows.
  return (slower.seconds / slower.rows) / (base.seconds / base.rows) * 100.0 - 100.0;
}

}  // namespace

int run_bench_store(const BenchStoreArgs& args) {
  if (args.rows <= 0 || args.batch <= 0 || args.per_message <= 0) {
    eprint("labvault: bench store: --rows, --batch and --per-message must be positive\n");
    return kExitUsage;
  }
  auto dir = make_temp_dir(args.dir.empty() ? std::filesystem::temp_directory_path() : args.dir);
  if (!dir) return print_error(dir.error()), kExitUserError;
  TempDir cleanup{*dir};

  // Everything is built before any clock starts: the bench times storage, not generation.
  std::vector<Synthetic> messages;
  messages.reserve(static_cast<std::size_t>(args.rows / args.per_message + 1));
  for (int done = 0, i = 1; done < args.rows; ++i) {
    int n = std::min(args.per_message, args.rows - done);
    messages.push_back(synthetic(i, n));
    done += n;
  }
  const std::vector<Row> rows = rows_of(messages);
  const int per_call = std::max(1, args.batch / args.per_message);

  auto raw_key = crypto::random_key(crypto::kKeySize);
  if (!raw_key) return print_error(raw_key.error()), kExitUserError;
  auto key = crypto::AeadKey::make({1, 1}, std::move(*raw_key));
  if (!key) return print_error(key.error()), kExitUserError;

  // Cheapest first, so that whatever the disk learns (allocation, page cache) helps the
  // labvault paths no more than the baseline.
  auto plain = run_table(*dir / "plain.db", rows, args.batch, nullptr);
  if (!plain) return print_error(plain.error()), kExitUserError;
  auto sealed = run_table(*dir / "sealed.db", rows, args.batch, &*key);
  if (!sealed) return print_error(sealed.error()), kExitUserError;
  auto full = run_store(*dir, messages, per_call);
  if (!full) return print_error(full.error()), kExitUserError;

  fmt::print("{} observations, {} per message ({} messages), {} observations per transaction\n",
             args.rows, args.per_message, messages.size(), per_call * args.per_message);
  fmt::print("{:<44} {:>8} {:>8} {:>10} {:>9}\n", "path", "rows", "seconds", "rows/s", "vs plain");
  auto line = [](std::string_view name, const Timing& t, std::string overhead) {
    fmt::print("{:<44} {:>8} {:>8.3f} {:>10.0f} {:>9}\n", name, t.rows, t.seconds, t.rate(),
               overhead);
  };
  line("(b) plain SQLite observations", *plain, "-");
  line("(c) labvault observations only (sealed)", *sealed,
       fmt::format("{:+.1f}%", overhead_pct(*sealed, *plain)));
  line("(a) labvault store_messages (full ingest)", *full,
       fmt::format("{:+.1f}%", overhead_pct(*full, *plain)));
  fmt::print(
      "labvault_encrypted_obs_per_s={:.0f} sealed_obs_per_s={:.0f} plain_obs_per_s={:.0f} "
      "overhead_pct={:.1f} full_overhead_pct={:.1f}\n",
      full->rate(), sealed->rate(), plain->rate(), overhead_pct(*sealed, *plain),
      overhead_pct(*full, *plain));
  return kExitOk;
}

}  // namespace labvault::cli
