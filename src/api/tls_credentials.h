// TLS credentials of the HTTP and gRPC front ends: the PEM files a user names (--tls-cert, --tls-key,
// --tls-client-ca), read once and checked with OpenSSL before any listener starts, so that a wrong file is
// reported by name instead of as a failed handshake later. Both front ends build their TLS setup from the
// same checked PEM text (HttpServer: an OpenSSL context; KServeGrpcServer: grpc::SslServerCredentials).
#pragma once

#include <string>

#include "core/status.h"

namespace accel {

struct TlsFiles {
  std::string cert_file;  // PEM: the server certificate first, then any intermediates
  std::string key_file;   // PEM: the certificate's private key, unencrypted
  // PEM: one or more CA certificates. When set, every client must present a certificate that chains to one
  // of them (mutual TLS); when empty, client certificates are not asked for.
  std::string client_ca_file;

  // TLS is on when a certificate or a key is named (LoadTlsCredentials then requires both).
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct TlsCredentials {
  std::string cert_chain_pem;
  std::string private_key_pem;
  std::string client_ca_pem;  // empty: no client certificates required
};

// Reads and checks the files: the certificate file holds at least one certificate, the key file a private
// key that belongs to the first certificate, the client CA file (when named) at least one certificate.
// InvalidArgument naming the file (and OpenSSL's reason) otherwise, also when only one of cert and key is
// named. Thread-safe.
StatusOr<TlsCredentials> LoadTlsCredentials(const TlsFiles& files);

}  // namespace accel
