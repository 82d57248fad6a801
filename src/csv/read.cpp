// read(): CSV text -> LabMessages. Each row is one observation; its patient and report cells
// must agree with earlier rows of the same patient or report, so that no row silently
// overrides another row's demographics or order.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "csv/csv.hpp"
#include "csv/internal/convert.hpp"
#include "csv/internal/date_format.hpp"
#include "csv/internal/fields.hpp"
#include "csv/internal/groups.hpp"
#include "csv/internal/record_reader.hpp"
#include "csv/internal/values.hpp"

namespace labvault::csv {
namespace {

using internal::Level;
using internal::PatientGroup;
using internal::Record;
using internal::ReportGroup;
using internal::Slot;
using internal::Slots;
using internal::StringMap;
using model::ErrorCode;

int index(Field f) { return static_cast<int>(f); }

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '\r' && text[i] != '\n') continue;
    lines.emplace_back(text.substr(start, i - start));
    if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  return lines;
}

class Reader {
 public:
  Reader(const Mapping& mapping, internal::DateFormat dates, std::string_view file_name)
      : mapping_(mapping), dates_(std::move(dates)), file_(file_name) {
    column_of_.fill(-1);
  }

  model::Result<std::vector<model::LabMessage>> read(std::string_view text) {
    internal::RecordReader records(text, mapping_.delimiter, file_);
    Record record;
    bool first = true;
    for (;;) {
      auto more = records.next(record);
      if (!more) return std::unexpected(with_column_name(std::move(more.error())));
      if (!*more) break;
      if (first) {
        first = false;
        if (auto ok = resolve_columns(record); !ok) return std::unexpected(ok.error());
        if (mapping_.header) continue;
      }
      // Spreadsheets save rows of bare delimiters (",,,,") after the data: no content, no row.
      if (std::ranges::all_of(record.fields, [](const std::string& f) { return f.empty(); }))
        continue;
      if (auto ok = add_row(record); !ok) return std::unexpected(ok.error());
    }
    if (first && mapping_.header) {
      return model::fail(ErrorCode::kParse, "file is empty; expected a header row",
                         model::Location{.file = file_});
    }
    std::vector<model::LabMessage> messages;
    messages.reserve(patients_.size());
    for (PatientGroup& patient : patients_)
      messages.push_back(internal::build_message(std::move(patient), mapping_, dates_, file_));
    return messages;
  }

 private:
  model::Error with_column_name(model::Error e) const {
    int column = e.location.column;
    if (column >= 1 && column <= static_cast<int>(header_.size()))
      e.location.column_name = header_[column - 1];
    return e;
  }

  model::Error error_at_column(int column, ErrorCode code, std::string message) const {
    return with_column_name(
        model::Error{code, std::move(message),
                     model::Location{.file = file_, .line = row_->line, .column = column}});
  }

  std::unexpected<model::Error> fail_at(Field f, ErrorCode code, std::string message) const {
    return std::unexpected(error_at_column(column_of_[index(f)] + 1, code, std::move(message)));
  }

  model::Result<void> resolve_columns(const Record& first) {
    row_ = &first;
    if (!mapping_.header) {
      width_ = first.fields.size();
      for (const ColumnMapping& c : mapping_.columns) {
        if (c.number > static_cast<int>(width_)) {
          return std::unexpected(error_at_column(
              static_cast<int>(width_) + 1, ErrorCode::kParse,
              fmt::format("expected at least {} columns ({} is column {}), found {}", c.number,
                          field_name(c.field), c.number, width_)));
        }
        column_of_[index(c.field)] = c.number - 1;
      }
      return {};
    }
    width_ = first.fields.size();
    for (const std::string& name : first.fields)
      header_.emplace_back(internal::trim(internal::strip_formula_guard(name)));
    for (const ColumnMapping& c : mapping_.columns) {
      for (std::size_t i = 0; i < header_.size(); ++i) {
        if (header_[i] != c.name) continue;
        if (column_of_[index(c.field)] >= 0) {
          return std::unexpected(
              error_at_column(static_cast<int>(i) + 1, ErrorCode::kParse,
                              fmt::format("column '{}' appears twice in the header; {} needs one",
                                          c.name, field_name(c.field))));
        }
        column_of_[index(c.field)] = static_cast<int>(i);
      }
      if (column_of_[index(c.field)] < 0) {
        model::Location where{.file = file_, .line = first.line, .column_name = c.name};
        return model::fail(ErrorCode::kRequiredFieldMissing,
                           fmt::format("missing required column '{}' in header (mapped to {})",
                                       c.name, field_name(c.field)),
                           std::move(where));
      }
    }
    return {};
  }

  // The cell of `f` in the current row, without the writer's formula guard; codes, numbers
  // and dates also lose surrounding blanks. Empty when the mapping has no column for `f`.
  std::string_view cell(Field f) const {
    int column = column_of_[index(f)];
    if (column < 0) return {};
    std::string_view text = internal::strip_formula_guard(row_->fields[column]);
    return internal::field_info(f).free_text ? text : internal::trim(text);
  }

