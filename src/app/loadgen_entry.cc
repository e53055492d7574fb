#include <string>
#include <vector>

#include "app/commands.h"
#include "app/loadgen_command.h"
#include "app/loadgen_extra_protocols.h"

namespace accel {

int RunBenchCommandFromArgs(const std::vector<std::string>& args) {
  RegisterExtraBenchProtocols();
  std::vector<std::string> storage = {"bench"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return RunBenchCommand(static_cast<int>(storage.size()), argv.data());
}

}  // namespace accel
