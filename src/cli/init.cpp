// `labvault init`: a data directory, its config and a keyring, checked before anything is
// written; `--demo` adds the demo lab. Safe to run again: what exists is verified, not replaced.
#include <fmt/format.h>
#include <sys/stat.h>

#include "access/identity.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "cli/demo.hpp"
#include "cli/formats.hpp"
#include "hl7/hl7.hpp"
#include "model/sensitivity.hpp"
#include "net/tls.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace labvault::cli {

namespace fs = std::filesystem;
using model::ErrorCode;

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Everything that could make init fail is checked here, before any file is created.
model::Result<Config> plan(const InitArgs& args) {
  Config c;
  c.data_dir = fs::absolute(args.data).lexically_normal();
  if (c.data_dir.filename().empty()) c.data_dir = c.data_dir.parent_path();
  c.keyring = args.keyring ? fs::absolute(*args.keyring).lexically_normal()
                           : c.data_dir.parent_path() / "labvault.keyring";
  c.file = c.data_dir / kConfigFile;
  // Beside the keyring, outside the data: a copy of the signed checkpoints that survives a
  // tampered or restored database.
  c.audit.publish_file = c.data_dir.parent_path() / "labvault-audit-checkpoints.jsonl";
  if (args.demo) {
    // The demo analyzer of the bundled samples (samples/hl7 and the demo data).
    c.senders = {{"demo-analyzer", std::string(kDemoLabCode), "DEMO-ANALYZER", "DEMOLAB", ""},
                 {"demo-sample", std::string(kDemoLabCode), "ANALYZER", "DEMOLAB", ""}};
  }
  if (auto r = crypto::Keyring::check_outside(c.keyring, c.data_dir); !r) {
    return std::unexpected(r.error());
  }
  std::error_code ec;
  bool has_keyring = fs::exists(fs::symlink_status(c.keyring, ec));
  if (has_keyring) {
    if (auto ring = crypto::Keyring::load(c.keyring); !ring) return std::unexpected(ring.error());
  } else if (fs::exists(c.data_dir / store::sqlite::kDatabaseFile, ec)) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("{} holds a database but the keyring {} is missing; restore the "
                                   "keyring from its backup (a new one could not read the data)",
                                   c.data_dir.string(), c.keyring.string()));
  }
  if (fs::exists(c.file, ec)) {
    auto existing = load_config(c.file);
    if (!existing) return std::unexpected(existing.error());
    c.audit = existing->audit;
    c.mllp = existing->mllp;
    c.senders = existing->senders;
    if (existing->keyring != c.keyring || existing->data_dir != c.data_dir) {
      return model::fail(
          ErrorCode::kConfig,
          fmt::format("{} already names data directory {} and keyring {}; use "
                      "those or another directory",
                      c.file.string(), existing->data_dir.string(), existing->keyring.string()));
    }
  }
  return c;
}

// Demo people, one per kind of work, with one-time passwords in a 0600 file beside the data
// (a demo convenience: real people get theirs from `labvault user add`).
model::Result<std::string> add_demo_users(const Opened& opened, store::Id lab, const fs::path& file,
                                          store::Id care_patient) {
  access::Identity identity(*opened.store, *opened.audit, opened.keyring->blind_indexer());
  const access::RequestContext ctx{"", "cli", ""};
  struct Demo {
    const char* username;
    const char* name;
    const char* role;
  };
  std::string text =
      "# labvault demo people and their one-time passwords (a demo convenience: delete this file\n"
      "# once you have logged in). Each person sets up two-factor authentication at first login:\n"
      "#   labvault user enroll --config CONFIG --as USERNAME   (then user confirm)\n";
  for (Demo d : {Demo{"demo.admin", "Demo System Admin", ""},
                 Demo{"demo.labadmin", "Demo Lab Admin", "lab-admin"},
                 Demo{"demo.provider", "Demo Ordering Provider", "ordering-provider"},
                 Demo{"demo.tech", "Demo Lab Technologist", "lab-technologist"},
                 Demo{"demo.billing", "Demo Billing Clerk", "billing"}}) {
    access::NewUser u{d.username, d.name, "", "", *d.role == '\0', {}};
    if (*d.role != '\0') u.memberships.push_back({lab, d.role});
    auto created = identity.create_by_operator(u, cli_actor(), ctx);
    if (!created) return std::unexpected(created.error());
    text += fmt::format("{:<16} {:<22} {}\n", d.username, *d.role ? d.role : "system-admin",
                        created->initial_password);
    if (std::string_view(d.username) == "demo.provider" && care_patient != 0) {
      // The provider cares for the first demo patient only: reading the others takes
      // break-glass, which the demo shows.
      const std::int64_t now = store::system_now_us();
      store::CareAssignment a{
          0, created->id, lab, care_patient, now, now + 365LL * 24 * 3600 * 1'000'000, cli_actor()};
      auto id = opened.store->add_care_assignment(a);
      if (!id) return std::unexpected(id.error());
      audit::Event e = access::request_event(cli_actor(), audit::Action::kUserAdmin, lab, ctx);
      e.resource = fmt::format("CareAssignment/{}", *id);
      e.patient = care_patient;
      e.outcome_detail = "demo-care-assignment";
      if (auto r = opened.audit->record(e); !r) return std::unexpected(r.error());
    }
  }
  if (auto r = write_file_atomically(file, text); !r) return std::unexpected(r.error());
  return fmt::format("demo people: 5 (one-time passwords in {})", file.string());
}

