#include "cli/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/formats.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace labvault::cli {

using model::ErrorCode;
namespace fs = std::filesystem;

model::Result<Config> load_config(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return std::unexpected(text.error());
  toml::table table;
  try {
    table = toml::parse(*text, file.string());
  } catch (const toml::parse_error& e) {
    return model::fail(ErrorCode::kConfig, fmt::format("not valid TOML: {}", e.description()),
                       {.file = file.string(), .line = static_cast<int>(e.source().begin.line)});
  }
  // Relative paths are relative to the config file, so a data directory can be moved whole.
  fs::path base = fs::absolute(file).parent_path();
  auto path_of = [&](std::string_view section, std::string_view key) -> model::Result<fs::path> {
    auto node = table[section][key];
    auto value = node.value<std::string>();
    if (!value || value->empty()) {
      return model::fail(ErrorCode::kConfig,
                         fmt::format("[{}] {} is missing (a path)", section, key),
                         {.file = file.string()});
    }
    fs::path p(*value);
    return (p.is_absolute() ? p : base / p).lexically_normal();
  };
  auto backend = table["store"]["backend"].value_or(std::string("sqlite"));
  if (backend != "sqlite") {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("[store] backend '{}' is not supported (sqlite)", backend),
                       {.file = file.string()});
  }
  auto data = path_of("store", "data_dir");
  if (!data) return std::unexpected(data.error());
  auto keyring = path_of("keys", "keyring");
  if (!keyring) return std::unexpected(keyring.error());
  return Config{file, *data, *keyring};
}

namespace {
// A TOML basic string: quotes, backslashes and control characters escaped (TOML 1.0 2.4).
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}
}  // namespace

std::string render_config(const Config& c) {
  return fmt::format(
      "# labvault configuration, written by `labvault init`. Relative paths are relative to this\n"
      "# file. No secrets belong here: keys live only in the keyring file.\n"
      "\n"
      "[store]\n"
      "backend = \"sqlite\"            # embedded SQLite (WAL, synchronous=FULL)\n"
      "data_dir = {}\n"
      "\n"
      "[keys]\n"
      "# Key-encryption keys, the blind-index key and the audit signing key. Mode 0600, owned by\n"
      "# the user running labvault, outside data_dir; labvault refuses anything else. Back it up\n"
      "# apart from the data: without it nothing can be read.\n"
      "keyring = {}\n"
      "\n"
      "# [sensitivity]                # extra codes per sensitive category (see README)\n"
      "# hiv = [\"L|1320\"]\n",
      toml_string(c.data_dir.string()), toml_string(c.keyring.string()));
}

model::Result<Opened> open_data(const Config& config) {
  if (auto r = crypto::Keyring::check_outside(config.keyring, config.data_dir); !r) {
    return std::unexpected(r.error());
  }
  auto keyring = crypto::Keyring::load(config.keyring);
  if (!keyring) return std::unexpected(keyring.error());
  std::error_code ec;
  if (!fs::is_directory(config.data_dir, ec)) {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("data directory {} does not exist (run labvault init)",
                                   config.data_dir.string()));
  }
  Opened opened;
  opened.keyring = std::make_unique<crypto::Keyring>(std::move(*keyring));
  auto store = store::sqlite::open(config.data_dir / store::sqlite::kDatabaseFile, *opened.keyring);
  if (!store) return std::unexpected(store.error());
  opened.store = std::move(*store);
  return opened;
}

}  // namespace labvault::cli
