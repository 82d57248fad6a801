// The client side of the crash test (ingest_crash.sh), DESIGN.md invariant 1: "ACK means durable".
//   crash_client send HOST PORT CONNECTIONS TOTAL ACK_LOG
//     sends TOTAL distinct ORU^R01 over CONNECTIONS connections while the server is killed and
//     restarted underneath it; reconnects and resends until each message has an AA, and appends
//     the MSH-10 of every AA it received to ACK_LOG.
//   crash_client check CONFIG LAB ACK_LOG
//     every MSH-10 in ACK_LOG must be stored (exactly once: the store's unique index) in LAB.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/config.hpp"
#include "net/mllp_client.hpp"

namespace {

using namespace labvault;
using Clock = std::chrono::steady_clock;

std::string message(int i) {
  return fmt::format(
      "MSH|^~\\&|ANALYZER|LAB1|LABVAULT|HOSP|20261201083000-0500||ORU^R01^ORU_R01|CRASH-{0}|P|"
      "2.5.1\rPID|1||CRASH-MRN-{0}^^^LAB1^MR||Crash^Test||19700101|F\r"
      "ORC|RE|PL-{0}|FL-{0}\rOBR|1|PL-{0}|FL-{0}|58410-2^CBC panel^LN|||20261201071500-0500\r"
      "OBX|1|NM|718-7^Hemoglobin^LN||13.{1}|g/dL^^UCUM|12.0-16.0|N|||F\r",
      i, i % 10);
}

bool is_aa(const std::string& ack) { return ack.find("\rMSA|AA|") != std::string::npos; }

int send(const std::string& host, int port, int connections, int total, const std::string& log) {
  std::mutex mu;
  std::ofstream out(log, std::ios::app);
  std::atomic<int> acked{0};
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      std::optional<net::MllpClient> client;
      for (int i = c; i < total; i += connections) {
        for (;;) {  // until this message has its AA
          if (Clock::now() > deadline) return;
          if (!client) {
            net::MllpClientOptions o;
            o.host = host;
            o.port = static_cast<std::uint16_t>(port);
            o.connect_timeout = std::chrono::seconds(2);
            o.reply_timeout = std::chrono::seconds(10);
            auto connected = net::MllpClient::connect(o);
            if (!connected) {
              std::this_thread::sleep_for(std::chrono::milliseconds(50));  // server restarting
              continue;
            }
            client.emplace(std::move(*connected));
          }
          auto ack = client->send(message(i));
          if (!ack) {
            client.reset();  // killed mid-message: resend on a new connection
            continue;
          }
          if (is_aa(*ack)) {
            std::lock_guard lock(mu);
            out << "CRASH-" << i << "\n" << std::flush;
            ++acked;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // AE: stored nothing
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("crash_client: %d of %d messages acknowledged\n", acked.load(), total);
  return acked.load() == total ? 0 : 1;
}

int check(const std::string& config_file, const std::string& lab_code, const std::string& log) {
  auto config = cli::load_config(config_file);
  if (!config) return std::fprintf(stderr, "%s\n", config.error().message.c_str()), 2;
  auto opened = cli::open_store_only(*config);
  if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message.c_str()), 2;
  auto lab = opened->store->find_lab(lab_code);
  if (!lab || !*lab) return std::fprintf(stderr, "no lab %s\n", lab_code.c_str()), 2;
  std::ifstream in(log);
  std::set<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.insert(line);
  }
  int missing = 0;
  for (const std::string& id : ids) {
    auto found = opened->store->find_message((*lab)->id, "ANALYZER^LAB1", id);
    if (!found) return std::fprintf(stderr, "%s\n", found.error().message.c_str()), 2;
    if (!*found) {
      std::fprintf(stderr, "crash_client: %s was acknowledged but is not stored\n", id.c_str());
      ++missing;
    }
  }
  std::printf("crash_client: %zu acknowledged messages checked, %d missing\n", ids.size(), missing);
  return missing == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 6 && a[0] == "send") {
    return send(a[1], std::stoi(a[2]), std::stoi(a[3]), std::stoi(a[4]), a[5]);
  }
  if (a.size() == 4 && a[0] == "check") return check(a[1], a[2], a[3]);
  std::fprintf(stderr,
               "usage: crash_client send HOST PORT CONNECTIONS TOTAL ACK_LOG\n"
               "       crash_client check CONFIG LAB ACK_LOG\n");
  return 2;
}
