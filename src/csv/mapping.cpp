// parse_mapping(): the TOML mapping file -> Mapping. toml++ stays inside this file so that
// users of csv.hpp do not compile it.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>

#include "csv/csv.hpp"
#include "csv/internal/date_format.hpp"
#include "csv/internal/fields.hpp"
#include "csv/internal/record_reader.hpp"

namespace labvault::csv {
namespace {

using internal::FieldInfo;
using internal::Level;
using model::ErrorCode;

constexpr std::array<FieldInfo, kFieldCount> kFields{{
    {Field::kPatientId, "patient.id", Level::kPatient, false},
    {Field::kPatientIdAuthority, "patient.id_authority", Level::kPatient, false},
    {Field::kPatientFamily, "patient.family", Level::kPatient, true},
    {Field::kPatientGiven, "patient.given", Level::kPatient, true},
    {Field::kPatientBirthDate, "patient.birth_date", Level::kPatient, false},
    {Field::kPatientSex, "patient.sex", Level::kPatient, false},
    {Field::kPatientPhone, "patient.phone", Level::kPatient, false},
    {Field::kPatientAddressLine, "patient.address_line", Level::kPatient, true},
    {Field::kPatientCity, "patient.city", Level::kPatient, true},
    {Field::kPatientState, "patient.state", Level::kPatient, false},
    {Field::kPatientPostalCode, "patient.postal_code", Level::kPatient, false},
    {Field::kOrderPlacer, "order.placer", Level::kReport, false},
    {Field::kOrderFiller, "order.filler", Level::kReport, false},
    {Field::kOrderProviderId, "order.provider_id", Level::kReport, false},
    {Field::kOrderProviderFamily, "order.provider_family", Level::kReport, true},
    {Field::kOrderProviderGiven, "order.provider_given", Level::kReport, true},
    {Field::kReportCode, "report.code", Level::kReport, false},
    {Field::kReportCodeSystem, "report.code_system", Level::kReport, false},
    {Field::kReportDisplay, "report.display", Level::kReport, true},
    {Field::kReportStatus, "report.status", Level::kReport, false},
    {Field::kReportObserved, "report.observed", Level::kReport, false},
    {Field::kReportIssued, "report.issued", Level::kReport, false},
    {Field::kSpecimenId, "specimen.id", Level::kSpecimen, false},
    {Field::kSpecimenType, "specimen.type", Level::kSpecimen, false},
    {Field::kSpecimenCollected, "specimen.collected", Level::kSpecimen, false},
    {Field::kSpecimenReceived, "specimen.received", Level::kSpecimen, false},
    {Field::kObsCode, "obs.code", Level::kObservation, false},
    {Field::kObsCodeSystem, "obs.code_system", Level::kObservation, false},
    {Field::kObsDisplay, "obs.display", Level::kObservation, true},
    {Field::kObsValue, "obs.value", Level::kObservation, true},
    {Field::kObsValueType, "obs.value_type", Level::kObservation, false},
    {Field::kObsUnit, "obs.unit", Level::kObservation, false},
    {Field::kObsReferenceRange, "obs.reference_range", Level::kObservation, false},
    {Field::kObsFlags, "obs.flags", Level::kObservation, false},
    {Field::kObsStatus, "obs.status", Level::kObservation, false},
    {Field::kObsObserved, "obs.observed", Level::kObservation, false},
    {Field::kObsIssued, "obs.issued", Level::kObservation, false},
    {Field::kObsNote, "obs.note", Level::kObservation, true},
}};

// field_info() indexes the table by the enum value.
static_assert([] {
  for (int i = 0; i < kFieldCount; ++i)
    if (static_cast<int>(kFields[i].field) != i) return false;
  return true;
}());

// One [columns] entry before it is checked against the others.
struct Entry {
  std::string key;
  const toml::node* value;
  toml::source_position at;
};

// [columns] may spell a field as a dotted key (patient.id = ...), a quoted key
// ("patient.id" = ...) or a sub-table ([columns.patient]); all mean the same field.
void flatten(const toml::table& table, const std::string& prefix, std::vector<Entry>& out) {
  for (auto&& [key, node] : table) {
    std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, name, out);
    } else {
      out.push_back(Entry{std::move(name), &node, key.source().begin});
    }
  }
}

class MappingParser {
 public:
  explicit MappingParser(std::string_view file_name) : file_(file_name) {}

  model::Result<Mapping> parse(std::string_view toml_text) {
    toml::table doc;
    try {
      doc = toml::parse(toml_text, file_);
    } catch (const toml::parse_error& e) {
      return fail(fmt::format("not valid TOML: {}", e.description()), e.source().begin);
    }
    for (auto&& [key, node] : doc) {
      if (key != "csv" && key != "columns")
        return fail(fmt::format("unknown table '{}'; a mapping has [csv] and [columns]", key.str()),
                    key.source().begin);
      if (!node.is_table())
        return fail(fmt::format("'{}' must be a table", key.str()), key.source().begin);
    }
    Mapping mapping;
    if (const toml::table* csv = doc["csv"].as_table()) {
      if (auto ok = parse_csv(*csv, mapping); !ok) return std::unexpected(ok.error());
    }
    const toml::table* columns = doc["columns"].as_table();
    if (!columns) return fail("mapping has no [columns] table", {});
    if (auto ok = parse_columns(*columns, mapping); !ok) return std::unexpected(ok.error());
    return mapping;
  }

