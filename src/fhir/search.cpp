// FHIR R4 search parameters. One table per resource type drives parse_search, query_string and
// capability_statement, so what the server says it supports and what it accepts cannot drift.
#include "fhir/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <span>

#include "fhir/internal/json_io.hpp"

namespace labvault::fhir {
namespace {

using model::ErrorCode;

enum class Kind { kToken, kReference, kDate };  // R4 valueset-search-param-type
enum class Field { kId, kPatient, kCode, kCategory, kStatus, kIdentifier, kDate };

struct Param {
  std::string_view name;
  Kind kind;
  Field field;
  std::string_view definition;  // R4 SearchParameter id, under http://hl7.org/fhir/SearchParameter/
  std::string_view documentation = {};
};

struct ResourceSearch {
  std::string_view type;
  std::span<const Param> params;
  std::span<const std::string_view> includes, revincludes, operations;
  bool create = false;
};

constexpr std::string_view kObservationCategoryDoc = "labvault writes only laboratory";
constexpr std::string_view kReportCategoryDoc =
    "labvault writes v2-0074 LAB and the report's diagnostic section";
constexpr std::string_view kDateDoc =
    "one value per parameter; a time needs a zone; ap matches within one day of the value";
constexpr std::string_view kSubjectDoc = "Patient references only: 12 or Patient/12";

constexpr Param kId{"_id", Kind::kToken, Field::kId, "Resource-id"};

constexpr Param kPatientParams[] = {
    kId, {"identifier", Kind::kToken, Field::kIdentifier, "Patient-identifier"}};
constexpr Param kObservationParams[] = {
    kId,
    {"patient", Kind::kReference, Field::kPatient, "clinical-patient"},
    {"subject", Kind::kReference, Field::kPatient, "Observation-subject", kSubjectDoc},
    {"code", Kind::kToken, Field::kCode, "clinical-code"},
    {"category", Kind::kToken, Field::kCategory, "Observation-category", kObservationCategoryDoc},
    {"date", Kind::kDate, Field::kDate, "clinical-date", kDateDoc},
    {"status", Kind::kToken, Field::kStatus, "Observation-status"}};
constexpr Param kDiagnosticReportParams[] = {
    kId,
    {"patient", Kind::kReference, Field::kPatient, "clinical-patient"},
    {"subject", Kind::kReference, Field::kPatient, "DiagnosticReport-subject", kSubjectDoc},
    {"code", Kind::kToken, Field::kCode, "clinical-code"},
    {"category", Kind::kToken, Field::kCategory, "DiagnosticReport-category", kReportCategoryDoc},
    {"date", Kind::kDate, Field::kDate, "clinical-date", kDateDoc},
    {"status", Kind::kToken, Field::kStatus, "DiagnosticReport-status"},
    {"identifier", Kind::kToken, Field::kIdentifier, "clinical-identifier"}};
constexpr Param kServiceRequestParams[] = {
    kId,
    {"patient", Kind::kReference, Field::kPatient, "clinical-patient"},
    {"subject", Kind::kReference, Field::kPatient, "ServiceRequest-subject", kSubjectDoc},
    {"code", Kind::kToken, Field::kCode, "clinical-code"},
    {"status", Kind::kToken, Field::kStatus, "ServiceRequest-status"},
    {"identifier", Kind::kToken, Field::kIdentifier, "clinical-identifier"},
    {"authored", Kind::kDate, Field::kDate, "ServiceRequest-authored", kDateDoc}};
constexpr Param kSpecimenParams[] = {
    kId,
    {"patient", Kind::kReference, Field::kPatient, "Specimen-patient"},
    {"subject", Kind::kReference, Field::kPatient, "Specimen-subject", kSubjectDoc},
    {"identifier", Kind::kToken, Field::kIdentifier, "Specimen-identifier", "the accession number"},
    {"collected", Kind::kDate, Field::kDate, "Specimen-collected", kDateDoc}};

constexpr std::string_view kPatientRevIncludes[] = {"Observation:patient",
                                                    "DiagnosticReport:patient",
                                                    "ServiceRequest:patient", "Specimen:patient"};
constexpr std::string_view kPatientOperations[] = {"unmask", "break-glass"};
constexpr std::string_view kObservationIncludes[] = {"Observation:specimen", "Observation:patient"};
constexpr std::string_view kDiagnosticReportIncludes[] = {
    "DiagnosticReport:result", "DiagnosticReport:specimen", "DiagnosticReport:patient",
    "DiagnosticReport:based-on"};
constexpr std::string_view kServiceRequestRevIncludes[] = {"DiagnosticReport:based-on"};

constexpr ResourceSearch kResources[] = {
    {"Patient", kPatientParams, {}, kPatientRevIncludes, kPatientOperations},
    {"Observation", kObservationParams, kObservationIncludes, {}, {}, /*create=*/true},
    {"DiagnosticReport", kDiagnosticReportParams, kDiagnosticReportIncludes, {}, {}},
    {"ServiceRequest", kServiceRequestParams, {}, kServiceRequestRevIncludes, {}},
    {"Specimen", kSpecimenParams, {}, {}, {}},
};

const ResourceSearch* find_resource(std::string_view type) {
  auto it = std::ranges::find(kResources, type, &ResourceSearch::type);
  return it == std::end(kResources) ? nullptr : &*it;
}

const Param* find_param(const ResourceSearch& resource, std::string_view name) {
  auto it = std::ranges::find(resource.params, name, &Param::name);
  return it == resource.params.end() ? nullptr : &*it;
}

const Param* first_of(const ResourceSearch& resource, Field field) {
  auto it = std::ranges::find(resource.params, field, &Param::field);
  return it == resource.params.end() ? nullptr : &*it;
}

// Parameter names come from the API's vocabulary and are echoed in errors. A name with digits
// or other characters may be a value sent in the wrong place (an MRN as a name), so it is
// named by its position instead.
bool plain_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.' ||
           c == ':';
  });
}

