#include "model/lab.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace labvault::model {

const Coding* CodeableConcept::loinc() const {
  for (const Coding& c : codings)
    if (c.system == "LN" || c.system == "pCLOCD" || c.system == "http://loinc.org") return &c;
  return nullptr;
}

namespace {
constexpr std::array<std::pair<ResultStatus, std::string_view>, 12> kResultStatus{{
    {ResultStatus::kPending, "I"},
    {ResultStatus::kPreliminary, "P"},
    {ResultStatus::kFinal, "F"},
    {ResultStatus::kCorrected, "C"},
    {ResultStatus::kCancelled, "X"},
    {ResultStatus::kWrong, "W"},
    {ResultStatus::kDeleted, "D"},
    {ResultStatus::kNotAsked, "N"},
    {ResultStatus::kOrderDetail, "O"},
    {ResultStatus::kEntered, "R"},
    {ResultStatus::kPartial, "S"},
    {ResultStatus::kFinalUnchanged, "U"},
}};

constexpr std::array<std::pair<Sensitivity, std::string_view>, 6> kSensitivity{{
    {Sensitivity::kNone, "none"},
    {Sensitivity::kHiv, "hiv"},
    {Sensitivity::kGenetic, "genetic"},
    {Sensitivity::kSubstanceUse, "substance-use"},
    {Sensitivity::kBehavioralHealth, "behavioral-health"},
    {Sensitivity::kSexualHealth, "sexual-health"},
}};
}  // namespace

std::string_view to_hl7_code(ResultStatus s) {
  for (auto [status, code] : kResultStatus)
    if (status == s) return code;
  return "F";
}

std::optional<ResultStatus> result_status_from_hl7(std::string_view code) {
  for (auto [status, c] : kResultStatus)
    if (c == code) return status;
  return std::nullopt;
}

std::optional<ReportStatus> report_status_from_hl7(std::string_view code) {
  if (code == "O" || code == "I" || code == "S") return ReportStatus::kRegistered;
  if (code == "A" || code == "R") return ReportStatus::kPartial;
  if (code == "P") return ReportStatus::kPreliminary;
  if (code == "F") return ReportStatus::kFinal;
  if (code == "C") return ReportStatus::kCorrected;
  if (code == "X") return ReportStatus::kCancelled;
  return std::nullopt;
}

std::string_view to_hl7_code(ReportStatus s) {
  switch (s) {
    case ReportStatus::kRegistered:
      return "I";
    case ReportStatus::kPartial:
      return "A";
    case ReportStatus::kPreliminary:
      return "P";
    case ReportStatus::kFinal:
      return "F";
    case ReportStatus::kCorrected:
      return "C";
    case ReportStatus::kCancelled:
      return "X";
  }
  return "F";
}

std::string_view to_string(Sensitivity s) {
  for (auto [sens, name] : kSensitivity)
    if (sens == s) return name;
  return "none";
}

std::optional<Sensitivity> sensitivity_from_string(std::string_view s) {
  for (auto [sens, name] : kSensitivity)
    if (name == s) return sens;
  return std::nullopt;
}

std::string_view to_hl7_code(Sex s) {
  switch (s) {
    case Sex::kFemale:
      return "F";
    case Sex::kMale:
      return "M";
    case Sex::kOther:
      return "O";
    case Sex::kUnknown:
      return "U";
  }
  return "U";
}

Sex sex_from_hl7(std::string_view code) {
  if (code == "F") return Sex::kFemale;
  if (code == "M") return Sex::kMale;
  if (code == "O" || code == "A" || code == "N") return Sex::kOther;
  return Sex::kUnknown;
}

namespace {
// Identity of an observation within a report: its code (LOINC preferred) and sub-id.
bool same_observation(const Observation& a, const Observation& b) {
  const Coding* la = a.code.loinc();
  const Coding* lb = b.code.loinc();
  bool same_code = la && lb ? la->code == lb->code
                            : !a.code.codings.empty() && !b.code.codings.empty() &&
                                  a.code.codings.front().code == b.code.codings.front().code;
  return same_code && a.sub_id == b.sub_id;
}
}  // namespace

void apply_correction(Report& current, const Report& incoming) {
  // Each stored observation answers at most one incoming one: a report that repeats a code
  // without sub-ids (lines of a text result, organisms) matches line by line, in order.
  std::vector<bool> used(current.observations.size(), false);
  for (const Observation& next : incoming.observations) {
    auto it = current.observations.begin();
    for (; it != current.observations.end(); ++it) {
      auto i = static_cast<std::size_t>(it - current.observations.begin());
      if (i < used.size() && !used[i] && same_observation(*it, next)) {
        used[i] = true;
        break;
      }
    }
    if (it == current.observations.end()) {
      current.observations.push_back(next);
      continue;
    }
    std::vector<ObservationVersion> history = std::move(it->history);
    if (it->value != next.value || it->status != next.status) {
      history.push_back({it->value, it->status, it->observed, it->issued});
    }
    *it = next;
    it->history = std::move(history);
  }
  // Report-level fields follow the newest message; specimens and notes accumulate.
  std::vector<Observation> observations = std::move(current.observations);
  std::vector<Specimen> specimens = std::move(current.specimens);
  std::vector<std::string> notes = std::move(current.notes);
  current = incoming;
  current.observations = std::move(observations);
  for (const Specimen& s : incoming.specimens)
    if (std::ranges::find(specimens, s) == specimens.end()) specimens.push_back(s);
  current.specimens = std::move(specimens);
  for (const std::string& n : incoming.notes)
    if (std::ranges::find(notes, n) == notes.end()) notes.push_back(n);
  current.notes = std::move(notes);
}

}  // namespace labvault::model
