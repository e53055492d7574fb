// `accel keygen --zmq`: a new CURVE key pair for the zmq front end (api/zmq_curve_keys.h), so users need
// no other tool. Prints "public-key <Z85>" and "secret-key <Z85>"; with --secret-file the secret key goes
// into a new file (mode 0600, never overwritten) in the form --zmq-curve-secret-key reads, and only the
// public key is printed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "api/zmq_curve_keys.h"
#include "app/command_line.h"
#include "app/commands.h"

namespace accel {

int RunKeygenCommand(const std::vector<std::string>& args) {
  bool zmq = false;
  std::string secret_file;
  const std::vector<CommandOption> options = {
      {"--zmq", "", "", "a CURVE key pair for the zmq endpoint (Z85, 40 characters each)",
       BoolValue("zmq", &zmq)},
      {"--secret-file", "", "PATH",
       "write the secret key to PATH (created with mode 0600; an existing file is not overwritten) and print "
       "only the public key",
       StringValue(&secret_file)},
  };
  constexpr const char* kSynopsis = "keygen --zmq [--secret-file PATH]";
  constexpr const char* kDescription =
      "Prints a new zmq CURVE key pair. The server's secret key goes into the file given to\n"
      "--zmq-curve-secret-key, its public key to the clients; each client's public key goes into the file\n"
      "given to --zmq-curve-authorized-keys.\n";
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << CommandUsage(kSynopsis, kDescription, options);
      return 0;
    }
  auto positional = ParseCommandLine("keygen", options, args, /*read_env=*/false);
  if (!positional.ok() || !positional->empty() || !zmq) {
    std::cerr << "accel keygen: "
              << (!positional.ok()       ? positional.status().message()
                  : !positional->empty() ? "unexpected argument '" + (*positional)[0] + "'"
                                         : std::string("say which key: --zmq"))
              << "\n"
              << CommandUsage(kSynopsis, kDescription, options);
    return 2;
  }
  auto pair = GenerateCurveKeyPair();
  if (!pair.ok()) {
    std::cerr << "accel keygen: " << pair.status().message() << "\n";
    return 1;
  }
  if (!secret_file.empty()) {
    const int fd = open(secret_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::cerr << "accel keygen: cannot create " << secret_file << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    const std::string text =
        "# accel zmq CURVE secret key (public key " + pair->public_z85 + ")\n" + pair->secret_z85 + "\n";
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (close(fd) != 0 || !written) {
      std::cerr << "accel keygen: cannot write " << secret_file << "\n";
      return 1;
    }
    std::cout << "public-key " << pair->public_z85 << "\n";
    return 0;
  }
  std::cout << "public-key " << pair->public_z85 << "\n"
            << "secret-key " << pair->secret_z85 << "\n";
  return 0;
}

}  // namespace accel
