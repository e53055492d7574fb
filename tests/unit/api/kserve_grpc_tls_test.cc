// KServeGrpcServer with Options::tls: the TCP port takes only gRPC over TLS (with a client CA: only clients
// with a certificate it signed), a Unix-socket address beside it stays plaintext, and bad files fail Start.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/kserve_grpc_server.h"
#include "grpc_service.grpc.pb.h"
#include "protocol_test_core.h"
#include "test_pki.h"

namespace accel {
namespace {

using testing::TestPki;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class KServeGrpcTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  void SetUp() override {
    auto engine = MakeTestCpuEngine();
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    Status started = core_.Start(std::move(engine).value());
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  Status StartServer(bool client_ca, std::vector<std::string> listen = {}) {
    KServeGrpcServer::Options options{"127.0.0.1", 0};
    options.listen_addresses = std::move(listen);
    options.tls = TlsFiles{pki_->server_cert, pki_->server_key_file, client_ca ? pki_->ca_cert : ""};
    server_ = std::make_unique<KServeGrpcServer>(core_.context(), core_.backend(), options);
    return server_->Start();
  }

  static std::shared_ptr<grpc::ChannelCredentials> Tls(bool with_client_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadText(pki_->ca_cert);
    if (with_client_cert) {
      ssl.pem_private_key = ReadText(pki_->client_key_file);
      ssl.pem_cert_chain = ReadText(pki_->client_cert);
    }
    return grpc::SslCredentials(ssl);
  }

  // ServerReady on `target`; the status says whether the call got through.
  grpc::Status Ready(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    // The certificate names 127.0.0.1 and localhost; a Unix-socket target has no host name to check.
    args.SetSslTargetNameOverride("localhost");
    auto stub =
        inference::GRPCInferenceService::NewStub(grpc::CreateCustomChannel(target, credentials, args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    inference::ServerReadyRequest request;
    inference::ServerReadyResponse response;
    grpc::Status status = stub->ServerReady(&context, request, &response);
    if (status.ok() && !response.ready()) return grpc::Status(grpc::StatusCode::INTERNAL, "server not ready");
    return status;
  }

  std::string Tcp() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  static std::unique_ptr<TestPki> pki_;
  ProtocolTestCore core_;
  std::unique_ptr<KServeGrpcServer> server_;
};

std::unique_ptr<TestPki> KServeGrpcTlsTest::pki_;

TEST_F(KServeGrpcTlsTest, TcpPortSpeaksOnlyTls) {
  ASSERT_TRUE(StartServer(false).ok());
  grpc::Status tls = Ready(Tcp(), Tls(false));
  EXPECT_TRUE(tls.ok()) << tls.error_message();
  grpc::Status plain = Ready(Tcp(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
  tls = Ready(Tcp(), Tls(false));
  EXPECT_TRUE(tls.ok()) << "after a plaintext client: " << tls.error_message();
}

TEST_F(KServeGrpcTlsTest, ClientCertificateRequiredWithAClientCa) {
  ASSERT_TRUE(StartServer(true).ok());
  EXPECT_FALSE(Ready(Tcp(), Tls(false)).ok());
  grpc::Status with_cert = Ready(Tcp(), Tls(true));
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
}

TEST_F(KServeGrpcTlsTest, UnixSocketStaysPlaintext) {
  const std::string socket = "unix:" + pki_->dir() + "/grpc.sock";
  ASSERT_TRUE(StartServer(true, {socket}).ok());
  grpc::Status over_unix = Ready(socket, grpc::InsecureChannelCredentials());
  EXPECT_TRUE(over_unix.ok()) << over_unix.error_message();
  EXPECT_FALSE(Ready(Tcp(), grpc::InsecureChannelCredentials()).ok());
}

TEST_F(KServeGrpcTlsTest, BadKeyFailsStartNamingTheFile) {
  KServeGrpcServer::Options options{"127.0.0.1", 0};
  options.tls = TlsFiles{pki_->server_cert, pki_->client_key_file, ""};
  server_ = std::make_unique<KServeGrpcServer>(core_.context(), core_.backend(), options);
  Status s = server_->Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(pki_->client_key_file), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace accel