std::string label(std::string_view name, std::size_t position) {
  return plain_name(name) ? fmt::format("'{}'", name) : fmt::format("#{}", position);
}

std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i] == '+' ? ' ' : s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned char byte = 0;
    auto [stop, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, byte, 16);
    if (ec != std::errc() || stop != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

// RFC 3986 unreserved characters plus the ',', ':' and '/' FHIR values use, which a query may
// carry literally; '|' and '\' may not (RFC 3986 3.4).
std::string url_encode(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') ||
                         std::string_view("-._~,:/").find(c) != std::string_view::npos;
    out += literal ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// R4 search.html#escaping: '\' escapes ',', '|', '$' and '\' in values. Splits at unescaped
// `separator`, keeping escapes in the pieces; nullopt on a '\' that escapes nothing.
std::optional<std::vector<std::string_view>> split_escaped(std::string_view value, char separator) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\') {
      if (++i == value.size()) return std::nullopt;
    } else if (value[i] == separator) {
      pieces.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(value.substr(start));
  return pieces;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
    out += s[i] == '\\' && i + 1 < s.size() ? s[++i] : s[i];
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '|' || c == '$' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::optional<std::vector<Token>> parse_tokens(std::string_view value) {
  auto pieces = split_escaped(value, ',');
  if (!pieces) return std::nullopt;
  std::vector<Token> tokens;
  for (std::string_view piece : *pieces) {
    auto parts = split_escaped(piece, '|');
    if (!parts || parts->size() > 2) return std::nullopt;
    Token t;
    t.code = unescape(parts->back());
    if (parts->size() == 2) t.system = unescape(parts->front());
    if (t.code.empty() && t.system.value_or("").empty()) return std::nullopt;
    tokens.push_back(std::move(t));
  }
  return tokens;
}

std::string tokens_text(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty()) out += ',';
    if (t.system) out += escape(*t.system) + '|';
    out += escape(t.code);
  }
  return out;
}

