// FHIR R4 JSON -> LabMessages: indexes the resources of a Bundle (or one resource), then groups
// them by Patient and places each record where the references say it belongs:
// DiagnosticReport.result -> Report::observations, ServiceRequest.supportingInfo ->
// Order::ask_at_order_entry, subject -> the Patient's message.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "fhir/fhir.hpp"
#include "fhir/internal/codes.hpp"
#include "fhir/internal/json_io.hpp"
#include "fhir/internal/read_resources.hpp"

namespace labvault::fhir {
namespace {

using internal::Node;
using internal::ResourceIndex;

// Bundle types that hold resources to take in (R4 valueset-bundle-type). Responses and history
// describe server operations, not results.
constexpr std::array<std::string_view, 6> kBundleTypes{"transaction", "batch",   "collection",
                                                       "searchset",   "message", "document"};
constexpr std::array<std::string_view, 5> kSingleResources{"Observation", "DiagnosticReport",
                                                           "Patient", "ServiceRequest", "Specimen"};

// Panels (an Observation with hasMember, R4 observation.html#obsgrouping) are flattened to
// their members; this bounds how deep panels may nest.
constexpr int kMaxPanelDepth = 4;

class MessageAssembler {
 public:
  explicit MessageAssembler(const ResourceIndex& index)
      : index_(index),
        used_(index.entries().size(), false),
        message_of_patient_(index.entries().size()) {}