  model::Result<model::DateTime> date(Field f) const {
    auto dt = dates_.parse(cell(f));
    if (!dt)
      return fail_at(f, dt.error().code, fmt::format("{}: {}", field_name(f), dt.error().message));
    return dt;
  }

  // Checks a patient- or report-level cell the first time its group sees it.
  model::Result<void> check(Field f) const {
    std::string_view text = cell(f);
    switch (f) {
      case Field::kPatientBirthDate:
      case Field::kReportObserved:
      case Field::kReportIssued:
        if (auto dt = date(f); !dt) return std::unexpected(dt.error());
        break;
      case Field::kPatientSex:
        if (!internal::parse_sex(text))
          return fail_at(f, ErrorCode::kTableValue,
                         "patient.sex is not an HL7 table 0001 code (F, M, O, U, A, N) nor "
                         "female, male, other or unknown");
        break;
      case Field::kReportStatus:
        if (!model::report_status_from_hl7(upper(text)))
          return fail_at(f, ErrorCode::kTableValue,
                         "report.status is not an HL7 table 0123 code (O, I, S, A, R, P, C, F, X)");
        break;
      default:
        break;
    }
    return {};
  }

  model::Result<void> merge(Slots& slots, Level level, std::string_view group) {
    for (int i = 0; i < kFieldCount; ++i) {
      Field f = static_cast<Field>(i);
      if (internal::field_info(f).level != level || column_of_[i] < 0) continue;
      std::string_view text = cell(f);
      if (text.empty()) continue;
      Slot& slot = slots[i];
      if (slot.line == 0) {
        if (auto ok = check(f); !ok) return ok;
        slot = Slot{std::string(text), row_->line};
      } else if (slot.text != text) {
        return fail_at(f, ErrorCode::kParse,
                       fmt::format("{} differs from line {} for the same {}", field_name(f),
                                   slot.line, group));
      }
    }
    return {};
  }

  model::Result<void> add_row(const Record& row) {
    row_ = &row;
    if (row.fields.size() != width_) {
      int column = static_cast<int>(std::min(row.fields.size(), width_)) + 1;
      return std::unexpected(
          error_at_column(column, ErrorCode::kParse,
                          fmt::format("expected {} columns, found {}", width_, row.fields.size())));
    }
    std::string_view patient_id = cell(Field::kPatientId);
    if (patient_id.empty())
      return fail_at(Field::kPatientId, ErrorCode::kRequiredFieldMissing,
                     "patient.id is empty; every row needs the patient's identifier");
    if (cell(Field::kObsCode).empty())
      return fail_at(Field::kObsCode, ErrorCode::kRequiredFieldMissing,
                     "obs.code is empty; every row needs the observation's code");
    if (internal::trim(cell(Field::kObsValue)).empty() && cell(Field::kObsStatus).empty()) {
      Field where = column_of_[index(Field::kObsValue)] >= 0 ? Field::kObsValue : Field::kObsStatus;
      return fail_at(where, ErrorCode::kRequiredFieldMissing,
                     "row has neither obs.value nor obs.status");
    }

    auto found = patient_index_.find(patient_id);
    if (found == patient_index_.end()) {
      found = patient_index_.emplace(std::string(patient_id), patients_.size()).first;
      patients_.push_back(PatientGroup{.id = std::string(patient_id), .first_line = row.line});
    }
    PatientGroup& patient = patients_[found->second];
    if (auto ok = merge(patient.slots, Level::kPatient, "patient.id"); !ok) return ok;

    // One report per accession; without one, per placer order; without either, per test.
    std::string_view filler = cell(Field::kOrderFiller), placer = cell(Field::kOrderPlacer);
    key_.assign(!filler.empty() ? "F" : !placer.empty() ? "P" : "C");
    key_ += !filler.empty() ? filler : !placer.empty() ? placer : cell(Field::kReportCode);
    auto report_at = patient.report_index.find(key_);
    if (report_at == patient.report_index.end()) {
      report_at = patient.report_index.emplace(key_, patient.reports.size()).first;
      patient.reports.emplace_back();
    }
    ReportGroup& report = patient.reports[report_at->second];
    if (auto ok = merge(report.slots, Level::kReport, "report"); !ok) return ok;

    if (auto ok = add_specimen(report); !ok) return ok;
    auto obs = observation(report);
    if (!obs) return std::unexpected(obs.error());
    report.observations.push_back(std::move(*obs));
    return {};
  }

  model::Result<void> add_specimen(ReportGroup& report) {
    model::Specimen s;
    s.id = cell(Field::kSpecimenId);
    if (auto type = cell(Field::kSpecimenType); !type.empty())
      s.type = internal::parse_coded_value(type);
    auto collected = date(Field::kSpecimenCollected);
    if (!collected) return std::unexpected(collected.error());
    auto received = date(Field::kSpecimenReceived);
    if (!received) return std::unexpected(received.error());
    s.collected = *collected, s.received = *received;
    if (s == model::Specimen{}) return {};
    // Keyed by the parsed values, not the cells: "^" and "" are the same (empty) type and
    // must not make two specimens that write() could not tell apart.
    key_.assign(s.id);
    for (const std::string& part :
         {internal::format_coded_value(s.type), s.collected.to_hl7(), s.received.to_hl7()})
      (key_ += '\x1f') += part;
    if (report.specimen_seen.emplace(key_, true).second) report.specimens.push_back(std::move(s));
    return {};
  }

