// `accel health`: asks a running server's /ai/health and turns the answer into an exit code, so that a
// container HEALTHCHECK, a Kubernetes exec probe or a systemd watchdog needs no curl. It reads the same
// environment variables as `accel serve` (PORT, HOST, API_KEY, ADMIN_KEY, TLS_CERT_FILE), so in a container
// or under the packaged unit it finds the server it sits beside without arguments.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace accel {

struct HealthCheckConfig {
  std::string host = "127.0.0.1";  // a wildcard listen address (0.0.0.0, ::) becomes 127.0.0.1
  int port = 8000;
  // Sent as a Bearer token when set (API_KEY, else ADMIN_KEY): /ai/health needs one only under
  // --open-observability false, and a key on an open route is ignored, so sending it always is harmless.
  std::string api_key;
  std::string admin_key;
  // When set (TLS_CERT_FILE, as for `accel serve --tls-cert`), the check speaks TLS and accepts only a server
  // presenting this very certificate (the first one in the PEM file): it asks its own server on loopback,
  // whose name rarely matches the certificate's, and a pin is stricter than a CA check for that.
  std::string tls_cert_file;
  // Sent when the server asks for a client certificate (`accel serve --tls-client-ca`).
  std::string client_cert_file;
  std::string client_key_file;
  int timeout_ms = 3000;  // connect + TLS handshake + request + response
  bool strict = false;    // "degraded" fails too (default: only "unhealthy" and no answer fail)
};

// Environment first, then `args` (argv after "health"); flags win. Unknown flags and bad values are errors.
StatusOr<HealthCheckConfig> ParseHealthCheckConfig(const std::vector<std::string>& args);
std::string HealthCheckUsage();

struct HealthCheckResult {
  bool passed = false;
  std::string status;  // the "status" field of /ai/health; empty when there was no usable answer
  std::string detail;  // one line for a person: what was asked and what came back
};

// Whether a /ai/health status string passes: "healthy" always, "degraded" unless `strict` (the server
// still answers, on the devices it has left), anything else never.
bool HealthStatusPasses(const std::string& status, bool strict);

// One GET /ai/health, bounded by config.timeout_ms. Never throws. Any thread.
HealthCheckResult CheckHealth(const HealthCheckConfig& config);

}  // namespace accel
