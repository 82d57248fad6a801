#include "api/internal/items.hpp"

#include <algorithm>

#include "access/view.hpp"

namespace labvault::api {

namespace {

// The order a report answers, matched on filler or placer number as the HL7 message tied them.
const store::StoredOrder* order_of(const store::PatientRecord& r, const model::Report& rep) {
  for (const store::StoredOrder& o : r.orders) {
    const model::Order& order = o.order;
    if ((!rep.filler_order_number.value.empty() &&
         rep.filler_order_number.value == order.filler_order_number.value) ||
        (!rep.placer_order_number.value.empty() &&
         rep.placer_order_number.value == order.placer_order_number.value))
      return &o;
  }
  return nullptr;
}

template <typename T>
bool any_token(const std::vector<fhir::Token>& wanted, const std::vector<T>& have) {
  for (const fhir::Token& t : wanted)
    for (const auto& h : have)
      if (t.code.empty() ? (t.system && *t.system == h.system)
                         : (h.code == t.code && (!t.system || *t.system == h.system)))
        return true;
  return false;
}

// Each AND group (a repeated parameter) must have one OR member that matches.
bool all_groups(const std::vector<std::vector<fhir::Token>>& groups,
                const std::vector<fhir::TokenValue>& have) {
  return std::ranges::all_of(groups, [&](const auto& g) { return any_token(g, have); });
}

}  // namespace

bool is_kind(std::string_view type) { return std::ranges::find(kKinds, type) != std::end(kKinds); }

std::set<model::Sensitivity> sensitive_in(const store::PatientRecord& r, std::string_view type) {
  // Demographics and specimens name no test result; reports, results and the orders they answer
  // reveal them.
  if (type == "Patient" || type == "Specimen") return {};
  return access::sensitive_categories(r);
}

std::vector<Item> items_of(const store::PatientRecord& r, std::string_view type,
                           const access::View& view, const std::set<model::Sensitivity>& masked) {
  std::vector<Item> out;
  auto item = [&](store::Id id) -> Item& {
    out.push_back(Item{.type = type, .id = id, .patient = r.id});
    return out.back();
  };
  if (type == "Patient") {
    Item& it = item(r.id);
    model::Patient p = r.patient;
    it.withheld = access::apply_view(view, masked, p);
    it.data = std::move(p);
  } else if (type == "Observation" || type == "DiagnosticReport") {
    for (const store::StoredReport& sr : r.reports) {
      const store::StoredOrder* order = order_of(r, sr.report);
      if (type == "DiagnosticReport") {
        Item& it = item(sr.id);
        model::Report rep = sr.report;
        it.withheld = access::apply_view(view, masked, rep);
        it.date = rep.observed;
        it.order = order ? order->id : 0;
        it.observations = sr.observation_ids;
        it.specimens = sr.specimen_ids;
        it.data = std::move(rep);
        continue;
      }
      const model::DateTime fallback = !sr.report.observed.empty() ? sr.report.observed
                                       : !sr.report.specimens.empty()
                                           ? sr.report.specimens.front().collected
                                           : model::DateTime{};
      for (std::size_t i = 0; i < sr.report.observations.size(); ++i) {
        Item& it = item(sr.observation_ids[i]);
        model::Report one;  // the view engine works on reports: one result at a time
        one.observations.push_back(sr.report.observations[i]);
        it.withheld = access::apply_view(view, masked, one);
        model::Observation o = std::move(one.observations.front());
        it.effective_fallback =
            view.fields.contains("Observation.effective") ? fallback : model::DateTime{};
        it.date = !o.observed.empty() ? o.observed : it.effective_fallback;
        it.order = order ? order->id : 0;
        it.specimen = sr.specimen_ids.empty() ? 0 : sr.specimen_ids.front();
        it.data = std::move(o);
      }
    }
  } else if (type == "ServiceRequest") {
    for (const store::StoredOrder& so : r.orders) {
      Item& it = item(so.id);
      model::Order o = so.order;
      it.withheld = access::apply_view(view, masked, o);
      it.date = o.ordered;
      it.specimens = so.specimen_ids;
      for (const store::StoredReport& sr : r.reports)
        if (order_of(r, sr.report) == &so)
          for (const model::Observation& result : sr.report.observations) {
            model::Observation label;
            label.sensitivity = result.sensitivity;
            it.related.push_back(std::move(label));
          }
      it.data = std::move(o);
    }
  } else if (type == "Specimen") {
    std::set<store::Id> seen;
    auto add = [&](store::Id id, const model::Specimen& s, store::Id order) {
      if (!seen.insert(id).second) return;
      Item& it = item(id);
      model::Report holder;
      holder.specimens.push_back(s);
      it.withheld = access::apply_view(view, masked, holder);
      it.date = holder.specimens.front().collected;
      it.order = order;
      it.data = std::move(holder.specimens.front());
    };
    for (const store::StoredOrder& so : r.orders)
      for (std::size_t i = 0; i < so.specimen_ids.size(); ++i)
        add(so.specimen_ids[i], so.order.specimens[i], so.id);
    for (const store::StoredReport& sr : r.reports) {
      const store::StoredOrder* order = order_of(r, sr.report);
      for (std::size_t i = 0; i < sr.specimen_ids.size(); ++i)
        add(sr.specimen_ids[i], sr.report.specimens[i], order ? order->id : 0);
    }
  }
  return out;
}

std::string render(const Item& item, const fhir::ServerOptions& options) {
  if (const auto* p = std::get_if<model::Patient>(&item.data))
    return fhir::patient_resource(item.id, *p, item.withheld, options);
  if (const auto* o = std::get_if<model::Observation>(&item.data))
    return fhir::observation_resource(
        item.id, *o, {item.patient, item.order, item.specimen, item.effective_fallback},
        item.withheld, options);
  if (const auto* rep = std::get_if<model::Report>(&item.data))
    return fhir::report_resource(item.id, *rep,
                                 {item.patient, item.order, item.observations, item.specimens},
                                 item.withheld, options);
  if (const auto* o = std::get_if<model::Order>(&item.data)) {
    std::vector<const model::Observation*> related;
    for (const model::Observation& r : item.related) related.push_back(&r);
    return fhir::order_resource(item.id, *o, item.patient, item.specimens, related, item.withheld,
                                options);
  }
  return fhir::specimen_resource(item.id, std::get<model::Specimen>(item.data), item.patient,
                                 item.order, item.withheld, options);
}

bool matches(const Item& item, const fhir::SearchRequest& q, int zone) {
  if (!q.dates.empty()) {
    auto range = fhir::range_of(item.date, zone);
    if (!range) return false;
    for (const fhir::DateParam& d : q.dates)
      if (!fhir::matches(d, range->first, range->second)) return false;
  }
  std::vector<fhir::TokenValue> codes, status, category, identifiers;
  if (const auto* p = std::get_if<model::Patient>(&item.data)) {
    for (const model::Identifier& id : p->identifiers)
      identifiers.push_back(fhir::identifier_token(id));
  } else if (const auto* o = std::get_if<model::Observation>(&item.data)) {
    codes = fhir::code_tokens(o->code);
    status.push_back({{}, std::string(fhir::observation_status(*o))});
    category.push_back(fhir::observation_category());
  } else if (const auto* rep = std::get_if<model::Report>(&item.data)) {
    codes = fhir::code_tokens(rep->service);
    status.push_back({{}, std::string(fhir::report_status(*rep))});
    category = fhir::report_categories(*rep);
    for (const model::Identifier* id : {&rep->filler_order_number, &rep->placer_order_number})
      if (!id->value.empty()) identifiers.push_back(fhir::identifier_token(*id));
  } else if (const auto* o = std::get_if<model::Order>(&item.data)) {
    codes = fhir::code_tokens(o->service);
    status.push_back({{}, std::string(fhir::order_status(*o))});
    for (const model::Identifier* id : {&o->filler_order_number, &o->placer_order_number})
      if (!id->value.empty()) identifiers.push_back(fhir::identifier_token(*id));
  } else if (const auto* s = std::get_if<model::Specimen>(&item.data)) {
    codes = fhir::code_tokens(s->type);
    if (!s->id.empty()) identifiers.push_back({{}, s->id});
  }
  // A status token has no system: match on the code alone.
  const std::string_view st = status.empty() ? std::string_view() : status.front().code;
  for (const auto& group : q.status)
    if (!std::ranges::any_of(group, [&](const fhir::Token& t) { return t.code == st; }))
      return false;
  return all_groups(q.code, codes) && all_groups(q.category, category) &&
         all_groups(q.identifier, identifiers);
}

}  // namespace labvault::api