  std::vector<model::LabMessage> assemble() {
    const auto& entries = index_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].type != "Patient") continue;
      message_of_patient_[i] = messages_.size();
      messages_.push_back({});
      messages_.back().patient = internal::read_patient(entries[i].node);
    }
    patient_count_ = messages_.size();
    for (const auto& e : entries)
      if (e.type == "Encounter") {
        model::LabMessage& m = message_for(e.node);
        if (m.encounter.empty()) m.encounter = internal::read_encounter(e.node, index_);
      }
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].type == "ServiceRequest") add_order(i);
    for (const auto& e : entries)
      if (e.type == "DiagnosticReport") add_report(e.node);
    add_unreported_observations();
    return std::move(messages_);
  }

 private:
  // The message of the resource's subject. Without a subject a resource goes to the only Patient
  // when there is one; a subject that names a patient not in the input never does (that would
  // file one patient's results under another), it goes to a message with an empty Patient.
  // An index, because adding that message moves the others.
  std::size_t message_index_for(const Node& resource) {
    if (auto target = index_.resolve(resource["subject"], resource);
        target && target->index && message_of_patient_[*target->index])
      return *message_of_patient_[*target->index];
    if (patient_count_ == 1 && !resource["subject"].present()) return 0;  // Patients come first
    if (!unknown_subject_) {
      unknown_subject_ = messages_.size();
      messages_.push_back({});
    }
    return *unknown_subject_;
  }
  // Whether two resources name the same subject: the same input entry when both resolve, the
  // same reference text when neither does (a patient known only to the server).
  bool same_subject(const Node& a, const Node& b) const {
    auto ta = index_.resolve(a["subject"], a);
    auto tb = index_.resolve(b["subject"], b);
    if (ta && tb) return ta->index == tb->index;
    if (ta || tb) return false;
    return a["subject"]["reference"].string() == b["subject"]["reference"].string();
  }
  model::LabMessage& message_for(const Node& resource) {
    return messages_[message_index_for(resource)];
  }

  // Observations a reference points at, panels replaced by their members.
  void collect_observations(const Node& reference, const Node& container, bool ask_at_order_entry,
                            int depth, std::vector<model::Observation>& out) {
    auto target = index_.resolve(reference, container);
    if (!target || target->type != "Observation") return;
    // hasMember can point back at a panel or fan out; a budget proportional to the input keeps
    // a hostile Bundle from multiplying work.
    if (++observation_reads_ > 4 * index_.entries().size() + 64) {
      reference.report(model::ErrorCode::kParse,
                       "too many Observation references for the size of the input");
      return;
    }
    if (target->index) used_[*target->index] = true;
    Node members = target->node["hasMember"];
    bool has_value = false;
    for (const auto& [key, value] : target->node.json()->items())
      has_value = has_value || key.starts_with("value");
    if (members.present() && !has_value && depth < kMaxPanelDepth) {
      // Members of a contained panel are contained in the same resource.
      const Node& scope = target->index ? target->node : container;
      for (const Node& member : members.items())
        collect_observations(member, scope, ask_at_order_entry, depth + 1, out);
      return;
    }
    out.push_back(internal::read_observation(target->node, index_, ask_at_order_entry));
  }

  void add_order(std::size_t entry) {
    const Node& r = index_.entries()[entry].node;
    model::Order order = internal::read_order(r, index_);
    for (const Node& info : r["supportingInfo"].items())
      collect_observations(info, r, true, 0, order.ask_at_order_entry);
    number_observations(order.ask_at_order_entry);
    for (const Node& specimen : r["specimen"].items()) {
      auto target = index_.resolve(specimen, r);
      if (target && target->type == "Specimen")
        order.specimens.push_back(internal::read_specimen(target->node));
    }
    model::LabMessage& m = message_for(r);
    m.orders.push_back(std::move(order));
  }

  void add_report(const Node& r) {
    model::Report report = internal::read_report(r, index_);
    for (const Node& result : r["result"].items()) {
      // A result about another patient than its report is refused, not silently re-filed.
      auto target = index_.resolve(result, r);
      if (target && target->type == "Observation" && target->node["subject"].present() &&
          r["subject"].present() && !same_subject(target->node, r)) {
        result.report(
            model::ErrorCode::kParse,
            "Observation.subject names another patient than its DiagnosticReport.subject");
        continue;
      }
      collect_observations(result, r, false, 0, report.observations);
    }
    number_observations(report.observations);
    for (const Node& specimen : r["specimen"].items()) {
      auto target = index_.resolve(specimen, r);
      if (target && target->type == "Specimen")
        report.specimens.push_back(internal::read_specimen(target->node));
    }
    model::LabMessage& m = message_for(r);
    // A report that names only its order (basedOn) takes the order's numbers.
    if (report.placer_order_number.value.empty() && report.filler_order_number.value.empty()) {
      if (auto order = index_.resolve(r["basedOn"].first(), r);
          order && order->type == "ServiceRequest") {
        model::Order o = internal::read_order(order->node, index_);
        report.placer_order_number = o.placer_order_number;
        report.filler_order_number = o.filler_order_number;
      }
    }
    report.set_id = std::to_string(m.reports.size() + 1);  // OBR-1 counts reports in a message
    m.reports.push_back(std::move(report));
  }

  // Observations no report or order refers to (a searchset of Observations, a single
  // Observation) become one report per message, with the status its results justify.
  void add_unreported_observations() {
    const auto& entries = index_.entries();
    std::map<std::size_t, model::Report> extra;  // by message index
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].type != "Observation" || used_[i]) continue;
      extra[message_index_for(entries[i].node)].observations.push_back(
          internal::read_observation(entries[i].node, index_, false));
    }
    for (auto& [message, report] : extra) {
      bool all_final = std::ranges::all_of(report.observations, [](const model::Observation& o) {
        return o.status == model::ResultStatus::kFinal ||
               o.status == model::ResultStatus::kCorrected;
      });
      report.status = all_final ? model::ReportStatus::kFinal : model::ReportStatus::kPreliminary;
      report.result_status_code = std::string(model::to_hl7_code(report.status));
      number_observations(report.observations);
      std::vector<model::Report>& reports = messages_[message].reports;
      report.set_id = std::to_string(reports.size() + 1);
      reports.push_back(std::move(report));
    }
  }

  // OBX-1 set ids are positions; FHIR has no counterpart, so they are renumbered.
  static void number_observations(std::vector<model::Observation>& observations) {
    for (std::size_t i = 0; i < observations.size(); ++i)
      observations[i].set_id = std::to_string(i + 1);
  }

  const ResourceIndex& index_;
  std::vector<bool> used_;
  std::vector<std::optional<std::size_t>> message_of_patient_;
  std::optional<std::size_t> unknown_subject_;
  std::size_t patient_count_ = 0;
  std::vector<model::LabMessage> messages_;
  std::size_t observation_reads_ = 0;
};

