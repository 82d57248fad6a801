// Errors -> FHIR R4 OperationOutcome (operationoutcome.html), the body of a failed FHIR
// interaction and of `labvault convert --to fhir` on bad input.
#include "fhir/fhir.hpp"
#include "fhir/internal/json_io.hpp"

namespace labvault::fhir {
namespace {

// ErrorCode -> R4 valueset-issue-type.
std::string_view issue_type(model::ErrorCode code) {
  using C = model::ErrorCode;
  switch (code) {
    case C::kParse:
    case C::kEncoding:
    case C::kSegmentSequence:
      return "structure";
    case C::kRequiredFieldMissing:
      return "required";
    case C::kDataType:
      return "value";
    case C::kTableValue:
      return "code-invalid";
    case C::kValueTooLong:
      return "too-long";
    case C::kUnsupportedMessageType:
    case C::kUnsupportedEvent:
    case C::kUnsupportedProcessingId:
    case C::kUnsupportedVersion:
      return "not-supported";
    case C::kDuplicate:
      return "duplicate";
    case C::kInternal:
    case C::kIo:
      return "exception";
    case C::kUsage:
      return "invalid";
    case C::kConfig:
    case C::kCrypto:
    case C::kKey:
    case C::kStorage:
      return "processing";
    case C::kNotFound:
      return "not-found";
    case C::kUnauthenticated:
      return "login";
    case C::kForbidden:
      return "forbidden";
  }
  return "processing";
}

}  // namespace

std::string operation_outcome(std::span<const model::Error> errors) {
  using internal::OutJson;
  OutJson outcome = OutJson::object();
  outcome["resourceType"] = "OperationOutcome";
  OutJson issues = OutJson::array();
  for (const model::Error& e : errors) {
    OutJson issue = OutJson::object();
    issue["severity"] = "error";
    issue["code"] = issue_type(e.code);
    std::string diagnostics = e.to_string();
    if (!diagnostics.empty()) issue["diagnostics"] = diagnostics;
    // issue.expression is FHIRPath (R4 operationoutcome.html); json_path is written in that
    // form ("Bundle.entry[3].resource.valueQuantity.value").
    if (!e.location.json_path.empty()) issue["expression"].push_back(e.location.json_path);
    issues.push_back(std::move(issue));
  }
  if (issues.empty()) {
    // "All OK" outcome: one informational issue (R4 operationoutcome.html#notes).
    issues.push_back(
        {{"severity", "information"}, {"code", "informational"}, {"diagnostics", "no errors"}});
  }
  outcome["issue"] = std::move(issues);
  return internal::write_pretty(outcome);
}

}  // namespace labvault::fhir