  model::Result<model::ObservationValue> value(std::string& value_type) const {
    std::string_view raw = cell(Field::kObsValue);
    std::string_view text = internal::trim(raw);
    value_type = upper(cell(Field::kObsValueType));
    if (!value_type.empty() && !internal::is_supported_value_type(value_type))
      return fail_at(Field::kObsValueType, ErrorCode::kTableValue,
                     "obs.value_type is not one of NM, SN, ST, TX, FT, CWE, CE");
    if (text.empty()) return model::ObservationValue{};
    if (value_type.empty()) {
      // NM when the cell is a number, SN when it is one with a comparator or a ratio, TX
      // when it spans lines, else ST: what an HL7 sender would have declared in OBX-2.
      value_type = internal::is_hl7_number(text)              ? "NM"
                   : internal::parse_structured_numeric(text) ? "SN"
                   : raw.find_first_of("\r\n") != raw.npos    ? "TX"
                                                              : "ST";
    }
    if (value_type == "NM") {
      if (auto nm = internal::parse_numeric(text)) return *nm;
      return fail_at(Field::kObsValue, ErrorCode::kDataType,
                     "obs.value declared NM but is not a number");
    }
    if (value_type == "SN") {
      if (auto sn = internal::parse_structured_numeric(text)) return *sn;
      return fail_at(Field::kObsValue, ErrorCode::kDataType,
                     "obs.value declared SN but is not a structured numeric such as >100000, "
                     "<=2 or 1:128");
    }
    if (value_type == "CWE" || value_type == "CE") {
      // Components that are all empty ("^^") carry no code: the same as an empty cell.
      model::CodeableConcept cc = internal::parse_coded_value(text);
      if (cc.empty()) return model::ObservationValue{};
      return cc;
    }
    if (value_type == "TX" || value_type == "FT") return model::TextValue{split_lines(raw)};
    return model::TextValue{{std::string(raw)}};
  }

  model::Result<model::Observation> observation(const ReportGroup& report) const {
    model::Observation obs;
    obs.set_id = std::to_string(report.observations.size() + 1);
    std::string_view system = cell(Field::kObsCodeSystem);
    obs.code.codings.push_back(
        model::Coding{std::string(cell(Field::kObsCode)),
                      std::string(cell(Field::kObsDisplay)),
                      std::string(system.empty() ? mapping_.default_code_system : system),
                      {}});
    auto v = value(obs.value_type);
    if (!v) return std::unexpected(v.error());
    obs.value = std::move(*v);
    obs.unit.code = cell(Field::kObsUnit);
    if (auto range = cell(Field::kObsReferenceRange); !range.empty())
      obs.reference_range = internal::parse_reference_range(range);
    obs.abnormal_flags = internal::split_flags(cell(Field::kObsFlags));
    if (auto status = cell(Field::kObsStatus); !status.empty()) {
      auto s = model::result_status_from_hl7(upper(status));
      if (!s)
        return fail_at(Field::kObsStatus, ErrorCode::kTableValue,
                       "obs.status is not an HL7 table 0085 code (F, P, C, X, I, W, D, N, O, R, "
                       "S, U)");
      obs.status = *s;
    }
    auto observed = date(Field::kObsObserved);
    if (!observed) return std::unexpected(observed.error());
    auto issued = date(Field::kObsIssued);
    if (!issued) return std::unexpected(issued.error());
    obs.observed = *observed, obs.issued = *issued;
    if (std::string_view note = cell(Field::kObsNote); !internal::trim(note).empty())
      obs.notes.emplace_back(note);
    return obs;
  }

  const Mapping& mapping_;
  internal::DateFormat dates_;
  std::string file_;
  std::array<int, kFieldCount> column_of_;  // 0-based, -1 when the mapping has no column
  std::vector<std::string> header_;         // header names, for error locations
  std::size_t width_ = 0;
  const Record* row_ = nullptr;
  std::vector<PatientGroup> patients_;
  StringMap<std::size_t> patient_index_;
  std::string key_;  // reused lookup key, so grouping does not allocate per row
};

}  // namespace

model::Result<std::vector<model::LabMessage>> read(std::string_view csv_text,
                                                   const Mapping& mapping,
                                                   std::string_view file_name) {
  auto text = internal::check_encoding(csv_text, file_name);
  if (!text) return std::unexpected(text.error());
  auto dates = internal::DateFormat::compile(mapping.date_format);
  if (!dates) {
    return model::fail(ErrorCode::kConfig, dates.error().message,
                       model::Location{.file = std::string(file_name)});
  }
  return Reader(mapping, std::move(*dates), file_name).read(*text);
}

}  // namespace labvault::csv