template <typename Int>
std::optional<Int> parse_int(std::string_view s) {
  Int v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "12" or, when `type_prefix` is set, also "Patient/12"; ids are positive.
std::optional<std::vector<std::int64_t>> parse_ids(std::string_view value, bool type_prefix) {
  std::vector<std::int64_t> ids;
  auto pieces = split_escaped(value, ',');
  if (!pieces) return std::nullopt;
  for (std::string_view piece : *pieces) {
    if (type_prefix && piece.starts_with("Patient/")) piece.remove_prefix(8);
    auto id = parse_int<std::int64_t>(piece);
    if (!id || *id < 1) return std::nullopt;
    ids.push_back(*id);
  }
  return ids;
}

constexpr std::pair<std::string_view, Comparator> kPrefixes[] = {
    {"eq", Comparator::kEq}, {"ne", Comparator::kNe}, {"gt", Comparator::kGt},
    {"lt", Comparator::kLt}, {"ge", Comparator::kGe}, {"le", Comparator::kLe},
    {"sa", Comparator::kSa}, {"eb", Comparator::kEb}, {"ap", Comparator::kAp}};

std::optional<DateParam> parse_date(std::string_view value) {
  DateParam p;
  if (value.size() >= 2 && value[0] >= 'a' && value[0] <= 'z') {
    auto it = std::ranges::find(kPrefixes, value.substr(0, 2),
                                &std::pair<std::string_view, Comparator>::first);
    if (it == std::end(kPrefixes)) return std::nullopt;
    p.comparator = it->second;
    value.remove_prefix(2);
  }
  // A zone's '+' sent unencoded arrives as a space (parse_form); no date contains a space.
  std::string text(value);
  std::ranges::replace(text, ' ', '+');
  auto parsed = model::DateTime::parse_iso(text);
  if (!parsed) return std::nullopt;
  p.value = std::move(*parsed);
  std::tie(p.lower_us, p.upper_us) = *range_of(p.value, 0);
  return p;
}

// The date as parse_iso reads it back with the same precision: to_iso writes a minute as
// hh:mm:00, which would narrow the range to one second.
std::string date_text(const DateParam& p) {
  std::string text = p.value.to_iso(0);
  if (p.value.precision == model::DateTime::Precision::kMinute) text.erase(16, 3);
  if (p.comparator == Comparator::kEq) return text;
  auto it =
      std::ranges::find(kPrefixes, p.comparator, &std::pair<std::string_view, Comparator>::second);
  return std::string(it->first) + text;
}

// Parameters that may appear once: a second _count has no meaning, and an AND of two id lists
// is never what a client means.
struct Seen {
  bool ids = false, patients = false, count = false, offset = false, sort = false;
};
constexpr std::string_view kTwice = "given more than once (use one comma-separated list)";

// Adds a filter of the table to `r`; the problem with `value` otherwise.
std::optional<std::string> add_filter(SearchRequest& r, const Param& p, std::string_view value,
                                      Seen& seen) {
  if (p.field == Field::kId || p.field == Field::kPatient) {
    const bool patient = p.field == Field::kPatient;
    if (std::exchange(patient ? seen.patients : seen.ids, true))
      return patient ? "given twice, or both patient and subject given" : std::string(kTwice);
    auto ids = parse_ids(value, patient);
    if (!ids) return patient ? "expected [Patient/]id[,...]" : "expected id[,...]";
    (patient ? r.patients : r.ids) = std::move(*ids);
  } else if (p.field == Field::kDate) {
    auto date = parse_date(value);
    if (!date) return "expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.f]](Z|+hh:mm)]]], one value";
    r.dates.push_back(std::move(*date));
  } else {
    auto tokens = parse_tokens(value);
    if (!tokens) return "expected [system|]code[,...]";
    auto member = p.field == Field::kCode       ? &SearchRequest::code
                  : p.field == Field::kCategory ? &SearchRequest::category
                  : p.field == Field::kStatus   ? &SearchRequest::status
                                                : &SearchRequest::identifier;
    (r.*member).push_back(std::move(*tokens));
  }
  return std::nullopt;
}

// _count, _offset, _sort, _include and _revinclude; the problem otherwise.
std::optional<std::string> add_result_param(SearchRequest& r, const ResourceSearch& resource,
                                            std::string_view name, std::string_view value,
                                            Seen& seen) {
  if (name == "_count" || name == "_offset") {
    const bool count = name == "_count";
    if (std::exchange(count ? seen.count : seen.offset, true)) return std::string(kTwice);
    auto n = parse_int<int>(value);
    if (!n || *n < (count ? 1 : 0))
      return count ? fmt::format("expected a whole number from 1 to {}", kMaxCount)
                   : "expected a whole number from 0";
    (count ? r.count : r.offset) = count ? std::min(*n, kMaxCount) : *n;
  } else if (name == "_sort") {
    if (std::exchange(seen.sort, true)) return std::string(kTwice);
    const Param* date = first_of(resource, Field::kDate);
    if (!date) return fmt::format("{} has no date to sort by", resource.type);
    if (value == date->name) {
      r.sort = DateSort::kAscending;
    } else if (value.starts_with('-') && value.substr(1) == date->name) {
      r.sort = DateSort::kDescending;
    } else {
      return fmt::format("expected {0} or -{0}", date->name);
    }
  } else if (name == "_include" || name == "_revinclude") {
    const bool rev = name == "_revinclude";
    auto allowed = rev ? resource.revincludes : resource.includes;
    if (std::ranges::find(allowed, value) == allowed.end())
      return fmt::format("value not supported for {}", resource.type);
    std::vector<std::string>& list = rev ? r.revinclude : r.include;
    if (std::ranges::find(list, value) == list.end()) list.emplace_back(value);
  } else {
    return fmt::format("not supported for {}", resource.type);
  }
  return std::nullopt;
}

std::int64_t civil_us(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  sys_days days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}};
  return duration_cast<microseconds>(days.time_since_epoch()).count();
}

