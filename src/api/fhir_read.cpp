// FHIR R4 read and search under /fhir/{LAB}. Each patient's record is authorized per resource
// kind by the policy decision point, shaped by the decision's view before anything is matched or
// written, and each release is an audit record written before the response leaves (fail
// closed). Another lab, like a missing id, is 404.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <ranges>

#include "api/internal/fhir_call.hpp"
#include "api/internal/items.hpp"

namespace labvault::api {

namespace {

using model::ErrorCode;

// Search without patient, _id or identifier reads every record of the lab: bounded, so that one
// request cannot decrypt a whole large lab.
constexpr std::size_t kMaxScannedPatients = 2000;

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  for (auto part : std::views::split(path, '/'))
    if (!part.empty()) out.emplace_back(part.begin(), part.end());
  return out;
}

std::optional<store::Id> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  store::Id v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v > 0 ? std::optional(v) : std::nullopt;
}

}  // namespace

FhirCall::FhirCall(Api::Impl& api, Call& call, const Principal& who, store::Id lab)
    : api_(api), call_(call), who_(who), lab_(lab) {}

model::Result<const store::PatientRecord*> FhirCall::record(store::Id patient) {
  if (auto it = records_.find(patient); it != records_.end()) return &it->second;
  auto r = api_.store.read_patient(lab_, patient);
  if (!r) return std::unexpected(r.error());
  return &records_.emplace(patient, std::move(*r)).first->second;
}

model::Result<const access::Decision*> FhirCall::decide(const store::PatientRecord& r,
                                                        std::string_view kind,
                                                        std::string_view action) {
  const auto key = std::pair(r.id, std::string(kind));
  if (auto it = decisions_.find(key); it != decisions_.end()) return &it->second;
  access::Resource what{std::string(kind), lab_, r.id, sensitive_in(r, kind), {}};
  auto d = api_.access.authorize(who_.requester, who_.user, action, what, purpose(), call_.ctx);
  if (!d) return std::unexpected(d.error());
  return &decisions_.emplace(key, std::move(*d)).first->second;
}

std::string FhirCall::purpose() const { return purpose_of(call_.req, who_, lab_); }

model::Result<std::vector<Item>> FhirCall::items(const store::PatientRecord& r,
                                                 std::string_view kind, std::string_view action) {
  auto d = decide(r, kind, action);
  if (!d) return std::unexpected(d.error());
  if (!(*d)->permit)
    return model::fail((*d)->not_found ? ErrorCode::kNotFound : ErrorCode::kForbidden,
                       (*d)->not_found
                           ? fmt::format("no {} with that id", kind)
                           : fmt::format("the access policy denies this ({})", (*d)->rule));
  const access::View* view = api_.access.policy().view((*d)->view);
  if (view == nullptr)
    return model::fail(ErrorCode::kConfig, fmt::format("policy view '{}' missing", (*d)->view));
  return items_of(r, kind, *view, (*d)->masked_categories);
}

std::string FhirCall::render(const Item& item) {
  released_[{item.patient, std::string(item.type)}].insert(item.withheld.begin(),
                                                           item.withheld.end());
  return api::render(item, api_.options.fhir);
}

model::Result<std::vector<Item>> FhirCall::includes(const fhir::SearchRequest& q,
                                                    std::span<const Item> page) {
  std::vector<Item> out;
  std::set<std::pair<std::string_view, store::Id>> seen;
  for (const Item& it : page) seen.insert({it.type, it.id});
  // Adds the `kind` resources of the item's record that `want` selects.
  auto add = [&](const Item& from, std::string_view kind,
                 const std::function<bool(const Item&)>& want) -> model::Result<void> {
    auto rec = record(from.patient);
    if (!rec) return std::unexpected(rec.error());
    auto items = this->items(**rec, kind, "search");
    if (!items) {
      if (items.error().code == ErrorCode::kForbidden || items.error().code == ErrorCode::kNotFound)
        return {};
      return std::unexpected(items.error());
    }
    for (Item& candidate : *items)
      if (want(candidate) && seen.insert({candidate.type, candidate.id}).second)
        out.push_back(std::move(candidate));
    return {};
  };
  auto has = [](const std::vector<store::Id>& ids, store::Id id) {
    return std::ranges::find(ids, id) != ids.end();
  };
  for (const Item& it : page) {
    for (const std::string& inc : q.include) {
      model::Result<void> r;
      if (inc == "DiagnosticReport:result")
        r = add(it, "Observation", [&](const Item& c) { return has(it.observations, c.id); });
      else if (inc == "DiagnosticReport:specimen")
        r = add(it, "Specimen", [&](const Item& c) { return has(it.specimens, c.id); });
      else if (inc == "DiagnosticReport:based-on")
        r = add(it, "ServiceRequest", [&](const Item& c) { return c.id == it.order; });
      else if (inc == "Observation:specimen")
        r = add(it, "Specimen", [&](const Item& c) { return c.id == it.specimen; });
      else if (inc.ends_with(":patient"))
        r = add(it, "Patient", [](const Item&) { return true; });
      if (!r) return std::unexpected(r.error());
    }
    for (const std::string& rev : q.revinclude) {
      const std::string_view kind = std::string_view(rev).substr(0, rev.find(':'));
      model::Result<void> r;
      if (rev.ends_with(":patient"))
        r = add(it, kind, [](const Item&) { return true; });
      else if (rev == "DiagnosticReport:based-on")
        r = add(it, "DiagnosticReport", [&](const Item& c) { return c.order == it.id; });
      if (!r) return std::unexpected(r.error());
    }
  }
  return out;
}