model::Result<std::string> add_demo(const Opened& opened, const fs::path& users_file) {
  store::Store& store = *opened.store;
  audit::Log& log = *opened.audit;
  auto existing = store.find_lab(kDemoLabCode);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return std::string("demo lab DEMO already present");
  auto lab = store.create_lab(kDemoLabCode, kDemoLabName);
  if (!lab) return std::unexpected(lab.error());
  audit::Event created{.lab = lab->id,
                       .actor = cli_actor(),
                       .role = "system-admin",
                       .action = audit::Action::kConfigChange,
                       .resource = "Lab/" + std::to_string(lab->id),
                       .outcome_detail = "lab-created"};
  if (auto r = log.record(created); !r) return std::unexpected(r.error());
  model::SensitivityRules rules = model::SensitivityRules::defaults();
  std::vector<model::LabMessage> messages;
  for (std::string_view raw : demo_messages()) {
    auto msg = hl7::parse_to_model(raw, "demo");
    if (!msg) return std::unexpected(msg.error());
    rules.apply(*msg);
    messages.push_back(std::move(*msg));
  }
  std::vector<store::Inbound> batch;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    batch.push_back({std::string(kDemoSender),
                     messages[i].header.control_id,
                     "hl7",
                     demo_messages()[i],
                     &messages[i],
                     std::nullopt,
                     {}});
  }
  auto events_for = [&](std::span<const store::Outcome> outcomes) {
    std::vector<audit::Event> imported;
    for (const auto& o : outcomes) {
      if (o.error) continue;
      imported.push_back({.lab = lab->id,
                          .actor = cli_actor(),
                          .role = "system-admin",
                          .action = audit::Action::kImport,
                          .resource = "InboundMessage/" + std::to_string(o.message_id),
                          .patient = o.patient_id,
                          .outcome_detail = "demo"});
    }
    return imported;
  };
  auto outcomes = log.record_with(events_for, [&](const store::AuditRowsFor& hook) {
    return store.store_messages(lab->id, batch, hook);
  });
  if (!outcomes) return std::unexpected(outcomes.error());
  for (const auto& o : *outcomes) {
    if (o.error) return std::unexpected(*o.error);
  }
  auto patients = store.list_patients(lab->id);
  if (!patients) return std::unexpected(patients.error());
  auto people =
      add_demo_users(opened, lab->id, users_file, patients->empty() ? 0 : patients->front());
  if (!people) return std::unexpected(people.error());
  return fmt::format("demo lab DEMO: {} messages, {} patients; {}", outcomes->size(),
                     patients->size(), *people);
}

}  // namespace

int run_init(const InitArgs& args) {
  auto c = plan(args);
  if (!c) return print_error(c.error()), kExitUserError;
  std::error_code ec;
  fs::create_directories(c->data_dir, ec);
  if (ec || ::chmod(c->data_dir.c_str(), 0700) != 0) {
    eprint("labvault: cannot create data directory {}: {}\n", c->data_dir.string(),
           ec ? ec.message() : std::strerror(errno));
    return kExitUserError;
  }
  if (!fs::exists(c->keyring, ec)) {
    auto ring = crypto::Keyring::create(c->keyring, utc_now());
    if (!ring) return print_error(ring.error()), kExitUserError;
    fmt::print("created keyring {} (mode 0600; back it up apart from the data)\n",
               c->keyring.string());
  }
  if (!fs::exists(c->file, ec)) {
    // A development certificate for the HTTPS listener (loopback names only); a deployment
    // replaces tls_cert and tls_key with its CA-issued pair.
    const fs::path tls = c->file.parent_path() / "tls";
    fs::create_directories(tls, ec);
    if (auto r =
            net::write_self_signed((tls / "server.crt").string(), (tls / "server.key").string(),
                                   {"localhost", "127.0.0.1", "::1"});
        !r) {
      return print_error(r.error()), kExitUserError;
    }
    c->https.tls_cert = "tls/server.crt";
    c->https.tls_key = "tls/server.key";
    if (auto r = write_file_atomically(c->file, render_config(*c)); !r) {
      return print_error(r.error()), kExitUserError;
    }
    fmt::print("created config {}\n", c->file.string());
  }
  auto opened = open_data(*c);
  if (!opened) return print_error(opened.error()), kExitUserError;
  fmt::print("data directory {} ready (schema migrated)\n", c->data_dir.string());
  if (args.demo) {
    auto demo = add_demo(*opened, c->data_dir / "demo-users.txt");
    if (!demo) return print_error(demo.error()), kExitUserError;
    fmt::print("{}\n", *demo);
  }
  return kExitOk;
}

}  // namespace labvault::cli