constexpr std::int64_t kSecondUs = 1'000'000, kMinuteUs = 60 * kSecondUs, kHourUs = 60 * kMinuteUs,
                       kDayUs = 24 * kHourUs;

}  // namespace

model::Result<QueryParams> parse_form(std::string_view text) {
  QueryParams params;
  std::size_t position = 0;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = std::min(text.find('&', start), text.size());
    std::string_view piece = text.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) continue;
    ++position;
    const std::size_t equals = piece.find('=');
    auto name = form_decode(piece.substr(0, equals));
    auto value = equals == std::string_view::npos ? std::optional<std::string>("")
                                                  : form_decode(piece.substr(equals + 1));
    if (!name || !value) {
      return model::fail(ErrorCode::kParse,
                         fmt::format("query parameter #{}: '%' must be followed by two "
                                     "hexadecimal digits",
                                     position));
    }
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

bool matches(const DateParam& p, std::int64_t start_us, std::int64_t end_us) {
  const bool within = p.lower_us <= start_us && end_us <= p.upper_us;
  switch (p.comparator) {
    case Comparator::kEq:
      return within;
    case Comparator::kNe:
      return !within;
    case Comparator::kGt:
      return end_us > p.upper_us;
    case Comparator::kLt:
      return start_us < p.lower_us;
    case Comparator::kGe:
      return end_us > p.upper_us || within;
    case Comparator::kLe:
      return start_us < p.lower_us || within;
    case Comparator::kSa:
      return start_us >= p.upper_us;
    case Comparator::kEb:
      return end_us <= p.lower_us;
    case Comparator::kAp:
      return start_us < p.upper_us + kDayUs && end_us > p.lower_us - kDayUs;
  }
  return false;
}

