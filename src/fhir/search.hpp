// FHIR R4 search (search.html) for the REST API: a query string or form body becomes a
// SearchRequest, a SearchRequest becomes a paging link again, and the CapabilityStatement is
// written from the same table of parameters, so it cannot claim a search parse_search refuses.
// Invariant: errors name parameters (or their position), never values: values are MRNs, names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/datetime.hpp"
#include "model/error.hpp"

namespace labvault::fhir {

// Decoded name/value pairs in the order they were sent; names may repeat.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// A URL query (without the '?') or an application/x-www-form-urlencoded body. '+' is a space
// in both (WHATWG URL "application/x-www-form-urlencoded parsing"); empty pieces ("a=1&&b=2")
// are skipped, a piece without '=' has an empty value. kParse on a bad percent escape, naming
// the parameter's 1-based position.
[[nodiscard]] model::Result<QueryParams> parse_form(std::string_view text);

// R4 search.html#prefix; kEq when the value has no prefix.
enum class Comparator { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

// A date search value and the range its precision implies (R4 search.html#date), in UTC
// microseconds: "2024" is [2024-01-01T00:00Z, 2025-01-01T00:00Z). Values without a time are
// taken in UTC; a value with a time must carry a zone (as FHIR dateTime requires).
struct DateParam {
  Comparator comparator = Comparator::kEq;
  model::DateTime value;                    // as sent, for paging links
  std::int64_t lower_us = 0, upper_us = 0;  // [lower, upper)

  bool operator==(const DateParam&) const = default;
};

// Whether a resource whose value spans [start_us, end_us) matches `p` under R4 search.html
// #prefix (e.g. ge: the resource reaches past the search range, or lies within it). kAp is
// "overlaps the search range widened by one day on each side" rather than R4's suggested 10%
// of the distance to now, which would need a clock here.
[[nodiscard]] bool matches(const DateParam& p, std::int64_t start_us, std::int64_t end_us);

// The range `value` denotes, in UTC microseconds, [first, second); a value without an offset
// (a date, or an HL7 time sent without a zone) is taken at `default_offset_minutes` east of
// UTC. nullopt when `value` is empty. `value` must be valid (as parse_hl7/parse_iso return).
[[nodiscard]] std::optional<std::pair<std::int64_t, std::int64_t>> range_of(
    const model::DateTime& value, int default_offset_minutes);

// R4 search.html#token: "s|c" (system s, code c), "|c" (system == "": c without a system),
// "c" (system nullopt: c in any system), "s|" (code == "": any code of s).
struct Token {
  std::optional<std::string> system;
  std::string code;

  bool operator==(const Token&) const = default;
};

enum class DateSort { kNone, kAscending, kDescending };

// One search of one resource type. Lists of lists are AND (repeated parameter) of OR (comma).
struct SearchRequest {
  std::string type;  // Patient, Observation, DiagnosticReport, ServiceRequest or Specimen
  std::vector<std::int64_t> ids;       // _id, OR; empty: any
  std::vector<std::int64_t> patients;  // patient= or subject= ("12" or "Patient/12"), OR
  std::vector<std::vector<Token>> code, category, status, identifier;
  std::vector<DateParam> dates;      // the type's date parameter (date, authored, collected), AND
  int count = 50;                    // _count, 1..kMaxCount
  int offset = 0;                    // _offset: our paging links use it
  DateSort sort = DateSort::kNone;   // _sort=<date param> or _sort=-<date param>
  std::vector<std::string> include;  // e.g. "DiagnosticReport:result", as listed
  std::vector<std::string> revinclude;  // e.g. "Observation:patient"

  bool operator==(const SearchRequest&) const = default;
};

// _count above this is served as this (R4 search.html#count lets the server return fewer).
inline constexpr int kMaxCount = 200;

// kUsage, naming the parameter, for any parameter, modifier, _include or _revinclude the
// type does not support, for a malformed value, for _count=0 (no summary-only searches), and
// for _id, patient/subject, _count, _offset or _sort given twice (an AND of two id lists is
// never what a client means). _format=json (or application/json, application/fhir+json) is
// accepted and ignored; other formats are kUsage.
[[nodiscard]] model::Result<SearchRequest> parse_search(std::string_view type,
                                                        const QueryParams& params);

enum class Identifiers {
  kRefuse,    // no query at all when r.identifier is set
  kLeaveOut,  // the query without them, which then names a broader search (e.g. for "self")
};
// The query (no '?') that repeats `r` at `offset`, for Bundle.link; parse_form + parse_search
// read it back as `r`. Identifier values are PHI (MRNs) and never go into a URL: with
// kRefuse, nullopt when r.identifier is set, so callers leave out next/previous (Bundle.link
// is 0..*) rather than page through a different search.
[[nodiscard]] std::optional<std::string> query_string(
    const SearchRequest& r, int offset, Identifiers identifiers = Identifiers::kRefuse);

struct CapabilityOptions {
  std::string base_url;   // the FHIR base, e.g. https://lab.example/fhir (implementation.url)
  std::string token_url;  // the SMART token endpoint, e.g. https://lab.example/auth/token
  std::string software_version;
  std::string date;  // FHIR dateTime this statement last changed, e.g. the release date
};

// The server's R4 CapabilityStatement (pretty JSON), listing exactly what parse_search
// accepts. kConfig when an option is empty or not of its type (URLs need http(s)://).
[[nodiscard]] model::Result<std::string> capability_statement(const CapabilityOptions& options);

}  // namespace labvault::fhir
