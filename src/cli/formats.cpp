#include "cli/formats.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "fhir/fhir.hpp"
#include "hl7/hl7.hpp"

namespace labvault::cli {

using model::ErrorCode;

std::optional<Format> format_from_name(std::string_view name) {
  if (name == "hl7") return Format::kHl7;
  if (name == "fhir") return Format::kFhir;
  if (name == "csv") return Format::kCsv;
  return std::nullopt;
}

std::optional<Format> sniff_format(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (size_t first = bytes.find_first_not_of(" \t\r\n"); first != std::string_view::npos) {
    if (bytes[first] == '{') return Format::kFhir;
  }
  // Leading blank lines are tolerated by the HL7 reader, so they are here too.
  bytes.remove_prefix(std::min(bytes.size(), bytes.find_first_not_of("\r\n")));
  if (bytes.starts_with("MSH") || bytes.starts_with("FHS") || bytes.starts_with("BHS"))
    return Format::kHl7;
  return std::nullopt;
}

model::Result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return model::fail(ErrorCode::kIo, "not a readable file", {.file = path.string()});
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return model::fail(ErrorCode::kIo, "cannot read the file size", {.file = path.string()});
  if (size > kMaxInputBytes)
    return model::fail(ErrorCode::kValueTooLong,
                       fmt::format("file is larger than {} MiB; split it", kMaxInputBytes >> 20),
                       {.file = path.string()});
  std::ifstream in(path, std::ios::binary);
  if (!in) return model::fail(ErrorCode::kIo, "cannot open for reading", {.file = path.string()});
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

model::Result<void> write_file_atomically(const std::filesystem::path& path,
                                          std::string_view bytes) {
  const model::Location where{.file = path.string()};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  // 0600 from the start: outputs hold PHI. O_EXCL: never write through someone else's file.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return model::fail(ErrorCode::kIo, "cannot create the output file", where);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    return model::fail(ErrorCode::kIo, "write failed (disk full?)", where);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return model::fail(ErrorCode::kIo, "cannot replace the output file", where);
  }
  // The rename is durable only once the directory entry is.
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

namespace {

// HL7: split the file, parse and map every message; all problems of all messages.
Validation check_hl7(std::string_view bytes, const std::string& file_name,
                     std::vector<model::LabMessage>* out) {
  Validation v;
  auto split = hl7::split_file(bytes, file_name);
  if (!split) {
    v.problems.push_back(std::move(split.error()));
    return v;
  }
  v.messages = split->messages.size();
  for (const hl7::MessageText& t : split->messages) {
    auto message = hl7::Message::parse(t.text, t.first_line, file_name);
    if (!message) {
      v.problems.push_back(std::move(message.error()));
      continue;
    }
    auto problems = hl7::validate(*message);
    for (auto& p : problems) p.location.file = file_name;
    v.problems.insert(v.problems.end(), problems.begin(), problems.end());
    if (out && problems.empty()) out->push_back(*hl7::to_model(*message));
  }
  return v;
}

}  // namespace

model::Result<std::vector<model::LabMessage>> read_messages(std::string_view bytes, Format format,
                                                            const std::string& file_name,
                                                            const csv::Mapping* mapping) {
  switch (format) {
    case Format::kHl7: {
      std::vector<model::LabMessage> out;
      Validation v = check_hl7(bytes, file_name, &out);
      if (!v.problems.empty()) return std::unexpected(std::move(v.problems.front()));
      return out;
    }
    case Format::kFhir: {
      auto out = fhir::from_json(bytes);
      if (!out) out.error().location.file = file_name;
      return out;
    }
    case Format::kCsv:
      if (!mapping)
        return model::fail(ErrorCode::kUsage, "CSV input needs --mapping FILE",
                           {.file = file_name});
      return csv::read(bytes, *mapping, file_name);
  }
  return model::fail(ErrorCode::kInternal, "unknown format");
}

Validation validate_bytes(std::string_view bytes, Format format, const std::string& file_name,
                          const csv::Mapping* mapping) {
  if (format == Format::kHl7) return check_hl7(bytes, file_name, nullptr);
  Validation v;
  if (format == Format::kFhir) {
    v.problems = fhir::check_json(bytes);
    for (auto& p : v.problems) p.location.file = file_name;
    if (auto messages = fhir::from_json(bytes); messages) v.messages = messages->size();
    return v;
  }
  auto messages = read_messages(bytes, format, file_name, mapping);
  if (messages)
    v.messages = messages->size();
  else
    v.problems.push_back(std::move(messages.error()));
  return v;
}

model::Result<model::SensitivityRules> load_sensitivity(
    const std::optional<std::filesystem::path>& config) {
  model::SensitivityRules rules = model::SensitivityRules::defaults();
  if (!config) return rules;
  auto text = read_file(*config);
  if (!text) return std::unexpected(std::move(text.error()));
  toml::table table;
  try {
    table = toml::parse(*text, config->string());
  } catch (const toml::parse_error& e) {
    return model::fail(ErrorCode::kConfig, fmt::format("not valid TOML: {}", e.description()),
                       {.file = config->string(), .line = static_cast<int>(e.source().begin.line)});
  }
  const toml::table* sens = table["sensitivity"].as_table();
  if (!sens) return rules;
  if (sens->get("replace_defaults") && (*sens)["replace_defaults"].value_or(false)) rules.clear();
  for (auto&& [key, node] : *sens) {
    if (key == "replace_defaults") continue;
    auto category = model::sensitivity_from_string(key.str());
    const toml::array* codes = node.as_array();
    auto where = model::Location{.file = config->string(),
                                 .line = static_cast<int>(node.source().begin.line)};
    if (!category || *category == model::Sensitivity::kNone)
      return model::fail(
          ErrorCode::kConfig,
          fmt::format("[sensitivity] key '{}' is not a category (hiv, genetic, substance-use, "
                      "behavioral-health, sexual-health)",
                      key.str()),
          where);
    if (!codes)
      return model::fail(ErrorCode::kConfig,
                         fmt::format("[sensitivity] {} must be an array of codes", key.str()),
                         where);
    for (auto&& code : *codes) {
      auto s = code.value<std::string>();
      if (!s || s->empty())
        return model::fail(
            ErrorCode::kConfig,
            fmt::format("[sensitivity] {} holds a value that is not a code string", key.str()),
            where);
      rules.add(*category, *s);
    }
  }
  return rules;
}

}  // namespace labvault::cli
