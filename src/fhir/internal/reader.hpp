// Typed, path-aware reading of a parsed FHIR JSON document. A Node is a JSON value plus its
// FHIRPath-like location ("Bundle.entry[3].resource.valueQuantity.value"); reading a member of
// the wrong JSON type records an error at that location and yields "absent", so mapping goes on
// and every problem of a document is found in one pass. Messages name types, never values.
// Private to src/fhir.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fhir/internal/json_io.hpp"
#include "model/datetime.hpp"
#include "model/error.hpp"

namespace labvault::fhir::internal {

class Node;

// Collects errors (one per path) and knows the source text of numbers.
class Reader {
 public:
  // `root_name` starts every path: the root resourceType, e.g. "Bundle".
  Reader(const ParsedJson& document, std::string root_name);

  [[nodiscard]] Node root();
  void report(model::ErrorCode code, const std::string& path, std::string message);
  [[nodiscard]] const std::vector<model::Error>& errors() const { return errors_; }
  // Number text as written in the input, or nullptr when not recorded (see ParsedJson).
  [[nodiscard]] const std::string* number_text(std::string_view path) const;

 private:
  const ParsedJson& document_;
  std::string root_name_;
  std::vector<model::Error> errors_;
  std::unordered_set<std::string> reported_;
};

class Node {
 public:
  Node() = default;
  Node(const nlohmann::json* json, std::string path, Reader* reader)
      : json_(json), path_(std::move(path)), reader_(reader) {}

  // JSON null counts as absent: FHIR JSON never uses null for a value (R4 json.html).
  [[nodiscard]] bool present() const { return json_ != nullptr && !json_->is_null(); }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const nlohmann::json* json() const { return json_; }

  // A member; absent when missing. Reports "expected object" once if this node is not one.
  [[nodiscard]] Node operator[](std::string_view key) const;
  [[nodiscard]] bool is_object() const { return present() && json_->is_object(); }
  // Array elements; a lone value where an array belongs is reported and read as none.
  [[nodiscard]] std::vector<Node> items() const;
  [[nodiscard]] Node first() const;
  // "" when absent or not a string (reported).
  [[nodiscard]] std::string string() const;
  // Number text as written ("5.20" stays "5.20"); "" when absent or not a number (reported).
  [[nodiscard]] std::string number_text() const;
  [[nodiscard]] std::optional<double> number() const;
  // FHIR date/dateTime/instant; empty when absent or invalid (reported as kDataType).
  [[nodiscard]] model::DateTime date_time() const;
  // Reports kRequiredFieldMissing when absent; returns present().
  bool require() const;
  // Records a problem at this node.
  void report(model::ErrorCode code, std::string message) const;

 private:
  bool expect(bool ok, std::string_view expected) const;

  const nlohmann::json* json_ = nullptr;
  std::string path_;
  Reader* reader_ = nullptr;
};

}  // namespace labvault::fhir::internal
