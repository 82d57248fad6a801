// What `labvault user|lab|client|access` share: reading a password without echo, the open
// data with the identity services, and the administrator's login for one command (--as, with
// password and code on standard input), logged out when the command ends.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "access/access.hpp"
#include "access/clients.hpp"
#include "access/identity.hpp"
#include "cli/config.hpp"

namespace labvault::cli {

// One line from standard input; without echo when it is a terminal.
[[nodiscard]] std::string read_secret(const char* prompt);

// The open data, the identity service and the administrator's session for one command.
struct Session {
  Opened opened;
  std::unique_ptr<access::Identity> identity;
  std::unique_ptr<access::Clients> clients;
  std::unique_ptr<access::Access> access;
  access::RequestContext ctx{"", "cli", ""};
  std::string token;
  std::optional<access::Subject> admin;
  ~Session() {
    if (!token.empty()) (void)identity->logout(token, ctx);
  }
};

// The open data and the identity, client and access services, without a login (serve).
[[nodiscard]] model::Result<std::unique_ptr<Session>> open_services(const Config& config);
// Opens the data named by the config; with `need_admin`, logs in `as` (password and code read
// from standard input) and requires MFA to be set up.
[[nodiscard]] model::Result<std::unique_ptr<Session>> start(
    const std::filesystem::path& config_file, const std::string& as, bool need_admin);
[[nodiscard]] model::Result<store::Id> lab_id(store::Store& store, const std::string& code);
// --lab CODE when given, else every lab.
[[nodiscard]] model::Result<std::optional<store::Id>> optional_lab(store::Store& store,
                                                                   const std::string& code);
// Prints the error; exit 2 for a usage error, else 1.
int fail(const model::Error& e);

}  // namespace labvault::cli
