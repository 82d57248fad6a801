#include "fhir/internal/reader.hpp"

#include <fmt/format.h>

#include <cmath>

namespace labvault::fhir::internal {
Reader::Reader(const ParsedJson& document, std::string root_name)
    : document_(document), root_name_(std::move(root_name)) {}

Node Reader::root() { return Node(&document_.root, root_name_, this); }

void Reader::report(model::ErrorCode code, const std::string& path, std::string message) {
  // One error per location: a wrong-typed object is reported once, not once per member read.
  if (!reported_.insert(path).second) return;
  model::Location where;
  where.json_path = path;
  errors_.push_back(model::Error{code, std::move(message), std::move(where)});
}

const std::string* Reader::number_text(std::string_view path) const {
  if (!path.starts_with(root_name_)) return nullptr;
  auto it = document_.number_text.find(std::string(path.substr(root_name_.size())));
  return it == document_.number_text.end() ? nullptr : &it->second;
}

bool Node::expect(bool ok, std::string_view expected) const {
  if (!ok)
    report(model::ErrorCode::kDataType,
           fmt::format("expected {}, found {}", expected, json_->type_name()));
  return ok;
}

void Node::report(model::ErrorCode code, std::string message) const {
  if (reader_ != nullptr) reader_->report(code, path_, std::move(message));
}

Node Node::operator[](std::string_view key) const {
  std::string child = fmt::format("{}.{}", path_, key);
  if (!present() || !expect(json_->is_object(), "object")) return Node(nullptr, child, reader_);
  auto it = json_->find(key);
  return Node(it == json_->end() ? nullptr : &*it, std::move(child), reader_);
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (!present()) return out;
  if (!expect(json_->is_array(), "array")) return out;
  out.reserve(json_->size());
  for (std::size_t i = 0; i < json_->size(); ++i)
    out.emplace_back(&(*json_)[i], fmt::format("{}[{}]", path_, i), reader_);
  return out;
}

Node Node::first() const {
  std::vector<Node> all = items();
  return all.empty() ? Node(nullptr, path_ + "[0]", reader_) : all.front();
}

std::string Node::string() const {
  if (!present() || !expect(json_->is_string(), "string")) return {};
  return json_->get<std::string>();
}

std::string Node::number_text() const {
  if (!present() || !expect(json_->is_number(), "number")) return {};
  if (reader_ != nullptr)
    if (const std::string* text = reader_->number_text(path_)) return *text;
  return json_->dump();
}

std::optional<double> Node::number() const {
  if (!present() || !expect(json_->is_number(), "number")) return std::nullopt;
  double v = json_->get<double>();
  if (!std::isfinite(v)) {
    report(model::ErrorCode::kDataType, "expected a finite decimal, found an out-of-range number");
    return std::nullopt;
  }
  return v;
}

model::DateTime Node::date_time() const {
  std::string text = string();
  if (text.empty()) return {};
  auto parsed = model::DateTime::parse_iso(text);
  if (!parsed) {
    report(model::ErrorCode::kDataType, parsed.error().message);
    return {};
  }
  return *parsed;
}

bool Node::require() const {
  if (!present()) report(model::ErrorCode::kRequiredFieldMissing, "required element is missing");
  return present();
}

}  // namespace labvault::fhir::internal
