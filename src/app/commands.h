// The `accel` subcommands. Each takes the arguments after its name and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace accel {

int RunServeCommand(const std::vector<std::string>& args);
int RunInferCommand(const std::vector<std::string>& args);
int RunDevicesCommand(const std::vector<std::string>& args);
int RunBenchCommandFromArgs(const std::vector<std::string>& args);
int RunKeygenCommand(const std::vector<std::string>& args);
int RunHealthCommand(const std::vector<std::string>& args);  // app/health_command.h

}  // namespace accel