model::Result<void> FhirCall::record_releases(audit::Action action, std::string_view resource,
                                              std::string_view empty_kind) {
  std::vector<audit::Event> events;
  for (const auto& [key, withheld] : released_) {
    const auto& [patient, kind] = key;
    const access::Decision& d = decisions_.at(key);
    audit::Event e = access::request_event(who_.actor(), action, lab_, call_.ctx);
    e.role = role();
    e.resource = resource.empty() ? kind : std::string(resource);
    e.patient = patient;
    e.purpose = purpose();
    e.outcome_detail = d.break_glass ? "break-glass" : d.rule;
    e.masked_fields.assign(withheld.begin(), withheld.end());
    if (const access::View* v = api_.access.policy().view(d.view))
      for (const std::string& f : v->fields)
        if (f.starts_with(kind) && f[kind.size()] == '.' && !withheld.contains(f))
          e.released_fields.push_back(f);
    events.push_back(std::move(e));
  }
  if (events.empty()) {
    // Nothing released is still a question asked (e.g. an MRN probed through identifier=).
    audit::Event e = access::request_event(who_.actor(), action, lab_, call_.ctx);
    e.role = role();
    e.resource = resource.empty() ? std::string(empty_kind) : std::string(resource);
    e.purpose = purpose();
    e.outcome_detail = "no-match";
    events.push_back(std::move(e));
  }
  if (auto r = api_.log.record(events); !r) return std::unexpected(r.error());
  return {};
}

std::string FhirCall::role() const {
  if (who_.client) return "client";
  for (const auto& r : who_.requester.roles)
    if (r.lab == lab_) return r.role;
  return {};
}

