// NIST SP 800-63B 5.1.1.2 for memorized secrets: at least 12 characters (counted as Unicode code
// points), at most 1024, no composition rules, and not a common or predictable password. The
// "common" check is zxcvbn's bundled dictionaries (breached passwords, words, names) and patterns
// (repeats, sequences, keyboard walks, dates), plus the user's own username and name.
#pragma once

#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::access {

inline constexpr std::size_t kMinPasswordChars = 12;
inline constexpr std::size_t kMaxPasswordChars = 1024;
// Passwords that zxcvbn estimates below this many bits of guessing entropy are refused: about
// 2^30 guesses, beyond an online attack under lockout and far beyond the top of any leak list.
inline constexpr double kMinPasswordEntropyBits = 30.0;

// Ok, or kUsage with a message that says what to change (and never repeats the password).
// `context` holds words an attacker would try first: the username, the person's name, "labvault".
[[nodiscard]] model::Result<void> check_new_password(std::string_view password,
                                                     const std::vector<std::string_view>& context);

}  // namespace labvault::access
