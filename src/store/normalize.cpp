#include "store/normalize.hpp"

#include <fmt/format.h>

#include <cctype>

namespace labvault::store {

std::string normalize_token(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string normalize_identifier(const model::Identifier& id, std::string_view sender) {
  std::string authority = normalize_token(id.assigning_authority);
  if (authority.empty()) authority = "sender:" + normalize_token(sender);
  std::string value = normalize_token(id.value);
  // Length-prefixed: an escaped '|' inside a value cannot make two identifiers collide.
  return fmt::format("{}:{}{}:{}", authority.size(), authority, value.size(), value);
}

namespace {
// Letters only, upper case: "O'Brien-Smith" and "OBRIEN SMITH" meet. Non-ASCII bytes are kept
// as they are (UTF-8 names compare exactly).
std::string letters(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80)
      out.push_back(c);
    else if (std::isalpha(u))
      out.push_back(static_cast<char>(std::toupper(u)));
  }
  return out;
}
}  // namespace

std::string normalize_name_birth(const model::HumanName& name, const model::DateTime& birth) {
  std::string family = letters(name.family);
  std::string given = name.given.empty() ? std::string() : letters(name.given.front());
  if (family.empty() || given.empty() || birth.precision < model::DateTime::Precision::kDay) {
    return {};
  }
  return fmt::format("{}|{}|{:04}{:02}{:02}", family, given, birth.year, birth.month, birth.day);
}

}  // namespace labvault::store
