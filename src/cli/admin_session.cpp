#include "cli/admin_session.hpp"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "crypto/secret.hpp"

namespace labvault::cli {

using model::ErrorCode;

std::string read_secret(const char* prompt) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

model::Result<std::unique_ptr<Session>> open_services(const Config& c) {
  const Config* config = &c;
  auto opened = open_data(*config);
  if (!opened) return std::unexpected(opened.error());
  auto s = std::make_unique<Session>();
  s->opened = std::move(*opened);
  s->identity = std::make_unique<access::Identity>(*s->opened.store, *s->opened.audit,
                                                   s->opened.keyring->blind_indexer(),
                                                   identity_options(*config));
  s->clients = std::make_unique<access::Clients>(*s->opened.store, *s->opened.audit, *s->identity,
                                                 access::ClientOptions{config->token_endpoint});
  auto policy = load_policy(*config, *s->opened.store, *s->opened.audit);
  if (!policy) return std::unexpected(policy.error());
  s->access = std::make_unique<access::Access>(*s->opened.store, *s->opened.audit, *s->identity,
                                               std::move(*policy), access_options(*config));
  return s;
}

model::Result<std::unique_ptr<Session>> start(const std::filesystem::path& config_file,
                                              const std::string& as, bool need_admin) {
  auto config = load_config(config_file);
  if (!config) return std::unexpected(config.error());
  auto started = open_services(*config);
  if (!started) return std::unexpected(started.error());
  std::unique_ptr<Session> s = std::move(*started);
  if (!need_admin) return s;
  if (as.empty()) {
    return model::fail(ErrorCode::kUsage, "say which administrator you are: --as USERNAME");
  }
  std::string password = read_secret("password: ");
  std::string code = read_secret("two-factor code: ");
  auto login = s->identity->login(as, password, code, s->ctx);
  crypto::wipe(password);
  crypto::wipe(code);
  if (!login) return std::unexpected(login.error());
  s->token = login->token;
  if (login->mfa_enrollment_required) {
    return model::fail(
        ErrorCode::kForbidden,
        "set up two-factor authentication first (labvault user enroll, then user confirm)");
  }
  auto admin = s->identity->authenticate(s->token, s->ctx);
  if (!admin) return std::unexpected(admin.error());
  s->admin = std::move(*admin);
  return s;
}

model::Result<store::Id> lab_id(store::Store& store, const std::string& code) {
  auto lab = store.find_lab(code);
  if (!lab) return std::unexpected(lab.error());
  if (!*lab) return model::fail(ErrorCode::kNotFound, fmt::format("no lab '{}'", code));
  return (*lab)->id;
}

model::Result<std::optional<store::Id>> optional_lab(store::Store& store, const std::string& code) {
  if (code.empty()) return std::nullopt;
  auto id = lab_id(store, code);
  if (!id) return std::unexpected(id.error());
  return *id;
}

int fail(const model::Error& e) {
  print_error(e);
  return e.code == ErrorCode::kUsage ? kExitUsage : kExitUserError;
}

}  // namespace labvault::cli
