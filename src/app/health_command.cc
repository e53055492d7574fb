#include "app/health_command.h"

#include <chrono>
#include <iostream>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "app/command_line.h"
#include "app/commands.h"

namespace accel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

std::vector<CommandOption> HealthOptions(HealthCheckConfig& c) {
  return {
      {"--host", "HOST", "ADDR", "address of the server (default 127.0.0.1; 0.0.0.0 and :: mean 127.0.0.1)",
       [&c](const std::string& v) -> Status {
         c.host = (v == "0.0.0.0" || v == "::" || v == "[::]") ? "127.0.0.1" : v;
         return Status::Ok();
       }},
      {"--port", "PORT", "N", "HTTP port of the server (default 8000)", IntValue("port", &c.port, 1, 65535)},
      {"--api-key", "API_KEY", "KEY",
       "sent as a Bearer token when set (needed under --open-observability false)", StringValue(&c.api_key)},
      {"--admin-key", "ADMIN_KEY", "KEY", "sent instead when no api key is set", StringValue(&c.admin_key)},
      {"--tls-cert", "TLS_CERT_FILE", "FILE",
       "the server's PEM certificate: speak TLS and accept only a server presenting it (default: plain "
       "HTTP)",
       StringValue(&c.tls_cert_file)},
      {"--client-cert", "", "FILE", "PEM client certificate, for servers run with --tls-client-ca",
       StringValue(&c.client_cert_file)},
      {"--client-key", "", "FILE", "PEM private key of --client-cert", StringValue(&c.client_key_file)},
      {"--timeout-ms", "", "MS", "give up after this long (default 3000)",
       IntValue("timeout_ms", &c.timeout_ms, 1, 600000)},
      {"--strict", "", "", "fail on \"degraded\" too (default: only \"unhealthy\" or no answer fails)",
       BoolValue("strict", &c.strict)},
  };
}

// The DER bytes of the first certificate in a PEM file; empty when there is none.
std::string FirstCertificateDer(const std::string& pem_file) {
  std::string der;
  FILE* file = std::fopen(pem_file.c_str(), "r");
  if (file == nullptr) return der;
  if (X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr)) {
    unsigned char* bytes = nullptr;
    const int n = i2d_X509(cert, &bytes);
    if (n > 0) der.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
    OPENSSL_free(bytes);
    X509_free(cert);
  }
  std::fclose(file);
  return der;
}

std::string PeerCertificateDer(SSL* ssl) {
  std::string der;
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    unsigned char* bytes = nullptr;
    const int n = i2d_X509(cert, &bytes);
    if (n > 0) der.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
    OPENSSL_free(bytes);
    X509_free(cert);
  }
  return der;
}

// GET /ai/health on a connected stream (TCP or TLS); fills `result` from the answer.
template <typename Stream>
void AskHealth(Stream& stream, const HealthCheckConfig& config, const std::string& where,
               HealthCheckResult& result) {
  http::request<http::empty_body> request(http::verb::get, "/ai/health", 11);
  request.set(http::field::host, config.host);
  request.set(http::field::user_agent, "accel-health");
  const std::string& key = config.api_key.empty() ? config.admin_key : config.api_key;
  if (!key.empty()) request.set(http::field::authorization, "Bearer " + key);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  http::read(stream, buffer, parser);
  const auto& response = parser.get();
  if (response.result_int() != 200) {
    result.detail = where + " answered HTTP " + std::to_string(response.result_int());
    if (response.result_int() == 401 || response.result_int() == 403)
      result.detail += " (set API_KEY, or run the server with --open-observability true)";
    return;
  }
  const auto json = nlohmann::json::parse(response.body(), nullptr, false);
  if (!json.is_object() || !json.contains("status") || !json["status"].is_string()) {
    result.detail = where + " answered without a \"status\" string";
    return;
  }
  result.status = json["status"].get<std::string>();
  result.passed = HealthStatusPasses(result.status, config.strict);
  result.detail = where + ": " + result.status;
}

}  // namespace

StatusOr<HealthCheckConfig> ParseHealthCheckConfig(const std::vector<std::string>& args) {
  HealthCheckConfig config;
  ACCEL_ASSIGN_OR_RETURN(auto positional, ParseCommandLine("health", HealthOptions(config), args, true));
  if (!positional.empty()) return InvalidArgument("unexpected argument '" + positional[0] + "'");
  return config;
}

std::string HealthCheckUsage() {
  HealthCheckConfig unused;
  return CommandUsage("health [options]",
                      "Asks a running `accel serve` for GET /ai/health. Exit status 0 when it answers "
                      "\"healthy\" (or\n\"degraded\", unless --strict), 1 otherwise: for container "
                      "HEALTHCHECKs and probes.\n",
                      HealthOptions(unused));
}

bool HealthStatusPasses(const std::string& status, bool strict) {
  return status == "healthy" || (status == "degraded" && !strict);
}

HealthCheckResult CheckHealth(const HealthCheckConfig& config) {
  HealthCheckResult result;
  const bool tls = !config.tls_cert_file.empty();
  const std::string where =
      (tls ? "https://" : "http://") + config.host + ":" + std::to_string(config.port) + "/ai/health";
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    // One deadline for the whole exchange: resolve is local (a name or an address literal), the connect,
    // handshake, write and read share the stream's expiry.
    const auto deadline = std::chrono::milliseconds(config.timeout_ms);
    if (!tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(deadline);
      stream.connect(resolver.resolve(config.host, std::to_string(config.port)));
      AskHealth(stream, config, where, result);
      beast::error_code ignored;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      return result;
    }
    const std::string pinned = FirstCertificateDer(config.tls_cert_file);
    if (pinned.empty()) {
      result.detail = where + ": no PEM certificate in " + config.tls_cert_file;
      return result;
    }
    ssl::context context(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    // The chain is not checked against a CA: the server must present exactly the pinned certificate, which
    // is compared after the handshake and before anything (the API key) is sent.
    context.set_verify_mode(ssl::verify_none);
    if (!config.client_cert_file.empty()) {
      context.use_certificate_chain_file(config.client_cert_file);
      context.use_private_key_file(
          config.client_key_file.empty() ? config.client_cert_file : config.client_key_file,
          ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    beast::get_lowest_layer(stream).expires_after(deadline);
    beast::get_lowest_layer(stream).connect(resolver.resolve(config.host, std::to_string(config.port)));
    stream.handshake(ssl::stream_base::client);
    if (PeerCertificateDer(stream.native_handle()) != pinned) {
      result.detail = where + ": the server's certificate is not the one in " + config.tls_cert_file;
      return result;
    }
    AskHealth(stream, config, where, result);
    beast::error_code ignored;
    stream.shutdown(ignored);
  } catch (const std::exception& e) {
    result.detail = where + ": " + e.what();
  }
  return result;
}

int RunHealthCommand(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << HealthCheckUsage();
      return 0;
    }
  auto config = ParseHealthCheckConfig(args);
  if (!config.ok()) {
    // 1, not the usual 2 for a bad command line: Docker reserves exit status 2 in a HEALTHCHECK.
    std::cerr << "accel health: " << config.status().message() << "\n";
    return 1;
  }
  const HealthCheckResult result = CheckHealth(*config);
  (result.passed ? std::cout : std::cerr) << result.detail << "\n";
  return result.passed ? 0 : 1;
}

}  // namespace accel
