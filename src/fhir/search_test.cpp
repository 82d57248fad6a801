// FHIR search parsing, date ranges and prefixes, paging links, and the CapabilityStatement:
// that it lists exactly what parse_search accepts and validates against the R4 JSON schema.
#include "fhir/search.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace labvault::fhir {
namespace {

using model::ErrorCode;
using nlohmann::json;

constexpr std::string_view kCanary = "MRN-CANARY-42";

model::Result<SearchRequest> search(std::string_view type, std::string_view query) {
  auto params = parse_form(query);
  if (!params) return std::unexpected(params.error());
  return parse_search(type, *params);
}

SearchRequest ok(std::string_view type, std::string_view query) {
  auto r = search(type, query);
  EXPECT_TRUE(r.has_value()) << query << ": " << (r ? "" : r.error().to_string());
  return r.value_or(SearchRequest{});
}

std::int64_t utc_us(int y, int m, int d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  auto t = sys_days{year{y} / m / d} + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<microseconds>(t.time_since_epoch()).count();
}

constexpr std::int64_t kSecond = 1'000'000;

TEST(Search, ParseFormDecodesPercentAndPlus) {
  auto p = parse_form("code=http%3A%2F%2Floinc.org%7C2345-7&name=a+b%2Bc&flag&&%5Fid=%41");
  ASSERT_TRUE(p) << p.error().to_string();
  QueryParams want{
      {"code", "http://loinc.org|2345-7"}, {"name", "a b+c"}, {"flag", ""}, {"_id", "A"}};
  EXPECT_EQ(*p, want);
  EXPECT_EQ(parse_form("")->size(), 0u);
  EXPECT_EQ(parse_form("&")->size(), 0u);
}

TEST(Search, ParseFormNamesTheBadEscapeByPositionOnly) {
  for (std::string_view bad : {"a=1&identifier=MRN-CANARY-42%G1", "a=1&identifier=MRN-CANARY-42%",
                               "a=1&MRN-CANARY-42%4=x", "a=1&identifier=%zzMRN-CANARY-42"}) {
    auto p = parse_form(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kParse);
    EXPECT_NE(p.error().message.find("#2"), std::string::npos) << p.error().message;
    EXPECT_EQ(p.error().to_string().find(kCanary), std::string::npos) << p.error().message;
  }
}

TEST(Search, EveryParameterKindParses) {
  SearchRequest r = ok("Observation",
                       "_id=1,2&patient=Patient/12&code=http://loinc.org|2345-7&category=laboratory"
                       "&status=final&date=ge2024-01-01&_count=10&_offset=20&_sort=-date"
                       "&_include=Observation:specimen&_format=json");
  EXPECT_EQ(r.type, "Observation");
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(r.patients, std::vector<std::int64_t>{12});
  ASSERT_EQ(r.code.size(), 1u);
  EXPECT_EQ(r.code[0], (std::vector<Token>{{"http://loinc.org", "2345-7"}}));
  EXPECT_EQ(r.category[0], (std::vector<Token>{{std::nullopt, "laboratory"}}));
  EXPECT_EQ(r.status[0], (std::vector<Token>{{std::nullopt, "final"}}));
  ASSERT_EQ(r.dates.size(), 1u);
  EXPECT_EQ(r.dates[0].comparator, Comparator::kGe);
  EXPECT_EQ(r.dates[0].lower_us, utc_us(2024, 1, 1));
  EXPECT_EQ(r.count, 10);
  EXPECT_EQ(r.offset, 20);
  EXPECT_EQ(r.sort, DateSort::kDescending);
  EXPECT_EQ(r.include, std::vector<std::string>{"Observation:specimen"});

  SearchRequest p = ok("Patient", "identifier=urn:oid:1.2|M1&_revinclude=Observation:patient");
  EXPECT_EQ(p.identifier[0], (std::vector<Token>{{"urn:oid:1.2", "M1"}}));
  EXPECT_EQ(p.revinclude, std::vector<std::string>{"Observation:patient"});
  EXPECT_EQ(ok("ServiceRequest", "authored=2024&_sort=authored").sort, DateSort::kAscending);
  EXPECT_EQ(ok("Specimen", "collected=lt2024-05").dates[0].comparator, Comparator::kLt);
  EXPECT_EQ(ok("Specimen", "").count, 50);
  EXPECT_EQ(ok("Specimen", "_count=500").count, kMaxCount);
  EXPECT_TRUE(search("Patient", "_format=application/fhir%2Bjson"));
  EXPECT_TRUE(search("Patient", "_format=application/fhir+json"));  // '+' unencoded
}

TEST(Search, CommaIsOrAndRepeatingIsAnd) {
  SearchRequest r = ok("DiagnosticReport", "code=a,b&code=c&status=final&date=ge2024&date=lt2025");
  EXPECT_EQ(r.code, (std::vector<std::vector<Token>>{{{std::nullopt, "a"}, {std::nullopt, "b"}},
                                                     {{std::nullopt, "c"}}}));
  EXPECT_EQ(r.status.size(), 1u);
  ASSERT_EQ(r.dates.size(), 2u);
  EXPECT_EQ(r.dates[1].comparator, Comparator::kLt);
  EXPECT_EQ(ok("Observation", "patient=1,Patient/2").patients, (std::vector<std::int64_t>{1, 2}));
}

TEST(Search, TokenSystemForms) {
  auto first = [](std::string_view q) { return ok("Observation", q).code.at(0).at(0); };
  EXPECT_EQ(first("code=s|c"), (Token{"s", "c"}));
  EXPECT_EQ(first("code=|c"), (Token{"", "c"}));  // no system
  EXPECT_EQ(first("code=c"), (Token{std::nullopt, "c"}));
  EXPECT_EQ(first("code=s|"), (Token{"s", ""}));  // any code of s
  // R4 search.html#escaping
  EXPECT_EQ(first("code=a\\,b\\|c\\\\"), (Token{std::nullopt, "a,b|c\\"}));
  for (std::string_view bad : {"code=|", "code=a|b|c", "code=a,,b", "code=a\\", "code="}) {
    auto r = search("Observation", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage);
    EXPECT_NE(r.error().message.find("'code'"), std::string::npos) << r.error().message;
  }
}

TEST(Search, SubjectTakesPatientReferencesOnly) {
  EXPECT_EQ(ok("Observation", "subject=Patient/12").patients, std::vector<std::int64_t>{12});
  EXPECT_EQ(ok("Specimen", "subject=12").patients, std::vector<std::int64_t>{12});
  for (std::string_view bad : {"subject=Group/1", "subject=Patient/x", "patient=0", "patient=-3",
                               "patient=1&subject=2", "patient=1&patient=2", "_id=1&_id=2"}) {
    auto r = search("Observation", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage) << bad;
  }
}

// One day in UTC, [L, U), against one-second resources at its edges (R4 search.html#prefix).
TEST(Search, DatePrefixesAtTheBoundaries) {
  const std::int64_t L = utc_us(2024, 3, 10), U = utc_us(2024, 3, 11), D = 86400 * kSecond;
  struct Span {
    const char* name;
    std::int64_t start, end;
  };
  const Span spans[] = {{"far before", L - 2 * D, L - 2 * D + kSecond},
                        {"before", L - kSecond, L},
                        {"first", L, L + kSecond},
                        {"last", U - kSecond, U},
                        {"after", U, U + kSecond},
                        {"straddling L", L - kSecond, L + kSecond},
                        {"far after", U + D, U + D + kSecond}};
  const std::pair<const char*, std::string_view> expected[] = {
      // far before, before, first, last, after, straddling, far after
      {"eq", "0011000"}, {"ne", "1100111"}, {"gt", "0000101"}, {"lt", "1100010"}, {"ge", "0011101"},
      {"le", "1111010"}, {"sa", "0000101"}, {"eb", "1100000"}, {"ap", "0111110"}};
  for (const auto& [prefix, want] : expected) {
    DateParam p = ok("Observation", fmt::format("date={}2024-03-10", prefix)).dates.at(0);
    EXPECT_EQ(p.lower_us, L);
    EXPECT_EQ(p.upper_us, U);
    for (std::size_t i = 0; i < std::size(spans); ++i) {
      EXPECT_EQ(matches(p, spans[i].start, spans[i].end), want[i] == '1')
          << prefix << " " << spans[i].name;
    }
  }
  EXPECT_EQ(ok("Observation", "date=2024-03-10").dates[0].comparator, Comparator::kEq);
}

TEST(Search, DatePrecisionsGiveTheirRanges) {
  auto range = [](std::string_view value) {
    DateParam p = ok("Observation", fmt::format("date={}", value)).dates.at(0);
    return std::pair{p.lower_us, p.upper_us};
  };
  EXPECT_EQ(range("2024"), std::pair(utc_us(2024, 1, 1), utc_us(2025, 1, 1)));
  EXPECT_EQ(range("2024-02"), std::pair(utc_us(2024, 2, 1), utc_us(2024, 3, 1)));
  EXPECT_EQ(range("2024-12"), std::pair(utc_us(2024, 12, 1), utc_us(2025, 1, 1)));
  EXPECT_EQ(range("2024-02-29"), std::pair(utc_us(2024, 2, 29), utc_us(2024, 3, 1)));
  EXPECT_EQ(range("2024-03-10T10:00:00%2B02:00"),
            std::pair(utc_us(2024, 3, 10, 8), utc_us(2024, 3, 10, 8, 0, 1)));
  // An unencoded '+' arrives as a space and still means +02:00.
  EXPECT_EQ(range("2024-03-10T10:00:00+02:00"), range("2024-03-10T10:00:00%2B02:00"));
  EXPECT_EQ(range("2024-03-10T10:00-05:00"),
            std::pair(utc_us(2024, 3, 10, 15), utc_us(2024, 3, 10, 15, 1)));
  EXPECT_EQ(range("2024-03-10T23:59:59.25Z"), std::pair(utc_us(2024, 3, 10, 23, 59, 59) + 250'000,
                                                        utc_us(2024, 3, 10, 23, 59, 59) + 260'000));
  EXPECT_EQ(range("2023-12-31T23:30:00-01:00").first, utc_us(2024, 1, 1, 0, 30));
}

TEST(Search, RangeOfTakesTheDefaultOffsetOnlyWhenNoneWasSent) {
  auto day = model::DateTime::parse_hl7("20240310");
  ASSERT_TRUE(day);
  EXPECT_EQ(range_of(*day, -300), std::pair(utc_us(2024, 3, 10, 5), utc_us(2024, 3, 11, 5)));
  auto hour = model::DateTime::parse_hl7("2024031010+0100");
  ASSERT_TRUE(hour);
  EXPECT_EQ(range_of(*hour, -300), std::pair(utc_us(2024, 3, 10, 9), utc_us(2024, 3, 10, 10)));
  auto micro = model::DateTime::parse_iso("2024-03-10T10:00:00.1234567Z");
  ASSERT_TRUE(micro);
  EXPECT_EQ(range_of(*micro, 0)->second - range_of(*micro, 0)->first, 1);
  EXPECT_FALSE(range_of(model::DateTime{}, 0));
}

// Every refusal is kUsage, names the parameter, and never repeats the value.
TEST(Search, RefusalsNameTheParameterNeverTheValue) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Patient", "identifier:text=MRN-CANARY-42"},
      {"Patient", "identifier:of-type=MRN-CANARY-42"},
      {"Patient", "bogus=MRN-CANARY-42"},
      {"Patient", "name=MRN-CANARY-42"},
      {"Patient", "date=MRN-CANARY-42"},
      {"Patient", "identifier=a|b|MRN-CANARY-42"},
      {"Observation", "date=MRN-CANARY-42"},
      {"Observation", "date=2024-03-10T10:00:00"},  // a time without a zone
      {"Observation", "date=2024,MRN-CANARY-42"},
      {"Observation", "date=xx2024"},
      {"Observation", "_count=MRN-CANARY-42"},
      {"Observation", "_count=0"},
      {"Observation", "_count=-1"},
      {"Observation", "_count=1&_count=2"},
      {"Observation", "_offset=-1"},
      {"Observation", "_sort=MRN-CANARY-42"},
      {"Observation", "_sort=-date&_sort=date"},
      {"Observation", "_include=MRN-CANARY-42"},
      {"Observation", "_include=DiagnosticReport:result"},
      {"Observation", "_include:iterate=Observation:specimen"},
      {"Observation", "_revinclude=Observation:patient"},
      {"Observation", "_format=xml"},
      {"Observation", "_summary=count"},
      {"Observation", "patient=MRN-CANARY-42"},
      {"Observation", "code:text=MRN-CANARY-42"},
      {"Observation", "identifier=MRN-CANARY-42"},
      {"Patient", "_sort=date"},
  };
  for (const auto& [type, query] : cases) {
    auto r = search(type, query);
    ASSERT_FALSE(r) << type << "?" << query;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage) << query;
    std::string name(query.substr(0, query.find('=')));
    EXPECT_NE(r.error().message.find("'" + name + "'"), std::string::npos)
        << query << " -> " << r.error().message;
    EXPECT_EQ(r.error().to_string().find(kCanary), std::string::npos) << r.error().message;
  }
  // A name that may be a misplaced value is named by its position.
  auto r = search("Patient", "_count=5&MRN-CANARY-42=x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string().find(kCanary), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("#2"), std::string::npos) << r.error().message;
  EXPECT_EQ(search("Encounter", "").error().code, ErrorCode::kUsage);
}

TEST(Search, QueryStringRoundTrips) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Observation",
       "_id=3,4&subject=Patient/12&code=http://loinc.org|2345-7,|x\\,y&code=z\\|\\$\\\\"
       "&category=laboratory&status=final,amended&date=ge2024-03-10T10:00%2B02:00"
       "&date=lt2024-03-10T10:00:00.25Z&date=2025&_sort=-date&_include=Observation:patient"
       "&_count=7&_offset=3"},
      {"ServiceRequest", "patient=5&authored=sa2024-02&_sort=authored&code=s|"},
      {"Patient", "_id=9&_revinclude=Specimen:patient&_revinclude=Observation:patient"},
      {"Specimen", ""},
  };
  for (const auto& [type, query] : cases) {
    SearchRequest r = ok(type, query);
    auto link = query_string(r, 40);
    ASSERT_TRUE(link) << query;
    SearchRequest back = ok(type, *link);
    r.offset = 40;
    EXPECT_EQ(back, r) << *link;
  }
  EXPECT_EQ(*query_string(ok("Specimen", ""), 0), "_count=50&_offset=0");
}

