// `labvault import`: files an operator brings (HL7 batches and back-to-back messages, CSV with a
// mapping, FHIR Bundles) into one lab, with a progress bar on a terminal, a summary, and every
// problem with its file and location. Files inside [ingest] spool_dir are overwritten and
// removed once processed: they hold PHI in clear.
#include "ingest/import.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/config.hpp"
#include "cli/formats.hpp"
#include "csv/csv.hpp"
#include "hl7/file.hpp"
#include "hl7/hl7.hpp"

namespace labvault::cli {

namespace {

namespace fs = std::filesystem;

model::Result<std::vector<ingest::FileMessage>> file_messages(const std::string& bytes,
                                                              Format format,
                                                              const std::string& name,
                                                              const csv::Mapping* mapping) {
  std::vector<ingest::FileMessage> out;
  if (format == Format::kHl7) {
    // Message by message, so that one bad message does not hold back the rest of a batch.
    auto split = hl7::split_file(bytes, name);
    if (!split) return std::unexpected(split.error());
    for (const auto& m : split->messages) {
      ingest::FileMessage fm;
      fm.raw = std::string(m.text);
      auto parsed = hl7::Message::parse(m.text, m.first_line, name);
      fm.message = parsed ? hl7::to_model(*parsed)
                          : model::Result<model::LabMessage>(std::unexpected(parsed.error()));
      out.push_back(std::move(fm));
    }
    return out;
  }
  // CSV and FHIR map as a whole; the file is what was received, kept with each message (a FHIR
  // document of several patients keeps each patient's part: ingest::fhir_file_messages).
  auto messages = read_messages(bytes, format, name, mapping);
  if (!messages) return std::unexpected(messages.error());
  if (format == Format::kFhir) return ingest::fhir_file_messages(bytes, std::move(*messages));
  for (auto& m : *messages) out.push_back({bytes, std::move(m)});
  return out;
}

bool inside(const fs::path& file, const fs::path& dir) {
  if (dir.empty()) return false;
  std::error_code ec;
  fs::path f = fs::weakly_canonical(file, ec), d = fs::weakly_canonical(dir, ec);
  auto rel = f.lexically_relative(d);
  return !rel.empty() && *rel.begin() != "..";
}

// Overwrites a spool file with zeros before unlinking it: its blocks must not keep results in
// clear (best effort on copy-on-write and flash storage, where the filesystem decides).
model::Result<void> shred_file(const fs::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0) {
      std::string zeros(64 * 1024, '\0');
      for (off_t at = 0; at < st.st_size; at += static_cast<off_t>(zeros.size())) {
        auto n = std::min<off_t>(static_cast<off_t>(zeros.size()), st.st_size - at);
        if (::pwrite(fd, zeros.data(), static_cast<size_t>(n), at) != n) break;
      }
      (void)::fsync(fd);
    }
    ::close(fd);
  }
  if (::unlink(file.c_str()) != 0) {
    return model::fail(model::ErrorCode::kIo,
                       fmt::format("cannot remove {} from the spool", file.string()));
  }
  return {};
}

}  // namespace

int run_import(const ImportArgs& args) {
  auto config = load_config(args.config);
  if (!config) return print_error(config.error()), kExitUserError;
  auto opened = open_data(*config);
  if (!opened) return print_error(opened.error()), kExitUserError;
  auto lab = opened->store->find_lab(args.lab);
  if (!lab) return print_error(lab.error()), kExitUserError;
  if (!*lab) return eprint("labvault: no lab '{}'\n", args.lab), kExitUserError;
  std::optional<csv::Mapping> mapping;
  if (args.mapping) {
    auto text = read_file(*args.mapping);
    if (!text) return print_error(text.error()), kExitUserError;
    auto m = csv::parse_mapping(*text, args.mapping->string());
    if (!m) return print_error(m.error()), kExitUserError;
    mapping = std::move(*m);
  }
  auto rules = load_sensitivity(config->file);
  if (!rules) return print_error(rules.error()), kExitUserError;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  int exit_code = kExitOk;
  for (const fs::path& file : args.files) {
    auto bytes = read_file(file);
    if (!bytes) return print_error(bytes.error()), kExitUserError;
    auto format = args.format ? format_from_name(*args.format) : sniff_format(*bytes);
    if (!format && !args.format && mapping) format = Format::kCsv;
    if (!format) {
      eprint("labvault: {}: cannot tell the format; pass --format hl7|csv|fhir\n", file.string());
      return kExitUsage;
    }
    if (*format == Format::kCsv && !mapping) {
      eprint("labvault: {}: CSV needs --mapping FILE\n", file.string());
      return kExitUsage;
    }
    auto messages = file_messages(*bytes, *format, file.string(), mapping ? &*mapping : nullptr);
    if (!messages) {
      print_error(messages.error());
      exit_code = kExitUserError;
      continue;
    }
    for (auto& m : *messages) {
      if (m.message) rules->apply(*m.message);
    }
    ingest::ImportRequest request;
    request.lab = (*lab)->id;
    request.actor = cli_actor();
    request.kind = *format == Format::kHl7 ? "hl7" : *format == Format::kCsv ? "csv" : "fhir";
    request.source_name = file.filename().string();
    request.sender = "import^" + args.lab;
    if (tty) {
      request.progress = [&](std::uint64_t done, std::uint64_t total) {
        int width = 30, filled = total ? static_cast<int>(width * done / total) : width;
        std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", file.filename().c_str(), filled,
                     "##############################", width - filled, "",
                     static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
        if (done == total) std::fputc('\n', stderr);
      };
    }
    auto summary = ingest::import_messages(*opened->store, *opened->audit, request, *messages);
    if (!summary) return print_error(summary.error()), kExitUserError;
    for (const model::Error& e : summary->problems) print_error(e);
    fmt::print("{}: {} messages: {} stored, {} already stored, {} failed (import {})\n",
               file.string(), summary->messages, summary->stored, summary->duplicates,
               summary->failed, summary->import_id);
    if (summary->failed) exit_code = kExitUserError;
    if (inside(file, config->ingest_spool)) {
      if (auto r = shred_file(file); !r) return print_error(r.error()), kExitUserError;
    }
  }
  return exit_code;
}

}  // namespace labvault::cli