std::optional<std::pair<std::int64_t, std::int64_t>> range_of(const model::DateTime& value,
                                                              int default_offset_minutes) {
  using P = model::DateTime::Precision;
  const P precision = value.precision;
  if (precision == P::kNone) return std::nullopt;
  const unsigned month = precision >= P::kMonth ? value.month : 1;
  std::int64_t lower = civil_us(value.year, month, precision >= P::kDay ? value.day : 1);
  if (precision >= P::kHour) lower += value.hour * kHourUs;
  if (precision >= P::kMinute) lower += value.minute * kMinuteUs;
  if (precision >= P::kSecond) lower += value.second * kSecondUs;
  std::int64_t upper = 0;
  if (precision == P::kYear) {
    upper = civil_us(value.year + 1, 1, 1);
  } else if (precision == P::kMonth) {
    upper = civil_us(value.year + month / 12, month % 12 + 1, 1);
  } else if (precision != P::kSecond) {
    upper = lower + (precision == P::kDay ? kDayUs : precision == P::kHour ? kHourUs : kMinuteUs);
  } else {
    // The fraction's digits are its precision; beyond microseconds they narrow nothing.
    std::int64_t unit = kSecondUs;
    for (std::size_t i = 0; i < value.fraction.size() && unit > 1; ++i) {
      unit /= 10;
      lower += (value.fraction[i] - '0') * unit;
    }
    upper = lower + unit;
  }
  const std::int64_t shift = value.utc_offset_minutes.value_or(default_offset_minutes) * kMinuteUs;
  return std::pair{lower - shift, upper - shift};
}

model::Result<SearchRequest> parse_search(std::string_view type, const QueryParams& params) {
  const ResourceSearch* resource = find_resource(type);
  if (!resource) {
    return model::fail(ErrorCode::kUsage,
                       fmt::format("search of resource type {} is not supported",
                                   plain_name(type) ? type : "(not a type name)"));
  }
  SearchRequest r;
  r.type = resource->type;
  Seen seen;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, value] = params[i];
    std::optional<std::string> problem;
    if (name.find(':') != std::string::npos) {
      problem = "modifiers are not supported";
    } else if (name == "_format") {
      // An unencoded '+' arrives as a space.
      if (value != "json" && value != "application/json" && value != "application/fhir+json" &&
          value != "application/fhir json")
        problem = "only JSON is served";
    } else if (value.empty()) {
      problem = "empty value";
    } else if (const Param* p = find_param(*resource, name)) {
      problem = add_filter(r, *p, value, seen);
    } else if (name.starts_with('_')) {
      problem = add_result_param(r, *resource, name, value, seen);
    } else {
      problem = fmt::format("not supported for {}", resource->type);
    }
    if (problem) {
      return model::fail(ErrorCode::kUsage,
                         fmt::format("search parameter {}: {}", label(name, i + 1), *problem));
    }
  }
  return r;
}

std::optional<std::string> query_string(const SearchRequest& r, int offset,
                                        Identifiers identifiers) {
  if (!r.identifier.empty() && identifiers == Identifiers::kRefuse) return std::nullopt;
  const ResourceSearch* resource = find_resource(r.type);
  auto name_of = [&](Field field, std::string_view fallback) {
    const Param* p = resource ? first_of(*resource, field) : nullptr;
    return p ? p->name : fallback;
  };
  std::string out;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!out.empty()) out += '&';
    out += fmt::format("{}={}", name, url_encode(value));
  };
  if (!r.ids.empty()) add("_id", fmt::format("{}", fmt::join(r.ids, ",")));
  if (!r.patients.empty())
    add(name_of(Field::kPatient, "patient"), fmt::format("{}", fmt::join(r.patients, ",")));
  for (const auto& any : r.code) add("code", tokens_text(any));
  for (const auto& any : r.category) add("category", tokens_text(any));
  for (const auto& any : r.status) add("status", tokens_text(any));
  const std::string_view date = name_of(Field::kDate, "date");
  for (const DateParam& d : r.dates) add(date, date_text(d));
  if (r.sort != DateSort::kNone)
    add("_sort", fmt::format("{}{}", r.sort == DateSort::kDescending ? "-" : "", date));
  for (const std::string& v : r.include) add("_include", v);
  for (const std::string& v : r.revinclude) add("_revinclude", v);
  add("_count", std::to_string(r.count));
  add("_offset", std::to_string(offset));
  return out;
}