 private:
  std::unexpected<model::Error> fail(std::string message, toml::source_position at) const {
    // Only the line: Location::column means a CSV column, not a position in the TOML text.
    return model::fail(ErrorCode::kConfig, std::move(message),
                       model::Location{.file = file_, .line = static_cast<int>(at.line)});
  }

  model::Result<void> parse_csv(const toml::table& csv, Mapping& mapping) {
    for (auto&& [key, node] : csv) {
      toml::source_position at = key.source().begin;
      auto text = [&]() -> model::Result<std::string> {
        if (auto s = node.value<std::string>()) return *s;
        return fail(fmt::format("csv.{} must be a string", key.str()), at);
      };
      if (key == "delimiter") {
        auto s = text();
        if (!s) return std::unexpected(s.error());
        if (s->size() != 1 || (*s)[0] == '"' || (*s)[0] == '\r' || (*s)[0] == '\n')
          return fail("csv.delimiter must be one ASCII character other than a quote or line break",
                      at);
        mapping.delimiter = (*s)[0];
      } else if (key == "header") {
        auto b = node.value<bool>();
        if (!b || !node.is_boolean()) return fail("csv.header must be true or false", at);
        mapping.header = *b;
      } else if (key == "date_format") {
        auto s = text();
        if (!s) return std::unexpected(s.error());
        if (auto f = internal::DateFormat::compile(*s); !f) return fail(f.error().message, at);
        mapping.date_format = *s;
      } else if (key == "default_code_system" || key == "sending_facility") {
        auto s = text();
        if (!s) return std::unexpected(s.error());
        (key == "sending_facility" ? mapping.sending_facility : mapping.default_code_system) = *s;
      } else {
        return fail(fmt::format("unknown key 'csv.{}' (expected delimiter, header, date_format, "
                                "default_code_system, sending_facility)",
                                key.str()),
                    at);
      }
    }
    return {};
  }

  model::Result<void> parse_columns(const toml::table& table, Mapping& mapping) {
    std::vector<Entry> entries;
    flatten(table, "", entries);
    // Keep the order of the file: the writer's header follows it.
    std::ranges::sort(entries, [](const Entry& a, const Entry& b) {
      return std::pair(a.at.line, a.at.column) < std::pair(b.at.line, b.at.column);
    });
    std::array<bool, kFieldCount> mapped{};
    for (const Entry& e : entries) {
      auto field = internal::field_from_name(e.key);
      if (!field) return fail(fmt::format("unknown field '{}' in [columns]", e.key), e.at);
      if (mapped[static_cast<int>(*field)])
        return fail(fmt::format("field '{}' is mapped twice", e.key), e.at);
      mapped[static_cast<int>(*field)] = true;
      ColumnMapping column{*field, {}, 0};
      if (mapping.header) {
        auto name = e.value->value<std::string>();
        if (!name || name->empty())
          return fail(fmt::format("columns.{} must be a header name (a non-empty string) because "
                                  "csv.header = true",
                                  e.key),
                      e.at);
        column.name = *name;
      } else {
        auto number = e.value->value<int64_t>();
        if (!e.value->is_integer() || !number || *number < 1 ||
            *number > static_cast<int64_t>(internal::kMaxColumns))
          return fail(fmt::format("columns.{} must be a column number from 1 to {} because "
                                  "csv.header = false",
                                  e.key, internal::kMaxColumns),
                      e.at);
        column.number = static_cast<int>(*number);
      }
      for (const ColumnMapping& other : mapping.columns) {
        if (other.name == column.name && other.number == column.number)
          return fail(fmt::format("fields '{}' and '{}' use the same column; map each column once",
                                  field_name(other.field), e.key),
                      e.at);
      }
      mapping.columns.push_back(std::move(column));
    }
    auto has = [&](Field f) { return mapped[static_cast<int>(f)]; };
    toml::source_position at = table.source().begin;
    for (Field required : {Field::kPatientId, Field::kObsCode}) {
      if (!has(required))
        return fail(
            fmt::format("[columns] has no column for required field '{}'", field_name(required)),
            at);
    }
    if (!has(Field::kObsValue) && !has(Field::kObsStatus))
      return fail("[columns] needs a column for 'obs.value' or 'obs.status'", at);
    return {};
  }

  std::string file_;
};

}  // namespace

namespace internal {

const FieldInfo& field_info(Field field) { return kFields[static_cast<int>(field)]; }

std::optional<Field> field_from_name(std::string_view name) {
  for (const FieldInfo& info : kFields)
    if (info.name == name) return info.field;
  return std::nullopt;
}

}  // namespace internal

std::string_view field_name(Field field) { return internal::field_info(field).name; }

model::Result<Mapping> parse_mapping(std::string_view toml_text, std::string_view file_name) {
  return MappingParser(file_name).parse(toml_text);
}

}  // namespace labvault::csv
