// `labvault convert` and `labvault validate`.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/formats.hpp"
#include "fhir/fhir.hpp"
#include "hl7/hl7.hpp"

namespace labvault::cli {
namespace {

model::Result<csv::Mapping> load_mapping(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(std::move(text.error()));
  return csv::parse_mapping(*text, path.string());
}

}  // namespace

int run_convert(const ConvertArgs& args) {
  Format from = *format_from_name(args.from);
  Format to = *format_from_name(args.to);
  std::optional<csv::Mapping> mapping;
  if (args.mapping) {
    auto m = load_mapping(*args.mapping);
    if (!m) return print_error(m.error()), kExitUserError;
    mapping = std::move(*m);
  } else if (from == Format::kCsv || to == Format::kCsv) {
    eprint("labvault: convert: CSV needs --mapping FILE (see samples/csv/mapping.toml)\n");
    return kExitUsage;
  }
  auto rules = load_sensitivity(args.config);
  if (!rules) return print_error(rules.error()), kExitUserError;

  std::vector<model::LabMessage> messages;
  for (const auto& input : args.inputs) {
    auto bytes = read_file(input);
    if (!bytes) return print_error(bytes.error()), kExitUserError;
    auto read = read_messages(*bytes, from, input.string(), mapping ? &*mapping : nullptr);
    if (!read) return print_error(read.error()), kExitUserError;
    for (auto& m : *read) {
      rules->apply(m);
      messages.push_back(std::move(m));
    }
  }

  std::string out;
  switch (to) {
    case Format::kFhir: {
      auto bundle = fhir::to_bundle(
          messages, fhir::Options{.default_utc_offset_minutes = args.tz_offset_minutes});
      if (!bundle) return print_error(bundle.error()), kExitUserError;
      out = std::move(*bundle);
      if (!out.ends_with('\n')) out += '\n';
      break;
    }
    case Format::kHl7:
      for (const auto& m : messages) out += hl7::to_oru_r01(m);
      if (args.lf) std::ranges::replace(out, '\r', '\n');
      break;
    case Format::kCsv:
      out = csv::write(messages, *mapping);
      break;
  }
  if (args.output) {
    auto written = write_file_atomically(*args.output, out);
    if (!written) return print_error(written.error()), kExitUserError;
    eprint("labvault: converted {} message(s) from {} file(s) to {}\n", messages.size(),
           args.inputs.size(), args.output->string());
  } else {
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    std::cout.flush();
    if (!std::cout) {
      eprint("labvault: convert: cannot write to standard output\n");
      return kExitUserError;
    }
  }
  return kExitOk;
}

int run_validate(const ValidateArgs& args) {
  std::optional<csv::Mapping> mapping;
  if (args.mapping) {
    auto m = load_mapping(*args.mapping);
    if (!m) return print_error(m.error()), kExitUserError;
    mapping = std::move(*m);
  }
  bool all_ok = true;
  for (const auto& input : args.inputs) {
    auto bytes = read_file(input);
    if (!bytes) {
      print_error(bytes.error());
      all_ok = false;
      continue;
    }
    std::optional<Format> format =
        args.format ? format_from_name(*args.format) : sniff_format(*bytes);
    if (!format && mapping) format = Format::kCsv;
    if (!format) {
      print_error({model::ErrorCode::kParse,
                   "not recognised as HL7 v2 (MSH/FHS/BHS) or FHIR JSON; for CSV give --mapping",
                   {.file = input.string(), .line = 1}});
      all_ok = false;
      continue;
    }
    if (*format == Format::kCsv && !mapping) {
      eprint("labvault: validate: CSV needs --mapping FILE (see samples/csv/mapping.toml)\n");
      return kExitUsage;
    }
    Validation v = validate_bytes(*bytes, *format, input.string(), mapping ? &*mapping : nullptr);
    for (const auto& p : v.problems) print_error(p);
    if (v.problems.empty()) {
      fmt::print("{}: OK, {} message(s)\n", input.string(), v.messages);
    } else {
      all_ok = false;
      fmt::print("{}: {} problem(s)\n", input.string(), v.problems.size());
    }
  }
  return all_ok ? kExitOk : kExitUserError;
}

}  // namespace labvault::cli
