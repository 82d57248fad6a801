#include "cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

namespace labvault::cli {

int run(int argc, char** argv) {
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

  BenchArgs bench;
  CLI::App* b = app.add_subcommand("bench", "Load generators used by the bench/ scripts");
  b->require_subcommand(1);
  CLI::App* bp = b->add_subcommand(
      "parse", "Parse a message to the model in a loop on one core; prints msgs/s");
  bp->add_option("file", bench.file, "HL7 message file")->required();
  bp->add_option("--seconds", bench.seconds, "How long to run (default 3)")
      ->check(CLI::PositiveNumber);

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
    if (c->parsed()) return run_convert(convert);
    if (v->parsed()) return run_validate(validate);
    if (bp->parsed()) return run_bench_parse(bench);
  } catch (const std::exception& e) {
    eprint("labvault: internal error: {}\n", e.what());
    return kExitUserError;
  }
  return kExitUsage;
}

void print_error(const model::Error& e) { eprint("labvault: {}\n", e.to_string()); }

}  // namespace labvault::cli