TEST(Search, QueryStringNeverCarriesIdentifiers) {
  SearchRequest r =
      ok("DiagnosticReport", "identifier=urn:oid:1.2|MRN-CANARY-42&code=2345-7&_count=20");
  EXPECT_FALSE(query_string(r, 20));
  auto broader = query_string(r, 20, Identifiers::kLeaveOut);
  ASSERT_TRUE(broader);
  EXPECT_EQ(broader->find("CANARY"), std::string::npos) << *broader;
  EXPECT_EQ(broader->find("identifier"), std::string::npos) << *broader;
  SearchRequest back = ok("DiagnosticReport", *broader);
  r.identifier.clear();
  r.offset = 20;
  EXPECT_EQ(back, r);
}

CapabilityOptions capability_options() {
  return {.base_url = "https://lab.example/fhir/",
          .token_url = "https://lab.example/auth/token",
          .software_version = "0.1.0",
          .date = "2026-01-15"};
}

json statement() {
  auto text = capability_statement(capability_options());
  EXPECT_TRUE(text) << (text ? "" : text.error().to_string());
  return json::parse(text.value_or("{}"));
}

TEST(Capability, DescribesTheServer) {
  json cs = statement();
  EXPECT_EQ(cs["resourceType"], "CapabilityStatement");
  EXPECT_EQ(cs["fhirVersion"], "4.0.1");
  EXPECT_EQ(cs["kind"], "instance");
  EXPECT_EQ(cs["status"], "active");
  EXPECT_EQ(cs["software"]["version"], "0.1.0");
  EXPECT_EQ(cs["implementation"]["url"], "https://lab.example/fhir");
  EXPECT_EQ(cs["format"], json::array({"application/fhir+json"}));
  const json& rest = cs["rest"][0];
  EXPECT_EQ(rest["mode"], "server");
  EXPECT_EQ(rest["interaction"], json::parse(R"([{"code":"transaction"}])"));
  EXPECT_EQ(rest["security"]["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
  const json& oauth = rest["security"]["extension"][0];
  EXPECT_EQ(oauth["url"], "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
  EXPECT_EQ(oauth["extension"][0]["valueUri"], "https://lab.example/auth/token");
  for (const json& resource : rest["resource"]) {
    std::set<std::string> interactions;
    for (const json& i : resource["interaction"]) interactions.insert(i["code"]);
    const bool observation = resource["type"] == "Observation";
    EXPECT_EQ(interactions.contains("create"), observation) << resource["type"];
    EXPECT_TRUE(interactions.contains("read") && interactions.contains("search-type"));
    EXPECT_EQ(resource.contains("operation"), resource["type"] == "Patient");
  }
  const json& patient = rest["resource"][0];
  ASSERT_EQ(patient["type"], "Patient");
  EXPECT_EQ(patient["operation"][0]["name"], "unmask");
  EXPECT_EQ(patient["operation"][0]["definition"],
            "https://lab.example/fhir/OperationDefinition/unmask");
  EXPECT_EQ(patient["operation"][1]["name"], "break-glass");
}

// The statement and parse_search come from one table: every listed parameter, _include and
// _revinclude is accepted, and every name listed for some other type is refused.
TEST(Capability, ListsExactlyWhatSearchAccepts) {
  json cs = statement();
  std::set<std::string> all_names{"name", "birthdate", "encounter", "based-on", "_lastUpdated"};
  std::set<std::string> all_includes{"Observation:subject"}, types;
  for (const json& resource : cs["rest"][0]["resource"]) {
    types.insert(resource["type"]);
    for (const json& p : resource["searchParam"]) all_names.insert(p["name"]);
    for (const char* key : {"searchInclude", "searchRevInclude"})
      for (const json& i : resource.value(key, json::array())) all_includes.insert(i);
  }
  EXPECT_EQ(types, (std::set<std::string>{"Patient", "Observation", "DiagnosticReport",
                                          "ServiceRequest", "Specimen"}));
  for (std::string_view other : {"Encounter", "Practitioner", "Bundle"})
    EXPECT_FALSE(parse_search(other, {})) << other;
  for (const json& resource : cs["rest"][0]["resource"]) {
    const std::string type = resource["type"];
    std::map<std::string, std::string> listed;
    for (const json& p : resource["searchParam"]) {
      listed[p["name"]] = p["type"];
      EXPECT_TRUE(
          p["definition"].get<std::string>().starts_with("http://hl7.org/fhir/SearchParameter/"));
    }
    for (const std::string& name : all_names) {
      const auto it = listed.find(name);
      const std::string value = it == listed.end() ? "1" : it->second == "date" ? "ge2024" : "12";
      EXPECT_EQ(parse_search(type, {{name, value}}).has_value(), it != listed.end())
          << type << " " << name;
    }
    for (const char* key : {"searchInclude", "searchRevInclude"}) {
      const json listed_includes = resource.value(key, json::array());
      for (const std::string& include : all_includes) {
        const bool is_listed = std::find(listed_includes.begin(), listed_includes.end(), include) !=
                               listed_includes.end();
        const std::string param =
            key == std::string_view("searchInclude") ? "_include" : "_revinclude";
        EXPECT_EQ(parse_search(type, {{param, include}}).has_value(), is_listed)
            << type << " " << param << "=" << include;
      }
    }
  }
}

TEST(Capability, RefusesOptionsItCannotWrite) {
  auto with = [](auto change) {
    CapabilityOptions o = capability_options();
    change(o);
    return capability_statement(o);
  };
  for (auto r : {with([](CapabilityOptions& o) { o.base_url = "lab.example/fhir"; }),
                 with([](CapabilityOptions& o) { o.token_url = "https:// x"; }),
                 with([](CapabilityOptions& o) { o.software_version.clear(); }),
                 with([](CapabilityOptions& o) { o.date = "15.01.2026"; })}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  }
}

// tests/fhir_schema/validate.mjs (ajv + the official R4 JSON schema); skipped without Node.
// The shared schema's FHIRVersion enum stops at 4.0.0 (it predates the 4.0.1 technical
// correction), so the statement must pass as written except for that one value, and pass
// entirely with it set to 4.0.0.
TEST(Capability, StatementIsValidR4) {
  const auto validator =
      std::filesystem::path(LABVAULT_SOURCE_DIR) / "tests/fhir_schema/validate.mjs";
  if (!std::filesystem::exists(validator.parent_path() / "node_modules/ajv/package.json") ||
      std::system("node --version > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "run: npm ci --prefix tests/fhir_schema";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("labvault_capability_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto validate = [&](const json& document, std::string& log) {
    std::ofstream(dir / "capability.json") << document.dump(2);
    const std::string command = fmt::format(
        "FHIR_SCHEMA='{}/fhir/fhir.schema.json' node '{}' '{}' > '{}' 2>&1", LABVAULT_TESTDATA,
        validator.string(), (dir / "capability.json").string(), (dir / "log").string());
    const int status = std::system(command.c_str());
    std::ifstream log_file(dir / "log");
    log.assign(std::istreambuf_iterator<char>(log_file), {});
    return status;
  };
  json cs = statement();
  std::string log;
  if (validate(cs, log) != 0) {
    EXPECT_NE(log.find("1 problem(s)"), std::string::npos) << log;
    EXPECT_NE(log.find("/fhirVersion must be equal to one of the allowed values"),
              std::string::npos)
        << log;
  }
  cs["fhirVersion"] = "4.0.0";
  EXPECT_EQ(validate(cs, log), 0) << log;
  cs["rest"][0]["resource"][0]["searchParam"][0]["type"] = "bogus";
  EXPECT_NE(validate(cs, log), 0) << "the validator must see the search parameters";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace labvault::fhir
