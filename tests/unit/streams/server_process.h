// Real servers for the output tests (mosquitto, redis-server), started by the test on a free local port.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace accel::testing {

// A port that was free a moment ago on 127.0.0.1.
int FreePort();
// Whether something accepts TCP connections on 127.0.0.1:port now.
bool PortOpen(int port);
// Polls `condition` every 10 ms until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
// The first of `names` found in PATH, /usr/sbin or /usr/bin; "" when none.
std::string FindProgram(const std::vector<std::string>& names);

// A child process; stopped (SIGTERM, then SIGKILL) when destroyed.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() { Stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Starts argv (its output to `log_file`) and waits up to 10 s for `port` to accept connections.
  bool Start(const std::vector<std::string>& argv, int port, const std::string& log_file);
  void Stop();  // SIGTERM, and waits for it to exit (SIGKILL after 5 s)
  void Kill();  // SIGKILL, and waits
  bool running() const { return pid_ > 0; }

 private:
  void Signal(int signal, std::chrono::milliseconds grace);
  int pid_ = -1;
};

// A temporary folder, removed with what it holds.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace accel::testing
