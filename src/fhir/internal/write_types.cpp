#include "fhir/internal/write_types.hpp"

#include <cmath>
#include <optional>
#include <variant>

#include "fhir/internal/codes.hpp"

namespace labvault::fhir::internal {
namespace {

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};

// Quantity.value from number text, falling back to the parsed double; null when neither is a
// number FHIR can hold.
OutJson decimal(std::string_view text, std::optional<double> parsed = std::nullopt) {
  if (auto exact = json_decimal(text)) return raw_number(*exact);
  if (parsed && std::isfinite(*parsed)) return OutJson(*parsed);
  return nullptr;
}

// Quantity.unit is for people, system+code for machines (R4 datatypes.html#Quantity, qty-3: a
// code needs a system). A unit is tagged UCUM when the sender said so or it is a common UCUM unit.
void set_unit(OutJson& quantity, const model::Coding& unit) {
  std::string code = fhir_code(unit.code);
  set_string(quantity, "unit", unit.display.empty() ? code : unit.display);
  std::string system = !unit.system.empty()    ? system_uri(unit.system)
                       : looks_like_ucum(code) ? std::string(kUcum)
                                               : std::string();
  if (!code.empty() && !system.empty()) {
    quantity["system"] = system;
    quantity["code"] = code;
  }
}

OutJson quantity(OutJson value, const model::Coding& unit, std::string_view comparator = {}) {
  OutJson q = OutJson::object();
  q["value"] = std::move(value);
  if (!comparator.empty()) q["comparator"] = comparator;
  set_unit(q, unit);
  return q;
}

std::string sn_text(const model::StructuredNumeric& sn) {
  return sn.comparator + sn.num1 + sn.separator + sn.num2;
}

bool set_structured_numeric(OutJson& obs, const model::StructuredNumeric& sn,
                            const model::Coding& unit) {
  // HL7 v2.5.1 2.A.74 SN -> R4 Observation.value[x], as the v2-to-FHIR mapping does:
  // [comparator] num1 -> Quantity, num1 ":" or "/" num2 -> Ratio, num1 "-" num2 -> Range.
  OutJson num1 = decimal(sn.num1);
  OutJson num2 = decimal(sn.num2);
  std::string_view comparator = sn.comparator == "=" ? std::string_view() : sn.comparator;
  bool quantity_comparator = comparator.empty() || comparator == "<" || comparator == "<=" ||
                             comparator == ">" || comparator == ">=";
  if (!num1.is_null() && sn.separator.empty() && sn.num2.empty() && quantity_comparator) {
    obs["valueQuantity"] = quantity(std::move(num1), unit, comparator);
    return true;
  }
  if (!num1.is_null() && !num2.is_null() && comparator.empty()) {
    if (sn.separator == ":" || sn.separator == "/") {
      OutJson ratio = OutJson::object();
      ratio["numerator"] = {{"value", std::move(num1)}};
      ratio["denominator"] = {{"value", std::move(num2)}};
      obs["valueRatio"] = std::move(ratio);
      return true;
    }
    if (sn.separator == "-") {
      OutJson range = OutJson::object();
      range["low"] = quantity(std::move(num1), unit);
      range["high"] = quantity(std::move(num2), unit);
      obs["valueRange"] = std::move(range);
      return true;
    }
  }
  std::string text = sn_text(sn);
  if (text.empty()) return false;
  obs["valueString"] = text;
  return true;
}

}  // namespace

void set_string(OutJson& object, std::string_view key, std::string_view value) {
  if (!value.empty()) object[std::string(key)] = value;
}

void set_json(OutJson& object, std::string_view key, OutJson value) {
  if (!value.is_null()) object[std::string(key)] = std::move(value);
}

void append(OutJson& object, std::string_view key, OutJson value) {
  if (!value.is_null()) object[std::string(key)].push_back(std::move(value));
}

OutJson reference(std::string_view url) {
  if (url.empty()) return nullptr;
  return {{"reference", url}};
}

OutJson coding(const model::Coding& c) {
  OutJson j = OutJson::object();
  std::string code = fhir_code(c.code);
  if (!c.system.empty()) j["system"] = system_uri(c.system);
  set_string(j, "version", c.version);
  set_string(j, "code", code);
  set_string(j, "display", c.display);
  if (code.empty() && c.display.empty()) return nullptr;  // a system alone says nothing
  return j;
}

OutJson codeable(const model::CodeableConcept& cc) {
  OutJson j = OutJson::object();
  for (const model::Coding& c : cc.codings) append(j, "coding", coding(c));
  set_string(j, "text", cc.original_text);
  if (j.empty()) return nullptr;
  return j;
}

