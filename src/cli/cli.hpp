// The `labvault` command line: parses arguments, wires the modules together and maps results
// to the exit-code contract of DESIGN.md (0 success, 1 user error with a one-line message
// naming file/line/segment/field, 2 usage error).
#pragma once

namespace labvault::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUserError = 1;
inline constexpr int kExitUsage = 2;

int run(int argc, char** argv);

}  // namespace labvault::cli