struct ReadOutcome {
  std::vector<model::LabMessage> messages;
  std::vector<model::Error> errors;
};

model::Error located(model::ErrorCode code, std::string message, std::string path) {
  model::Location where;
  where.json_path = std::move(path);
  return model::Error{code, std::move(message), std::move(where)};
}

// Fills `index` from a Bundle's entries, reporting entries that are not resources.
void index_bundle(const Node& bundle, ResourceIndex& index) {
  if (Node type = bundle["type"]; type.require()) {
    std::string t = type.string();
    if (type.json()->is_string() && std::ranges::find(kBundleTypes, t) == kBundleTypes.end())
      type.report(model::ErrorCode::kUnsupportedMessageType,
                  "expected a Bundle of type transaction, batch, collection, searchset, message "
                  "or document, found another type");
  }
  for (const Node& entry : bundle["entry"].items()) {
    Node resource = entry["resource"];
    if (!resource.present()) continue;  // e.g. a DELETE in a transaction: nothing to take in
    if (!resource.is_object()) {
      resource.report(model::ErrorCode::kDataType,
                      fmt::format("expected object, found {}", resource.json()->type_name()));
      continue;
    }
    if (!resource["resourceType"].require()) continue;
    index.add(resource, entry["fullUrl"].string());
  }
}

ReadOutcome read(std::string_view json) {
  ReadOutcome out;
  auto parsed = internal::parse_bounded(json);
  if (!parsed) {
    out.errors.push_back(parsed.error());
    return out;
  }
  const nlohmann::json& root = parsed->root;
  if (!root.is_object()) {
    out.errors.push_back(located(
        model::ErrorCode::kParse,
        fmt::format("expected a FHIR resource (JSON object), found {}", root.type_name()), ""));
    return out;
  }
  auto type_it = root.find("resourceType");
  if (type_it == root.end() || !type_it->is_string()) {
    out.errors.push_back(located(model::ErrorCode::kRequiredFieldMissing,
                                 "expected a string resourceType at the top level",
                                 "resourceType"));
    return out;
  }
  std::string root_type = type_it->get<std::string>();
  bool single = std::ranges::find(kSingleResources, root_type) != kSingleResources.end();
  if (root_type != "Bundle" && !single) {
    out.errors.push_back(located(model::ErrorCode::kUnsupportedMessageType,
                                 "expected a Bundle, Observation or DiagnosticReport resource, "
                                 "found another resource type",
                                 "resourceType"));
    return out;
  }
  internal::Reader reader(*parsed, root_type);
  ResourceIndex index;
  if (single) {
    index.add(reader.root(), "");
  } else {
    index_bundle(reader.root(), index);
  }
  out.messages = MessageAssembler(index).assemble();
  out.errors = reader.errors();
  return out;
}

}  // namespace

model::Result<std::vector<model::LabMessage>> from_json(std::string_view json) {
  try {
    ReadOutcome outcome = read(json);
    if (!outcome.errors.empty()) return std::unexpected(std::move(outcome.errors.front()));
    return std::move(outcome.messages);
  } catch (const nlohmann::json::exception& e) {
    // Readers check types before every access, so this is a bug, not bad input.
    return model::fail(model::ErrorCode::kInternal,
                       fmt::format("unexpected JSON access error {}", e.id));
  }
}

std::vector<model::Error> check_json(std::string_view json) {
  try {
    return read(json).errors;
  } catch (const nlohmann::json::exception& e) {
    return {model::Error{
        model::ErrorCode::kInternal, fmt::format("unexpected JSON access error {}", e.id), {}}};
  }
}

}  // namespace labvault::fhir
