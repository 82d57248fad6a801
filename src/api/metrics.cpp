#include "api/metrics.hpp"

#include <fmt/format.h>

namespace labvault::api {

void Metrics::observe(const std::string& route, const std::string& method, int status,
                      double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::refused(const std::string& reason) {
  std::lock_guard lock(mu_);
  ++refused_[reason];
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out +=
      "# HELP labvault_http_requests_total HTTP requests by route template, method and status.\n";
  out += "# TYPE labvault_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out +=
        fmt::format("labvault_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                    route, method, status, n);
  }
  out += "# HELP labvault_http_request_duration_seconds Time to answer, by route template.\n";
  out += "# TYPE labvault_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format(
          "labvault_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
          kBuckets[i], h.buckets[i]);
    out += fmt::format(
        "labvault_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
        h.count);
    out += fmt::format("labvault_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route,
                       h.sum);
    out += fmt::format("labvault_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                       h.count);
  }
  out += "# HELP labvault_http_refused_total Requests the listener refused by itself.\n";
  out += "# TYPE labvault_http_refused_total counter\n";
  for (const auto& [reason, n] : refused_)
    out += fmt::format("labvault_http_refused_total{{reason=\"{}\"}} {}\n", reason, n);
  return out;
}

}  // namespace labvault::api
