// Only wiring: everything the binary does lives in the modules; see src/cli.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return labvault::cli::run(argc, argv); }