net::HttpResponse Api::Impl::fhir(Call& call, std::string_view path) {
  const std::vector<std::string_view> seg = split(path);
  if (seg.empty()) return outcome(404, "not-found", "the FHIR base is /fhir/{LAB}");
  const std::string lab_code(seg[0]);
  const std::string_view method = call.req.method;
  if (seg.size() == 2 && seg[1] == "metadata") {
    call.route = "/fhir/{lab}/metadata";
    auto c = fhir::capability_statement(
        {fhir_base(lab_code), options.token_endpoint, options.software_version, "2026-12-02"});
    if (!c) return outcome(c.error());
    return fhir_response(200, std::move(*c));
  }
  if (seg.size() == 3 && seg[1] == ".well-known" && seg[2] == "smart-configuration")
    return smart_configuration(call);

  // The route template, before anything can fail, for logs and metrics.
  if (seg.size() == 1)
    call.route = "/fhir/{lab}";
  else if (seg.size() == 2 && is_kind(seg[1]))
    call.route = fmt::format("/fhir/{{lab}}/{}", seg[1]);
  else if (seg.size() == 3 && is_kind(seg[1]))
    call.route = seg[2] == "_search" ? fmt::format("/fhir/{{lab}}/{}/_search", seg[1])
                                     : fmt::format("/fhir/{{lab}}/{}/{{id}}", seg[1]);
  else if (seg.size() == 4 && seg[1] == "Patient")
    call.route = fmt::format("/fhir/{{lab}}/Patient/{{id}}/{}",
                             seg[3] == "$unmask" || seg[3] == "$break-glass" ? seg[3] : "other");
  else
    call.route = "/fhir/{lab}/other";

  auto who = authenticate(call);
  if (!who) {
    net::HttpResponse r = outcome(who.error());
    if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (int wait = per_principal.take(who->actor()); wait > 0) {
    net::HttpResponse r = outcome(429, "throttled", "too many requests; retry later");
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
  }
  auto lab = store.find_lab(lab_code);
  if (!lab) return outcome(lab.error());
  if (!*lab) return outcome(404, "not-found", "no such FHIR base");
  const store::Id lab_id = (*lab)->id;
  // Lab isolation before anything touches the lab's records: to someone without a role there
  // (a client of another lab, an administrator) the whole base does not exist, so no answer
  // can tell which of its patients or ids exist. Recorded like any denial.
  const bool member = who->client ? who->client->lab == lab_id
                                  : std::ranges::any_of(who->requester.roles, [&](const auto& r) {
                                      return r.lab == lab_id;
                                    });
  if (!member) {
    audit::Event e = access::request_event(
        who->actor(), method == "GET" ? audit::Action::kRead : audit::Action::kCreate, lab_id,
        call.ctx);
    e.outcome = audit::Outcome::kDenied;
    e.outcome_detail = "other-lab";
    e.resource = seg.size() > 1 && is_kind(seg[1]) ? std::string(seg[1]) : "Bundle";
    if (auto r = log.record(e); !r) return outcome(r.error());
    return outcome(404, "not-found", "no such FHIR base");
  }

  if (seg.size() == 1) {
    if (method != "POST") return outcome(405, "not-supported", "POST a transaction Bundle here");
    return create(call, *who, lab_id, lab_code, true);
  }
  if (!is_kind(seg[1])) return outcome(404, "not-supported", "resource type not supported here");
  const std::string_view type = seg[1];
  if (seg.size() == 2) {
    if (method == "GET") return search(call, *who, lab_id, type, call.req.query, lab_code);
    if (method == "POST" && type == "Observation")
      return create(call, *who, lab_id, lab_code, false);
    return outcome(405, "not-supported", "only GET (search) here, and POST for Observation");
  }
  if (seg.size() == 3 && seg[2] == "_search") {
    if (method != "POST") return outcome(405, "not-supported", "use POST for _search");
    if (!call.req.header("content-type").starts_with("application/x-www-form-urlencoded"))
      return outcome(415, "not-supported", "_search takes application/x-www-form-urlencoded");
    return search(call, *who, lab_id, type, call.req.body, lab_code);
  }
  auto id = parse_id(seg[2]);
  if (!id) return outcome(404, "not-found", fmt::format("no {} with that id", type));
  if (seg.size() == 3) {
    if (method != "GET") return outcome(405, "not-supported", "resources are read-only here");
    return read(call, *who, lab_id, type, *id);
  }
  if (seg.size() == 4 && type == "Patient" && (seg[3] == "$unmask" || seg[3] == "$break-glass")) {
    if (method != "POST") return outcome(405, "not-supported", "operations take POST");
    return operation(call, *who, lab_id, *id, seg[3]);
  }
  return outcome(404, "not-found", "no such endpoint");
}

net::HttpResponse Api::Impl::read(Call& call, const Principal& who, store::Id lab,
                                  std::string_view type, store::Id id) {
  FhirCall fc(*this, call, who, lab);
  const std::string resource = fmt::format("{}/{}", type, id);
  auto patient = store.patient_of(lab, type, id);
  if (!patient) {
    if (patient.error().code == ErrorCode::kNotFound) {
      // Recorded like any read: probing for ids is something a privacy officer wants to see.
      audit::Event e = access::request_event(who.actor(), audit::Action::kRead, lab, call.ctx);
      e.resource = resource;
      e.outcome = audit::Outcome::kError;
      e.outcome_detail = "not-found";
      if (auto r = log.record(e); !r) return outcome(r.error());
    }
    return outcome(patient.error());
  }
  auto rec = fc.record(*patient);
  if (!rec) return outcome(rec.error());
  auto items = fc.items(**rec, type, "read");
  if (!items) return outcome(items.error());
  auto it = std::ranges::find(*items, id, &Item::id);
  if (it == items->end()) return outcome(404, "not-found", fmt::format("no {} with that id", type));
  std::string body = fc.render(*it);
  if (auto r = fc.record_releases(audit::Action::kRead, resource, type); !r)
    return outcome(r.error());
  return fhir_response(200, std::move(body));
}

net::HttpResponse Api::Impl::search(Call& call, const Principal& who, store::Id lab,
                                    std::string_view type, std::string_view query,
                                    std::string_view lab_code) {
  auto params = fhir::parse_form(query);
  if (!params) return outcome(params.error());
  auto q = fhir::parse_search(type, *params);
  if (!q) return outcome(q.error());
  FhirCall fc(*this, call, who, lab);

  // Which records to look in, and whether the client named them (then a denial is the answer,
  // not a silent omission).
  std::vector<store::Id> patients;
  bool named = false;
  auto add_patient = [&](std::string_view kind, store::Id id) -> model::Result<void> {
    auto p = store.patient_of(lab, kind, id);
    if (!p && p.error().code != ErrorCode::kNotFound) return std::unexpected(p.error());
    if (p && std::ranges::find(patients, *p) == patients.end()) patients.push_back(*p);
    return {};
  };
  if (!q->patients.empty()) {
    named = true;
    for (store::Id p : q->patients)
      if (auto r = add_patient("Patient", p); !r) return outcome(r.error());
  } else if (!q->ids.empty()) {
    named = true;
    for (store::Id id : q->ids)
      if (auto r = add_patient(type, id); !r) return outcome(r.error());
  } else if (type == "Patient" && !q->identifier.empty()) {
    // Through the blind index: identifiers are stored sealed, so system|value is required.
    for (const fhir::Token& t : q->identifier.front()) {
      if (!t.system || t.system->empty() || t.code.empty())
        return outcome(400, "invalid", "identifier search needs system|value");
      auto found = store.find_patients(lab, {t.code, fhir::identifier_authority(*t.system), ""});
      if (!found) return outcome(found.error());
      for (store::Id p : *found)
        if (std::ranges::find(patients, p) == patients.end()) patients.push_back(p);
    }
  } else {
    auto all = store.list_patients(lab);
    if (!all) return outcome(all.error());
    if (all->size() > kMaxScannedPatients)
      return outcome(400, "too-costly",
                     "this lab is too large to search without patient, _id or identifier");
    patients = std::move(*all);
  }

  std::vector<Item> hits;
  for (store::Id p : patients) {
    auto rec = fc.record(p);
    if (!rec) return outcome(rec.error());
    auto items = fc.items(**rec, type, "search");
    if (!items) {
      if (named || (items.error().code != ErrorCode::kForbidden &&
                    items.error().code != ErrorCode::kNotFound))
        return outcome(items.error());
      continue;  // a record this requester may not see is simply not in the results
    }
    for (Item& it : *items) {
      if (!q->ids.empty() && type != "Patient" && std::ranges::find(q->ids, it.id) == q->ids.end())
        continue;
      if (matches(it, *q, options.fhir.default_utc_offset_minutes)) hits.push_back(std::move(it));
    }
  }
  if (q->sort != fhir::DateSort::kNone) {
    const int zone = options.fhir.default_utc_offset_minutes;
    auto key = [&](const Item& it) {
      auto r = fhir::range_of(it.date, zone);
      return r ? r->first : std::numeric_limits<std::int64_t>::min();
    };
    std::ranges::stable_sort(hits, [&](const Item& a, const Item& b) {
      return q->sort == fhir::DateSort::kDescending ? key(a) > key(b) : key(a) < key(b);
    });
  }
  const std::int64_t total = static_cast<std::int64_t>(hits.size());
  const auto first = std::min<std::size_t>(hits.size(), static_cast<std::size_t>(q->offset));
  const auto last = std::min<std::size_t>(hits.size(), first + static_cast<std::size_t>(q->count));

  const std::string base = fhir_base(lab_code);
  std::vector<fhir::BundleEntry> entries;
  for (std::size_t i = first; i < last; ++i)
    entries.push_back({fmt::format("{}/{}/{}", base, type, hits[i].id), fc.render(hits[i]), false});
  auto included = fc.includes(*q, std::span(hits).subspan(first, last - first));
  if (!included) return outcome(included.error());
  for (const Item& it : *included)
    entries.push_back({fmt::format("{}/{}/{}", base, it.type, it.id), fc.render(it), true});

  std::vector<fhir::BundleLink> links;
  const std::string url = fmt::format("{}/{}", base, type);
  if (auto self = fhir::query_string(*q, q->offset, fhir::Identifiers::kLeaveOut))
    links.push_back({"self", fmt::format("{}?{}", url, *self)});
  if (last < hits.size())
    if (auto next = fhir::query_string(*q, static_cast<int>(last)))
      links.push_back({"next", fmt::format("{}?{}", url, *next)});
  if (first > 0)
    if (auto prev = fhir::query_string(*q, std::max(0, q->offset - q->count)))
      links.push_back({"previous", fmt::format("{}?{}", url, *prev)});

  if (auto r = fc.record_releases(audit::Action::kSearch, {}, type); !r) return outcome(r.error());
  return fhir_response(200, fhir::searchset(entries, total, links));
}

}  // namespace labvault::api
