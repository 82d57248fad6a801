// `labvault send`: an MLLP client for integration engineers. Sends every message of the given
// HL7 files (batches and back-to-back messages split), one at a time, and prints each ACK's
// MSA-1 and ERR segments. Exit 0 only if every message was accepted (AA/CA).
#include <fmt/format.h>

#include <charconv>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/formats.hpp"
#include "hl7/file.hpp"
#include "hl7/message.hpp"
#include "net/mllp_client.hpp"

namespace labvault::cli {

namespace {

// "AA" and the ERR-3/ERR-8 of an ACK, for one line of output (no values: ERR names places).
std::string summarize(std::string_view ack) {
  auto m = hl7::Message::parse(ack);
  if (!m) return "unreadable ACK";
  std::string code = "?", errors;
  for (std::size_t i = 0; i < m->segment_count(); ++i) {
    auto s = m->segment(i);
    if (s.id() == "MSA") code = std::string(s.field(1).raw());
    if (s.id() == "ERR") {
      errors += fmt::format("\n    ERR {} at {}: {}", s.field(3).raw(), s.field(2).raw(),
                            s.field(8).str());
    }
  }
  return code + errors;
}

}  // namespace

namespace {

model::Result<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& to) {
  auto colon = to.rfind(':');
  int port = 0;
  if (colon != std::string::npos) {
    auto [end, ec] = std::from_chars(to.data() + colon + 1, to.data() + to.size(), port);
    if (ec != std::errc() || end != to.data() + to.size()) port = 0;
  }
  if (colon == std::string::npos || colon == 0 || port < 1 || port > 65535) {
    return model::fail(model::ErrorCode::kUsage, "--to: expected HOST:PORT");
  }
  std::string host = to.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace

model::Result<net::MllpClientOptions> mllp_client_options(
    const std::string& to, const std::optional<std::filesystem::path>& tls_ca,
    const std::optional<std::filesystem::path>& cert,
    const std::optional<std::filesystem::path>& key, const std::string& server_name) {
  auto target = parse_host_port(to);
  if (!target) return std::unexpected(target.error());
  net::MllpClientOptions o;
  o.host = target->first;
  o.port = target->second;
  if (tls_ca) {
    o.tls = net::TlsClientOptions{tls_ca->string(), cert ? cert->string() : "",
                                  key ? key->string() : "", server_name};
  }
  return o;
}

int run_send(const SendArgs& args) {
  auto options = mllp_client_options(args.to, args.tls_ca, args.cert, args.key, args.server_name);
  if (!options) return print_error(options.error()), kExitUsage;
  net::MllpClientOptions& o = *options;
  auto client = net::MllpClient::connect(o);
  if (!client) return print_error(client.error()), kExitUserError;
  int sent = 0, accepted = 0;
  for (const auto& file : args.files) {
    auto bytes = read_file(file);
    if (!bytes) return print_error(bytes.error()), kExitUserError;
    auto split = hl7::split_file(*bytes, file.string());
    if (!split) return print_error(split.error()), kExitUserError;
    for (const auto& message : split->messages) {
      auto ack = client->send(message.text);
      if (!ack) return print_error(ack.error()), kExitUserError;
      std::string summary = summarize(*ack);
      ++sent;
      if (summary.starts_with("AA") || summary.starts_with("CA")) ++accepted;
      fmt::print("{}:{}: {}\n", file.string(), message.first_line, summary);
    }
  }
  client->close();
  fmt::print("{} of {} messages accepted\n", accepted, sent);
  return accepted == sent ? kExitOk : kExitUserError;
}

}  // namespace labvault::cli
