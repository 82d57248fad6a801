// `labvault serve` and `labvault send` end to end over real TLS sockets: mutual TLS accepted for
// a known client certificate whose CN the sender rule names; a client certificate from an
// unknown CA refused and audited; plaintext refused off loopback before anything starts; audit
// records stream to a TLS syslog collector while serving.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/cli_run.hpp"
#include "support/https_client.hpp"
#include "support/test_certs.hpp"

namespace {

using labvault::testing::CliRun;
using labvault::testing::labvault;

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class CliServe : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = labvault::testing::fresh_test_dir("cliserve");
    ASSERT_EQ(labvault("init --data " + (dir_ / "data").string() + " --demo").exit_code, 0);
    pki_ = labvault::testing::make_test_pki(dir_, "lab-", "analyzer-7");
    stranger_ = labvault::testing::make_test_pki(dir_, "other-", "analyzer-7");
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }
  std::string config() const { return (dir_ / "data" / "labvault.toml").string(); }

  void configure(const std::string& mllp) {
    std::string text = slurp(config());
    auto at = text.find("[mllp]");
    auto end = text.find("\n\n", at);
    text.replace(at, end - at, "[mllp]\n" + mllp);
    // The HTTPS listener on an ephemeral port: tests run in parallel.
    auto https = text.find("[https]");
    if (https != std::string::npos) text.replace(text.find("port = 8443", https), 11, "port = 0");
    text +=
        "[[ingest.senders]]\nid = \"analyzer-7\"\nlab = \"DEMO\"\napplication = \"ANALYZER\"\n"
        "facility = \"LAB7\"\ntls_subject = \"analyzer-7\"\n";
    std::ofstream(config()) << text;
  }

  // Starts serve and waits for its "MLLP on" line (the log names the bound port).
  int start() {
    log_ = dir_ / "serve.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log_.c_str(), "w", stdout);
      (void)f;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      execl(LABVAULT_BINARY, LABVAULT_BINARY, "serve", "--config", config().c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      std::string text = slurp(log_);
      auto at = text.find("MLLP on 127.0.0.1:");
      if (at != std::string::npos) return std::stoi(text.substr(at + 18));
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return -1;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  std::string message(const std::string& control) {
    fs::path file = dir_ / (control + ".hl7");
    std::ofstream(file) << "MSH|^~\\&|ANALYZER|LAB7|LABVAULT|HOSP|20261201083000-0500||ORU^R01|"
                        << control
                        << "|P|2.5.1\rPID|1||TLS-MRN-1^^^LAB7^MR||Tlscanaryfam^Test||19700101|F\r"
                           "OBR|1|PL-T1|FL-T1|58410-2^CBC^LN|||20261201071500-0500\r"
                           "OBX|1|NM|718-7^Hemoglobin^LN||13.1|g/dL^^UCUM|12.0-16.0|N|||F\r";
    return file.string();
  }

  fs::path dir_, log_;
  labvault::testing::TestPki pki_, stranger_;
  pid_t pid_ = 0;
};

TEST_F(CliServe, MutualTlsAcceptsTheKnownAnalyzerAndRefusesAndAuditsAStranger) {
  configure("host = \"127.0.0.1\"\nport = 0\ntls_cert = \"" + pki_.server_cert.string() +
            "\"\ntls_key = \"" + pki_.server_key.string() + "\"\nclient_ca = \"" +
            pki_.ca.string() + "\"\n");
  int port = start();
  ASSERT_GT(port, 0) << slurp(log_);
  std::string to = "--to 127.0.0.1:" + std::to_string(port) + " --tls-ca " + pki_.ca.string();
  CliRun ok = labvault("send " + to + " --cert " + pki_.client_cert.string() + " --key " +
                       pki_.client_key.string() + " " + message("TLS-1"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find(": AA"), std::string::npos) << ok.out;
  // Same CN, but signed by a CA the listener does not trust.
  CliRun stranger = labvault("send " + to + " --cert " + stranger_.client_cert.string() +
                             " --key " + stranger_.client_key.string() + " " + message("TLS-2"));
  EXPECT_NE(stranger.exit_code, 0) << stranger.out;
  // Plaintext against the TLS listener gets no ACK either.
  CliRun plain = labvault("send --to 127.0.0.1:" + std::to_string(port) + " " + message("TLS-3"));
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  stop();
  CliRun q = labvault("audit query --config " + config() + " --action login-failed");
  ASSERT_EQ(q.exit_code, 0) << q.out;
  EXPECT_NE(q.out.find("tls-handshake-failed"), std::string::npos) << q.out;
  CliRun created = labvault("audit query --config " + config() + " --user sender:analyzer-7");
  EXPECT_NE(created.out.find("1 records"), std::string::npos) << created.out;
}

// A TLS syslog collector: `openssl s_server`, which prints what it receives.
class Collector {
 public:
  Collector(const labvault::testing::TestPki& pki, const fs::path& out) : out_(out) {
    int input[2];  // s_server ends a session when its stdin ends: hold it open
    if (pipe(input) != 0) return;
    stdin_ = input[1];
    pid_ = fork();
    if (pid_ == 0) {
      ::dup2(input[0], STDIN_FILENO);
      ::close(input[1]);
      FILE* f = std::freopen(out.c_str(), "w", stdout);
      (void)f;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert",
             pki.server_cert.c_str(), "-key", pki.server_key.c_str(), nullptr);
      _exit(127);
    }
    ::close(input[0]);
  }
  ~Collector() {
    if (pid_ > 0) kill(pid_, SIGTERM), waitpid(pid_, nullptr, 0);
    if (stdin_ >= 0) ::close(stdin_);
  }
  int port() const {
    return wait_for("ACCEPT 127.0.0.1:") ? std::stoi(after("ACCEPT 127.0.0.1:")) : -1;
  }
  // Waits (bounded) until the collector's output holds `text`.
  bool wait_for(const std::string& text) const {
    for (int i = 0; i < 400; ++i) {
      if (slurp(out_).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  std::string received() const { return slurp(out_); }

 private:
  std::string after(const std::string& text) const {
    std::string all = slurp(out_);
    return all.substr(all.find(text) + text.size());
  }
  fs::path out_;
  pid_t pid_ = 0;
  int stdin_ = -1;
};

TEST_F(CliServe, EachAuditRecordStreamsToTheSiemWhileServing) {
  Collector siem(pki_, dir_ / "siem.out");
  int siem_port = siem.port();
  ASSERT_GT(siem_port, 0) << siem.received();
  configure("host = \"127.0.0.1\"\nport = 0\ntls_cert = \"" + pki_.server_cert.string() +
            "\"\ntls_key = \"" + pki_.server_key.string() + "\"\nclient_ca = \"" +
            pki_.ca.string() + "\"\n");
  std::ofstream(config(), std::ios::app)
      << "\n[audit.syslog]\nhost = \"127.0.0.1\"\nport = " << siem_port << "\nca_file = \""
      << pki_.ca.string() << "\"\ncursor_dir = \"" << (dir_ / "cursor").string() << "\"\n";
  int port = start();
  ASSERT_GT(port, 0) << slurp(log_);
  CliRun ok = labvault("send --to 127.0.0.1:" + std::to_string(port) + " --tls-ca " +
                       pki_.ca.string() + " --cert " + pki_.client_cert.string() + " --key " +
                       pki_.client_key.string() + " " + message("SIEM-1"));
  ASSERT_NE(ok.out.find(": AA"), std::string::npos) << ok.out;
  // The ingest record (actor sender:analyzer-7) arrives while serve runs, without PHI.
  EXPECT_TRUE(siem.wait_for("sender:analyzer-7")) << siem.received();
  std::string received = siem.received();
  EXPECT_NE(received.find("labvault"), std::string::npos);
  for (const char* canary : {"TLS-MRN-1", "Tlscanaryfam", "13.1"}) {
    EXPECT_EQ(received.find(canary), std::string::npos) << canary;
  }
}

TEST_F(CliServe, PlaintextOffLoopbackIsRefusedAtStart) {
  configure("host = \"0.0.0.0\"\nport = 0\n");
  EXPECT_EQ(start(), -1);
  EXPECT_NE(slurp(log_).find("TLS"), std::string::npos) << slurp(log_);
}

}  // namespace

namespace {

// The HTTPS listener of `serve` with what `init` wrote: the development certificate verifies as
// its own trust anchor for 127.0.0.1, and health, metrics and metadata answer without a login.
TEST_F(CliServe, HttpsListenerAnswersWithTheDevelopmentCertificate) {
  configure("host = \"127.0.0.1\"\nport = 0\n");
  ASSERT_GT(start(), 0) << slurp(log_);
  std::string text = slurp(log_);
  auto at = text.find("HTTPS on 127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << text;
  const int port = std::stoi(text.substr(at + 19));
  labvault::testing::HttpsClient c(static_cast<std::uint16_t>(port),
                                   (dir_ / "data" / "tls" / "server.crt").string());
  EXPECT_EQ(c.get("/healthz").status, 200);
  auto metrics = c.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  for (const char* m :
       {"labvault_http_requests_total{route=\"/healthz\"", "labvault_ingest_queue_depth",
        "labvault_audit_checkpoint_lag_records", "labvault_ingest_commits_total"})
    EXPECT_NE(metrics.body.find(m), std::string::npos) << m;
  auto md = c.get("/fhir/DEMO/metadata?_format=json");
  EXPECT_EQ(md.status, 200);
  EXPECT_NE(md.body.find("\"CapabilityStatement\""), std::string::npos);
  EXPECT_EQ(c.get("/fhir/DEMO/Patient?identifier=CANARY-IN-QUERY").status, 401);
  stop();
  text = slurp(log_);
  EXPECT_NE(text.find("https: GET /fhir/{lab}/Patient 401"), std::string::npos) << text;
  EXPECT_EQ(text.find("CANARY-IN-QUERY"), std::string::npos);  // no query in the access log
}

}  // namespace
