// Placeholder until the load generator (bench_command.cc) is wired in.
#include <iostream>

#include "app/commands.h"

namespace accel {
int RunBenchCommandFromArgs(const std::vector<std::string>&) {
  std::cerr << "accel bench: not available in this build yet\n";
  return 2;
}
}  // namespace accel
