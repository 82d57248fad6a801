// Request counters and latency histograms in the Prometheus text format (exposition format
// 0.0.4). Labels are route templates ("/fhir/{lab}/Observation/{id}"), methods and status codes:
// never a path, an id or a query, so no PHI can reach a metrics store (DESIGN.md invariant 3).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace labvault::api {

class Metrics {
 public:
  void observe(const std::string& route, const std::string& method, int status, double seconds);
  void refused(const std::string& reason);  // answered by the listener itself (429, 413, ...)
  [[nodiscard]] std::string render() const;

 private:
  static constexpr std::array<double, 11> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, std::uint64_t> refused_;
};

}  // namespace labvault::api
