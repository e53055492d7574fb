// accel: one inference service for every accelerator on the machine.
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"

namespace {

void PrintUsage() {
  std::cout << "usage: accel <command> [options]\n\n"
               "commands:\n"
               "  serve     serve the model repository over HTTP, gRPC and ZMQ (accel serve --help)\n"
               "  infer     run one image through a model and print the detections (accel infer --help)\n"
               "  devices   list the devices every engine finds on this machine\n"
               "  bench     load-test a running server (accel bench --help)\n"
               "  keygen    print a new zmq CURVE key pair (accel keygen --zmq)\n"
               "  health    exit status 0 if a running server is healthy (accel health --help)\n"
               "  version   print the version\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage();
    return 2;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return accel::RunServeCommand(args);
  if (command == "infer") return accel::RunInferCommand(args);
  if (command == "devices") return accel::RunDevicesCommand(args);
  if (command == "bench") return accel::RunBenchCommandFromArgs(args);
  if (command == "keygen") return accel::RunKeygenCommand(args);
  if (command == "health") return accel::RunHealthCommand(args);
  if (command == "version" || command == "--version") {
    std::cout << "accel " << ACCEL_VERSION << "\n";
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    PrintUsage();
    return 0;
  }
  std::cerr << "accel: unknown command '" << command << "'\n";
  PrintUsage();
  return 2;
}