OutJson required_codeable(const model::CodeableConcept& cc) {
  OutJson j = codeable(cc);
  if (!j.is_null()) return j;
  // R4 extension-data-absent-reason: allowed on any element, says why the value is missing.
  OutJson absent = OutJson::object();
  absent["url"] = kDataAbsentReasonUrl;
  absent["valueCode"] = "unknown";
  return {{"extension", OutJson::array({std::move(absent)})}};
}

OutJson concept_of(std::string_view system, std::string_view code, std::string_view display) {
  OutJson c = OutJson::object();
  c["system"] = system;
  c["code"] = code;
  set_string(c, "display", display);
  return {{"coding", OutJson::array({std::move(c)})}};
}

OutJson identifier(const model::Identifier& id, std::string_view type_code) {
  if (id.value.empty()) return nullptr;
  OutJson j = OutJson::object();
  std::string type = fhir_code(type_code.empty() ? id.type : type_code);
  if (!type.empty()) j["type"] = concept_of(kV2_0203, type);
  set_string(j, "system", identifier_system(id.assigning_authority));
  j["value"] = id.value;
  return j;
}

OutJson human_name(const model::HumanName& name) {
  OutJson j = OutJson::object();
  set_string(j, "use", name_use(name.use));
  set_string(j, "family", name.family);
  for (const std::string& given : name.given)
    if (!given.empty()) j["given"].push_back(given);
  if (!name.prefix.empty()) j["prefix"].push_back(name.prefix);
  if (!name.suffix.empty()) j["suffix"].push_back(name.suffix);
  if (j.empty() || (j.size() == 1 && j.contains("use"))) return nullptr;
  return j;
}

OutJson address(const model::Address& a) {
  OutJson j = OutJson::object();
  set_string(j, "use", address_use(a.use));
  if (a.use == "M") j["type"] = "postal";
  for (const std::string& line : a.lines)
    if (!line.empty()) j["line"].push_back(line);
  set_string(j, "city", a.city);
  set_string(j, "state", a.state);
  set_string(j, "postalCode", a.postal_code);
  set_string(j, "country", a.country);
  if (!j.contains("line") && a.city.empty() && a.state.empty() && a.postal_code.empty() &&
      a.country.empty())
    return nullptr;
  return j;
}

OutJson contact_point(const model::ContactPoint& contact) {
  if (contact.value.empty()) return nullptr;
  OutJson j = OutJson::object();
  j["system"] = telecom_system(contact.equipment);  // cpt-2: a value needs a system
  j["value"] = contact.value;
  set_string(j, "use", telecom_use(contact.use));
  return j;
}

std::string date_time(const model::DateTime& value, int default_offset_minutes) {
  if (value.empty() || value.year < 1 || value.year > 9999) return {};
  return value.to_iso(default_offset_minutes);
}

std::string instant(const model::DateTime& value, int default_offset_minutes) {
  if (value.precision < model::DateTime::Precision::kHour) return {};
  return date_time(value, default_offset_minutes);
}

std::string date(const model::DateTime& value) {
  model::DateTime day = value;
  if (day.precision > model::DateTime::Precision::kDay) {
    day.precision = model::DateTime::Precision::kDay;
    day.fraction.clear();
  }
  return date_time(day, 0);
}

bool set_observation_value(OutJson& obs, const model::ObservationValue& value,
                           const model::Coding& unit) {
  return std::visit(
      Overloaded{
          [](std::monostate) { return false; },
          [&](const model::NumericValue& v) {
            OutJson number = decimal(v.text, v.value);
            if (number.is_null()) {
              if (v.text.empty()) return false;
              obs["valueString"] = v.text;  // not a number after all: keep what was sent
              return true;
            }
            obs["valueQuantity"] = quantity(std::move(number), unit);
            return true;
          },
          [&](const model::StructuredNumeric& v) { return set_structured_numeric(obs, v, unit); },
          [&](const model::TextValue& v) {
            std::string text;
            for (std::size_t i = 0; i < v.lines.size(); ++i) text += (i ? "\n" : "") + v.lines[i];
            if (text.empty()) return false;
            obs["valueString"] = text;
            return true;
          },
          [&](const model::CodeableConcept& v) {
            OutJson cc = codeable(v);
            if (cc.is_null()) return false;
            obs["valueCodeableConcept"] = std::move(cc);
            return true;
          },
      },
      value);
}

OutJson reference_range(const model::ReferenceRange& range, const model::Coding& unit) {
  OutJson j = OutJson::object();
  // SimpleQuantity (no comparator) in the observation's unit.
  if (range.low && std::isfinite(*range.low)) j["low"] = quantity(OutJson(*range.low), unit);
  if (range.high && std::isfinite(*range.high)) j["high"] = quantity(OutJson(*range.high), unit);
  set_string(j, "text", range.text);
  if (j.empty()) return nullptr;  // obs-3: low, high or text
  return j;
}

}  // namespace labvault::fhir::internal
