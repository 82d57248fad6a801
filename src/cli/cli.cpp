#include "cli/cli.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

namespace labvault::cli {

int run(int argc, char** argv) {
  // Everything labvault creates (database, WAL, outputs, keyring) is for its own user only.
  ::umask(077);
  CLI::App app{"labvault: HIPAA-grade integration hub for clinical laboratory results"};
  app.set_version_flag("--version", "labvault 0.1.0");
  app.require_subcommand(1);

  ConvertArgs convert;
  CLI::App* c =
      app.add_subcommand("convert", "Convert lab results between HL7 v2, FHIR R4 and CSV");
  c->add_option("--from", convert.from, "Input format: hl7, csv or fhir")
      ->required()
      ->check(CLI::IsMember({"hl7", "csv", "fhir"}));
  c->add_option("--to", convert.to, "Output format: fhir, hl7 (ORU^R01) or csv")
      ->required()
      ->check(CLI::IsMember({"hl7", "csv", "fhir"}));
  c->add_option("--mapping", convert.mapping,
                "CSV column mapping (TOML), needed for csv in or out");
  c->add_option("--config", convert.config,
                "Config file whose [sensitivity] value sets extend the defaults");
  c->add_option("--tz-offset", convert.tz_offset_minutes,
                "Minutes east of UTC for HL7 times without a zone (FHIR needs one); default: the "
                "message's MSH-7 offset, else 0");
  c->add_option("-o,--output", convert.output, "Output file (default: standard output)");
  c->add_flag("--lf", convert.lf,
              "End HL7 segments with LF instead of CR (for reading on a terminal)");
  c->add_option("inputs", convert.inputs, "Input files")->required();

  ValidateArgs validate;
  CLI::App* v =
      app.add_subcommand("validate", "Parse only; report every problem with its location");
  v->add_option("--format", validate.format, "Input format (default: guessed from content)")
      ->check(CLI::IsMember({"hl7", "csv", "fhir"}));
  v->add_option("--mapping", validate.mapping, "CSV column mapping (TOML), needed for csv");
  v->add_option("inputs", validate.inputs, "Input files")->required();

  InitArgs init;
  CLI::App* in = app.add_subcommand(
      "init", "Create a data directory, its config and a keyring (0600); --demo adds a demo lab");
  in->add_option("--data", init.data, "Data directory (created with mode 0700)")->required();
  in->add_option("--keyring", init.keyring,
                 "Keyring file, outside the data directory (default: next to it, "
                 "labvault.keyring)");
  in->add_flag("--demo", init.demo, "Add the demo lab with synthetic patients and results");

  KeysArgs keys;
  CLI::App* k = app.add_subcommand("keys", "Key administration: status, rotate, shred-patient");
  k->require_subcommand(1);
  CLI::App* ks = k->add_subcommand("status", "KEK versions and data keys per wrapping version");
  CLI::App* kr = k->add_subcommand(
      "rotate", "Add a KEK version and re-wrap every data key under it (no downtime)");
  kr->add_flag("--retire-old", keys.retire_old,
               "Then drop older KEK versions from the keyring once nothing uses them");
  CLI::App* kd = k->add_subcommand(
      "shred-patient", "Destroy one patient's data key: their records become unreadable");
  kd->add_option("--lab", keys.lab, "Lab code")->required();
  auto* by_id = kd->add_option("--patient", keys.patient, "Internal patient id");
  auto* by_mrn = kd->add_flag("--mrn-stdin", keys.mrn_stdin,
                              "Read the patient's MRN from standard input (keeps it out of argv)");
  by_id->excludes(by_mrn);
  kd->add_option("--authority", keys.authority, "Assigning authority of the MRN (CX-4)");
  kd->add_flag("--yes", keys.yes, "Confirm: shredding cannot be undone");
  for (CLI::App* sub : {ks, kr, kd}) {
    sub->add_option("--config", keys.config, "labvault.toml written by labvault init")->required();
  }

  ServeArgs serve;
  CLI::App* sv = app.add_subcommand(
      "serve", "Receive HL7 v2 over MLLP (TLS off loopback), store, audit, acknowledge");
  sv->add_option("--config", serve.config, "labvault.toml written by labvault init")->required();
  SendArgs send;
  CLI::App* sd = app.add_subcommand("send", "MLLP client: send HL7 files, print each ACK");
  sd->add_option("--to", send.to, "HOST:PORT of the MLLP listener")->required();
  sd->add_option("--tls-ca", send.tls_ca, "CA file: connect with TLS and verify the server");
  sd->add_option("--cert", send.cert, "Client certificate (mutual TLS)");
  sd->add_option("--key", send.key, "Client key (mutual TLS)");
  sd->add_option("--server-name", send.server_name, "Name the server certificate must carry");
  sd->add_option("files", send.files, "HL7 files (batches and several messages allowed)")
      ->required()
      ->check(CLI::ExistingFile);

  ImportArgs import;
  CLI::App* im = app.add_subcommand(
      "import", "Import HL7 batches, CSV (with --mapping) or FHIR Bundles into a lab");
  im->add_option("--config", import.config, "labvault.toml written by labvault init")->required();
  im->add_option("--lab", import.lab, "Lab code")->required();
  im->add_option("--format", import.format, "hl7, csv or fhir (default: guessed)");
  im->add_option("--mapping", import.mapping, "CSV column mapping (TOML)")
      ->check(CLI::ExistingFile);
  im->add_option("files", import.files, "Files; those in [ingest] spool_dir are removed after")
      ->required()
      ->check(CLI::ExistingFile);

  AuditArgs audit;
  CLI::App* a = app.add_subcommand(
      "audit", "The tamper-evident audit log: verify, prove, export, tail, query");
  a->require_subcommand(1);
  CLI::App* av = a->add_subcommand(
      "verify", "Recompute chain and tree, check every checkpoint; exit 1 on any problem");
  av->add_option("--published", audit.published,
                 "Published checkpoints to compare (default: [audit] publish_file)");
  CLI::App* ac = a->add_subcommand("checkpoint", "Sign a checkpoint over every record now");
  CLI::App* ap = a->add_subcommand("prove", "Inclusion proof of one record (JSON)");
  ap->add_option("--record", audit.record, "Record number")->required()->check(CLI::PositiveNumber);
  ap->add_option("-o,--output", audit.output, "Write the proof here (default: stdout)");
  CLI::App* avp = a->add_subcommand("verify-proof", "Check a proof offline (no config needed)");
  avp->add_option("proof", audit.proof, "Proof file from labvault audit prove")->required();
  avp->add_option("--public-key", audit.public_key,
                  "The audit public key you trust (base64, from labvault audit public-key)")
      ->required();
  CLI::App* ak = a->add_subcommand("public-key", "Print the audit signing key's public half");
  CLI::App* ae = a->add_subcommand(
      "export", "Export records: JSON lines, FHIR R4 AuditEvent (NDJSON) or RFC 5424 syslog");
  ae->add_option("--format", audit.format, "jsonl (default), fhir or syslog");
  ae->add_option("--from-seq", audit.from_seq, "First record number (default 1)");
  ae->add_option("-o,--output", audit.output, "Write here (mode 0600) instead of stdout");
  CLI::App* aq = a->add_subcommand(
      "query", "Records by lab, patient, user, action and time: who saw this patient's results");
  aq->add_option("--lab", audit.lab, "Lab code");
  aq->add_option("--patient", audit.patient, "Internal patient id");
  aq->add_option("--user", audit.user, "Actor id, e.g. user:12");
  aq->add_option("--action", audit.action, "read, search, break-glass, login-failed, ...");
  aq->add_option("--format", audit.format, "table (default) or jsonl");
  CLI::App* at = a->add_subcommand("tail", "The newest records");
  at->add_option("-n,--lines", audit.lines, "How many (default 20)")->check(CLI::PositiveNumber);
  CLI::App* af = a->add_subcommand(
      "forward", "Stream the log to the [audit.syslog] SIEM over TLS until SIGINT/SIGTERM");
  af->add_flag("--once", audit.once, "Stop once every record so far is acknowledged");
  for (CLI::App* sub : {ae, aq}) {
    sub->add_option("--since", audit.since, "From this UTC time: YYYY-MM-DD[THH:MM:SSZ]");
    sub->add_option("--until", audit.until, "Before this UTC time");
    sub->add_flag("--reveal", audit.reveal,
                  "Open sealed private details (break-glass reasons); recorded as such");
  }
  std::vector<CLI::App*> audit_with_config = {av, ac, ap, ak, ae, aq, at, af};
  for (CLI::App* sub : audit_with_config) {
    sub->add_option("--config", audit.config, "labvault.toml written by labvault init")->required();
  }

  BenchArgs bench;
  CLI::App* b = app.add_subcommand("bench", "Load generators used by the bench/ scripts");
  b->require_subcommand(1);
  CLI::App* bp = b->add_subcommand(
      "parse", "Parse a message to the model in a loop on one core; prints msgs/s");
  bp->add_option("file", bench.file, "HL7 message file")->required();
  bp->add_option("--seconds", bench.seconds, "How long to run (default 3)")
      ->check(CLI::PositiveNumber);
  BenchStoreArgs bench_store;
  CLI::App* bs = b->add_subcommand("store",
                                   "Store synthetic observations: labvault encrypted vs plain "
                                   "SQLite on one core; prints rows/s");
  bs->add_option("--rows", bench_store.rows, "Observations per path (default 100000)")
      ->check(CLI::PositiveNumber);
  bs->add_option("--batch", bench_store.batch, "Observations per transaction (default 1000)")
      ->check(CLI::PositiveNumber);
  bs->add_option("--per-message", bench_store.per_message,
                 "Observations per message, one patient each (default 10)")
      ->check(CLI::PositiveNumber);
  bs->add_option(
        "--dir", bench_store.dir,
        "Directory for the scratch files, removed afterwards (default: the temp directory)")
      ->check(CLI::ExistingDirectory);

  BenchAuditArgs bench_audit;
  CLI::App* ba = b->add_subcommand(
      "audit", "Append synthetic audit events with checkpoints, then verify; prints both rates");
  ba->add_option("--events", bench_audit.events, "Events to append (default 1000000)")
      ->check(CLI::PositiveNumber);
  ba->add_option("--batch", bench_audit.batch, "Events per append transaction (default 1000)")
      ->check(CLI::PositiveNumber);
  ba->add_option("--checkpoint-every", bench_audit.checkpoint_every,
                 "Records per signed checkpoint (default 10000)")
      ->check(CLI::PositiveNumber);
  ba->add_option("--dir", bench_audit.dir, "Directory for the scratch files (default: temp)")
      ->check(CLI::ExistingDirectory);

  BenchIngestArgs bench_ingest;
  CLI::App* bi = b->add_subcommand(
      "ingest", "MLLP load generator: N connections send a message; prints msgs/s and latency");
  bi->add_option("--to", bench_ingest.to, "HOST:PORT of the MLLP listener")->required();
  bi->add_option("--tls-ca", bench_ingest.tls_ca, "CA file: connect with TLS");
  bi->add_option("--cert", bench_ingest.cert, "Client certificate (mutual TLS)");
  bi->add_option("--key", bench_ingest.key, "Client key (mutual TLS)");
  bi->add_option("--server-name", bench_ingest.server_name, "Name on the server certificate");
  bi->add_option("--connections", bench_ingest.connections, "Connections (default 8)");
  bi->add_option("--seconds", bench_ingest.seconds, "Measured duration (default 10)");
  bi->add_option("--warmup", bench_ingest.warmup, "Unmeasured start (default 1)");
  bi->add_option("--rate", bench_ingest.rate, "Offered msgs/s in all; 0 = closed loop");
  bi->add_option("--patients", bench_ingest.patients, "Distinct patients (0 = one per message)");
  bi->add_option("--id-prefix", bench_ingest.id_prefix, "MSH-10 prefix (default B)");
  bi->add_option("file", bench_ingest.file, "HL7 message to send")
      ->required()
      ->check(CLI::ExistingFile);

  auto run_identity = add_identity_commands(app);
  auto run_access = add_access_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  // Modules report through Result; an exception here is a library failure (allocation,
  // filesystem) and still deserves a one-line message and exit 1 rather than an abort.
  try {
    if (auto code = run_identity()) return *code;
    if (auto code = run_access()) return *code;
    if (in->parsed()) return run_init(init);
    if (ks->parsed()) return run_keys_status(keys);
    if (kr->parsed()) return run_keys_rotate(keys);
    if (kd->parsed()) {
      if (!keys.patient && !keys.mrn_stdin) {
        eprint("labvault: keys shred-patient needs --patient ID or --mrn-stdin\n");
        return kExitUsage;
      }
      return run_keys_shred(keys);
    }
    if (im->parsed()) return run_import(import);
    if (sv->parsed()) return run_serve(serve);
    if (sd->parsed()) return run_send(send);
    if (av->parsed()) return run_audit_verify(audit);
    if (ac->parsed()) return run_audit_checkpoint(audit);
    if (ap->parsed()) return run_audit_prove(audit);
    if (avp->parsed()) return run_audit_verify_proof(audit);
    if (ak->parsed()) return run_audit_public_key(audit);
    if (ae->parsed()) return run_audit_export(audit);
    if (aq->parsed()) {
      if (!aq->count("--format")) audit.format = "table";
      return run_audit_query(audit);
    }
    if (at->parsed()) return run_audit_tail(audit);
    if (af->parsed()) return run_audit_forward(audit);
    if (c->parsed()) return run_convert(convert);
    if (v->parsed()) return run_validate(validate);
    if (bp->parsed()) return run_bench_parse(bench);
    if (bs->parsed()) return run_bench_store(bench_store);
    if (ba->parsed()) return run_bench_audit(bench_audit);
    if (bi->parsed()) return run_bench_ingest(bench_ingest);
  } catch (const std::exception& e) {
    eprint("labvault: internal error: {}\n", e.what());
    return kExitUserError;
  }
  return kExitUsage;
}

void print_error(const model::Error& e) { eprint("labvault: {}\n", e.to_string()); }

}  // namespace labvault::cli
