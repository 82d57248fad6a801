#include "fhir/internal/read_types.hpp"

#include <fmt/format.h>

#include "fhir/internal/codes.hpp"

namespace labvault::fhir::internal {
namespace {

// "Type/id" from a relative or absolute reference or fullUrl, without any /_history/n suffix.
std::string type_and_id(std::string_view url) {
  if (auto history = url.find("/_history/"); history != std::string_view::npos)
    url = url.substr(0, history);
  auto slash = url.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  auto type_start = url.rfind('/', slash - 1);
  type_start = type_start == std::string_view::npos ? 0 : type_start + 1;
  std::string_view type = url.substr(type_start, slash - type_start);
  // Resource type names start with an upper-case letter (R4 resourcelist.html).
  if (type.empty() || type.front() < 'A' || type.front() > 'Z') return {};
  return std::string(url.substr(type_start));
}

model::Coding read_quantity_unit(const Node& quantity) {
  model::Coding unit;
  std::string code = quantity["code"].string();
  std::string system = quantity["system"].string();
  std::string text = quantity["unit"].string();
  if (code.empty()) {
    unit.code = text;
    return unit;
  }
  unit.code = code;
  if (!system.empty()) unit.system = system_name(system);
  if (text != code) unit.display = text;
  return unit;
}

}  // namespace

model::Coding read_coding(const Node& node) {
  model::Coding c;
  c.code = node["code"].string();
  c.display = node["display"].string();
  if (std::string system = node["system"].string(); !system.empty()) c.system = system_name(system);
  c.version = node["version"].string();
  return c;
}

model::CodeableConcept read_codeable(const Node& node) {
  model::CodeableConcept cc;
  for (const Node& coding : node["coding"].items()) {
    model::Coding c = read_coding(coding);
    if (!c.code.empty() || !c.display.empty()) cc.codings.push_back(std::move(c));
  }
  cc.original_text = node["text"].string();
  return cc;
}

std::string first_code(const Node& node) {
  for (const Node& coding : node["coding"].items())
    if (std::string code = coding["code"].string(); !code.empty()) return code;
  return node["text"].string();
}

model::Identifier read_identifier(const Node& node) {
  model::Identifier id;
  id.value = node["value"].string();
  id.assigning_authority = authority_from_system(node["system"].string());
  id.type = first_code(node["type"]);
  return id;
}

model::HumanName read_name(const Node& node) {
  model::HumanName name;
  name.use = std::string(name_use_from_fhir(node["use"].string()));
  name.family = node["family"].string();
  for (const Node& given : node["given"].items()) name.given.push_back(given.string());
  name.prefix = node["prefix"].first().string();
  name.suffix = node["suffix"].first().string();
  return name;
}

model::Address read_address(const Node& node) {
  model::Address a;
  a.use = std::string(address_use_from_fhir(node["use"].string(), node["type"].string()));
  for (const Node& line : node["line"].items()) a.lines.push_back(line.string());
  a.city = node["city"].string();
  a.state = node["state"].string();
  a.postal_code = node["postalCode"].string();
  a.country = node["country"].string();
  return a;
}

model::ContactPoint read_contact(const Node& node) {
  model::ContactPoint c;
  c.value = node["value"].string();
  c.use = std::string(telecom_use_from_fhir(node["use"].string()));
  c.equipment = std::string(telecom_equipment_from_fhir(node["system"].string()));
  return c;
}

model::Practitioner read_practitioner(const Node& node) {
  model::Practitioner p;
  model::Identifier id = read_identifier(node["identifier"].first());
  p.id = id.value;
  p.assigning_authority = id.assigning_authority;
  if (Node name = node["name"].first(); name.present()) p.name = read_name(name);
  return p;
}

model::Organization read_organization(const Node& node) {
  model::Organization o;
  o.name = node["name"].string();
  o.id = node["identifier"].first()["value"].string();
  return o;
}

ObservationValueRead read_observation_value(const Node& obs) {
  ObservationValueRead out;
  if (Node q = obs["valueQuantity"]; q.present()) {
    std::string text = q["value"].number_text();
    std::optional<double> value = q["value"].number();
    std::string comparator = q["comparator"].string();
    out.unit = read_quantity_unit(q);
    if (text.empty() || !value) return out;
    if (comparator.empty()) {
      out.value = model::NumericValue{text, *value};
      out.value_type = "NM";
      return out;
    }
    if (comparator != "<" && comparator != "<=" && comparator != ">=" && comparator != ">")
      q["comparator"].report(model::ErrorCode::kTableValue,
                             "expected a quantity-comparator code (<, <=, >=, >)");
    out.value = model::StructuredNumeric{comparator, text, "", ""};
    out.value_type = "SN";
    return out;
  }
  if (Node range = obs["valueRange"]; range.present()) {
    std::string low = range["low"]["value"].number_text();
    std::string high = range["high"]["value"].number_text();
    out.unit = read_quantity_unit(range["low"].present() ? range["low"] : range["high"]);
    out.value = model::StructuredNumeric{"", low, "-", high};
    out.value_type = "SN";
    return out;
  }
  if (Node ratio = obs["valueRatio"]; ratio.present()) {
    std::string numerator = ratio["numerator"]["value"].number_text();
    std::string denominator = ratio["denominator"]["value"].number_text();
    out.value = model::StructuredNumeric{"", numerator, ":", denominator};
    out.value_type = "SN";
    return out;
  }
  if (Node cc = obs["valueCodeableConcept"]; cc.present()) {
    out.value = read_codeable(cc);
    out.value_type = "CWE";
    return out;
  }
  if (Node integer = obs["valueInteger"]; integer.present()) {
    std::string text = integer.number_text();
    if (auto value = integer.number(); value && !text.empty()) {
      out.value = model::NumericValue{text, *value};
      out.value_type = "NM";
    }
    return out;
  }
  if (Node boolean = obs["valueBoolean"]; boolean.present()) {
    if (!boolean.json()->is_boolean()) {
      boolean.report(model::ErrorCode::kDataType,
                     fmt::format("expected boolean, found {}", boolean.json()->type_name()));
      return out;
    }
    out.value = model::TextValue{{boolean.json()->get<bool>() ? "true" : "false"}};
    out.value_type = "ST";
    return out;
  }
  // valueString, and the date/time kinds kept as the text sent.
  for (std::string_view key : {"valueString", "valueDateTime", "valueTime"}) {
    std::string text = obs[key].string();
    if (text.empty()) continue;
    model::TextValue lines;
    std::size_t start = 0;
    while (true) {
      std::size_t end = text.find('\n', start);
      std::string line = text.substr(start, end == std::string::npos ? end : end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.lines.push_back(std::move(line));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    out.value_type = lines.lines.size() > 1 ? "TX" : "ST";
    out.value = std::move(lines);
    return out;
  }
  return out;
}

model::ReferenceRange read_reference_range(const Node& node) {
  model::ReferenceRange r;
  r.text = node["text"].string();
  r.low = node["low"]["value"].number();
  r.high = node["high"]["value"].number();
  return r;
}

void ResourceIndex::add(const Node& resource, const std::string& full_url) {
  std::size_t index = entries_.size();
  std::string type = resource["resourceType"].string();
  entries_.push_back({resource, type});
  if (!full_url.empty()) by_key_.emplace(full_url, index);
  if (std::string id = resource["id"].string(); !id.empty() && !type.empty())
    by_key_.emplace(fmt::format("{}/{}", type, id), index);
  else if (std::string key = type_and_id(full_url); !key.empty() && !full_url.starts_with("urn:"))
    by_key_.emplace(key, index);
}

std::optional<Resolved> ResourceIndex::resolve(const Node& reference, const Node& container) const {
  std::string ref = reference["reference"].string();
  if (ref.empty()) return std::nullopt;
  if (ref.front() == '#') {
    // R4 references.html#contained: "#id" points into the referring resource's contained.
    for (const Node& contained : container["contained"].items())
      if (ref.size() > 1 && contained.is_object() &&
          contained["id"].string() == std::string_view(ref).substr(1))
        return Resolved{contained, contained["resourceType"].string(), std::nullopt};
    return std::nullopt;
  }
  auto it = by_key_.find(ref);
  if (it == by_key_.end()) it = by_key_.find(type_and_id(ref));
  if (it == by_key_.end()) return std::nullopt;
  const Entry& e = entries_[it->second];
  return Resolved{e.node, e.type, it->second};
}

}  // namespace labvault::fhir::internal