model::Result<std::string> capability_statement(const CapabilityOptions& options) {
  using internal::OutJson;
  auto bad = [](std::string_view option, std::string_view expected) {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("CapabilityStatement {}: expected {}", option, expected));
  };
  auto is_url = [](std::string_view url) {
    const std::size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
    return scheme != 0 && url.size() > scheme &&
           std::ranges::none_of(url, [](char c) { return c <= ' ' || c == 0x7f; });
  };
  if (!is_url(options.base_url)) return bad("base_url", "an http(s):// URL");
  if (!is_url(options.token_url)) return bad("token_url", "an http(s):// URL");
  if (options.software_version.empty()) return bad("software_version", "a version");
  if (!model::DateTime::parse_iso(options.date)) return bad("date", "a FHIR dateTime");
  std::string_view base = options.base_url;
  while (base.ends_with('/')) base.remove_suffix(1);

  OutJson resources = OutJson::array();
  for (const ResourceSearch& r : kResources) {
    OutJson resource = {{"type", r.type}};
    OutJson& interactions = resource["interaction"] = {{{"code", "read"}}};
    if (r.create) interactions.push_back({{"code", "create"}});
    interactions.push_back({{"code", "search-type"}});
    if (!r.includes.empty()) resource["searchInclude"] = r.includes;
    if (!r.revincludes.empty()) resource["searchRevInclude"] = r.revincludes;
    for (const Param& p : r.params) {
      static constexpr std::string_view kKinds[] = {"token", "reference", "date"};
      OutJson param = {
          {"name", p.name},
          {"definition", fmt::format("http://hl7.org/fhir/SearchParameter/{}", p.definition)},
          {"type", kKinds[static_cast<int>(p.kind)]}};
      if (!p.documentation.empty()) param["documentation"] = p.documentation;
      resource["searchParam"].push_back(std::move(param));
    }
    for (std::string_view op : r.operations) {
      resource["operation"].push_back(
          {{"name", op}, {"definition", fmt::format("{}/OperationDefinition/{}", base, op)}});
    }
    resources.push_back(std::move(resource));
  }

  OutJson security = OutJson::object();
  // SMART App Launch 1.0 conformance: the token endpoint as the oauth-uris extension.
  security["extension"] = {
      {{"url", "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"},
       {"extension", {{{"url", "token"}, {"valueUri", options.token_url}}}}}};
  security["service"] = {
      {{"coding",
        {{{"system", "http://terminology.hl7.org/CodeSystem/restful-security-service"},
          {"code", "SMART-on-FHIR"}}}}}};
  OutJson rest = {{"mode", "server"}};
  rest["documentation"] = fmt::format(
      "Searches page with _count (1 to {0}; more is served as {0}) and _offset; _sort takes the "
      "type's date parameter, with '-' for newest first. Any other parameter, modifier, "
      "_include or _revinclude is rejected, not ignored.",
      kMaxCount);
  rest["security"] = std::move(security);
  rest["resource"] = std::move(resources);
  rest["interaction"] = {{{"code", "transaction"}}};

  OutJson statement = {{"resourceType", "CapabilityStatement"}};
  statement["status"] = "active";
  statement["date"] = options.date;
  statement["kind"] = "instance";
  statement["software"] = {{"name", "labvault"}, {"version", options.software_version}};
  statement["implementation"] = {{"description", "labvault clinical lab results hub"},
                                 {"url", base}};
  statement["fhirVersion"] = "4.0.1";
  statement["format"] = {"application/fhir+json"};
  statement["rest"] = {std::move(rest)};
  return internal::write_pretty(statement);
}

}  // namespace labvault::fhir
