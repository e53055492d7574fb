#include "app/loadgen_command.h"

#include <atomic>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "api/http_server.h"
#include "api/multipart.h"
#include "test_pki.h"

namespace accel {
namespace {

// A fake inference server that checks what the bench sends: the multipart image or the base64 JSON must
// carry one of the known inputs byte for byte.
class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    server_ = std::make_unique<HttpServer>(
        options, [this](HttpRequest&& request, HttpResponder responder) { responder(Handle(request)); });
    ASSERT_TRUE(server_->Start().ok());
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  bool KnownInput(std::string_view data) const {
    return std::find(inputs_.begin(), inputs_.end(), data) != inputs_.end();
  }

  HttpResponse Handle(const HttpRequest& request) {
    ++seen_;
    if (fail_every_ > 0 && seen_ % fail_every_ == 0) return JsonErrorResponse(503, "busy");
    if (request.method != "POST") return JsonErrorResponse(405, "POST only");
    if (request.path == "/v1/vision/detection") {
      auto parts = ParseMultipart(request.body, request.Header("Content-Type"));
      if (!parts.ok()) return JsonErrorResponse(parts.status());
      const MultipartPart* image = FindPart(*parts, "image");
      if (!image || !KnownInput(image->data)) return JsonErrorResponse(400, "bad image part");
      HttpResponse response;
      response.body = R"({"success": true, "predictions": []})";
      return response;
    }
    if (request.path == "/ai/infer") {
      auto json = nlohmann::json::parse(request.body, nullptr, false);
      if (!json.is_object() || !json.contains("image_base64")) return JsonErrorResponse(400, "bad json");
      auto bytes = Base64Decode(json["image_base64"].get<std::string>());
      if (!bytes.ok()) return JsonErrorResponse(bytes.status());
      if (!KnownInput(std::string(bytes->begin(), bytes->end()))) return JsonErrorResponse(400, "bad image");
      if (json.value("model", "") != "yolox-nano") return JsonErrorResponse(404, "unknown model");
      HttpResponse response;
      response.body = R"({"success": true})";
      return response;
    }
    return JsonErrorResponse(404, "no route");
  }

  BenchConfig Config() {
    BenchConfig config;
    config.url = url_;
    config.inputs = inputs_;
    config.duration_s = 0.6;
    config.progress = false;
    return config;
  }

  std::vector<std::string> inputs_ = {std::string("\xff\xd8\xff\xe0 fake jpeg one\r\n--x\0\x01", 22),
                                      "second fake image"};
  std::unique_ptr<HttpServer> server_;
  std::string url_;
  std::atomic<int> seen_{0};
  int fail_every_ = 0;
};

TEST_F(BenchTest, DeepStackClosedLoop) {
  BenchConfig config = Config();
  config.api = "deepstack";
  config.concurrency = 3;
  BenchStepResult r = RunBenchStep(config);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_GT(r.ok, 10u);
  EXPECT_EQ(r.errors, 0u) << r.first_error;
  EXPECT_EQ(r.codes[200], r.ok);
  EXPECT_GT(r.throughput_rps, 0);
  EXPECT_GT(r.latency_p50_ms, 0);
  EXPECT_LE(r.latency_p50_ms, r.latency_p90_ms);
  EXPECT_LE(r.latency_p90_ms, r.latency_p99_ms);
  EXPECT_LE(r.latency_p99_ms, r.latency_max_ms);
  EXPECT_EQ(r.concurrency, 3);
}

TEST_F(BenchTest, AiApiWithModel) {
  BenchConfig config = Config();
  config.api = "ai";
  config.model = "yolox-nano";
  BenchStepResult r = RunBenchStep(config);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_GT(r.ok, 10u);
  EXPECT_EQ(r.errors, 0u) << r.first_error;

  config.model = "other";  // the fake server answers 404: every request is an error, counted by status
  BenchStepResult bad = RunBenchStep(config);
  EXPECT_EQ(bad.ok, 0u);
  EXPECT_GT(bad.codes[404], 0u);
  EXPECT_NE(bad.first_error.find("unknown model"), std::string::npos) << bad.first_error;
}

TEST_F(BenchTest, ErrorsCountedByStatus) {
  fail_every_ = 4;
  BenchConfig config = Config();
  config.concurrency = 2;
  BenchStepResult r = RunBenchStep(config);
  ASSERT_TRUE(r.status.ok());
  EXPECT_GT(r.codes[503], 0u);
  EXPECT_EQ(r.codes[503], r.errors);
  EXPECT_GT(r.ok, r.errors);
  EXPECT_EQ(r.requests, r.ok + r.errors);
}

TEST_F(BenchTest, OpenLoopHoldsTheRate) {
  BenchConfig config = Config();
  config.rate = 200;
  config.concurrency = 4;
  config.duration_s = 1.0;
  config.warmup_s = 0.2;
  BenchStepResult r = RunBenchStep(config);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.errors, 0u) << r.first_error;
  // 200 requests are due in the window; allow for scheduling noise on a loaded machine.
  EXPECT_GE(r.ok, 170u);
  EXPECT_LE(r.ok, 215u);
}

TEST_F(BenchTest, DeadServerGivesTransportErrors) {
  BenchConfig config = Config();
  int port = server_->port();
  server_->Stop();
  config.url = "http://127.0.0.1:" + std::to_string(port);
  config.duration_s = 0.3;
  BenchStepResult r = RunBenchStep(config);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.ok, 0u);
  EXPECT_GT(r.codes[0], 0u);
  EXPECT_FALSE(r.first_error.empty());
}

TEST(BenchConfigTest, BadSetupIsAStatus) {
  BenchConfig config;
  config.url = "https://example.org";
  EXPECT_FALSE(RunBenchStep(config).status.ok());
  config.url = "http://127.0.0.1:1";
  config.images = {"/nonexistent/image.jpg"};
  BenchStepResult r = RunBenchStep(config);
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  config.images.clear();
  config.api = "grpc-someday";
  config.inputs = {"x"};
  EXPECT_EQ(RunBenchStep(config).status.code(), StatusCode::kInvalidArgument);
}

TEST(BenchConfigTest, ParseUrl) {
  auto t = ParseBenchUrl("http://localhost:32168/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "localhost");
  EXPECT_EQ(t->port, 32168);
  EXPECT_EQ(t->base_path, "");
  t = ParseBenchUrl("http://[::1]:8000/prefix/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->base_path, "/prefix");
  t = ParseBenchUrl("http://example.org");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 80);
  EXPECT_FALSE(ParseBenchUrl("ftp://x").ok());
  EXPECT_FALSE(ParseBenchUrl("http://:80").ok());
  EXPECT_FALSE(ParseBenchUrl("http://h:99999").ok());
  EXPECT_FALSE(ParseBenchUrl("http://h:8x").ok());
  EXPECT_FALSE(t->tls);
  t = ParseBenchUrl("https://example.org/p");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->tls);
  EXPECT_EQ(t->port, 443);
  EXPECT_EQ(t->base_path, "/p");
  t = ParseBenchUrl("https://127.0.0.1:8443");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 8443);
  EXPECT_FALSE(ParseBenchUrl("httpss://x").ok());
}

// https:// against an HttpServer with TLS: requests succeed when the bench trusts the server's CA, and fail
// as transport errors when it does not (the system's CAs know nothing of the test CA) or speaks plaintext.
TEST(BenchTlsTest, HttpsNeedsTheServersCa) {
  testing::TestPki pki;
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.tls = TlsFiles{pki.server_cert, pki.server_key_file, ""};
  HttpServer server(options, [](HttpRequest&&, HttpResponder responder) {
    HttpResponse response;
    response.body = R"({"success": true})";
    responder(std::move(response));
  });
  ASSERT_TRUE(server.Start().ok());
  const std::string address = "127.0.0.1:" + std::to_string(server.port());

  BenchConfig config;
  config.api = "ai";
  config.inputs = {"image"};
  config.warmup_s = 0.5;  // the handshake happens here, so a slow machine still completes requests below
  config.duration_s = 0.3;
  config.timeout_s = 5;
  config.progress = false;
  config.url = "https://" + address;
  config.protocol_options.tls.ca_file = pki.ca_cert;
  BenchStepResult trusted = RunBenchStep(config);
  ASSERT_TRUE(trusted.status.ok()) << trusted.status.ToString();
  EXPECT_GT(trusted.ok, 0u) << trusted.first_error;
  EXPECT_EQ(trusted.errors, 0u) << trusted.first_error;

  // One request each through a client, so that the outcome does not depend on the measuring window.
  auto protocol = MakeBenchProtocol("ai", "yolox-nano");
  ASSERT_TRUE(protocol.ok());
  ASSERT_TRUE((*protocol)->Prepare({"image"}).ok());
  auto send_once = [&](const std::string& url, const std::string& ca_file) {
    auto target = ParseBenchUrl(url);
    EXPECT_TRUE(target.ok());
    target->tls_files.ca_file = ca_file;
    return (*protocol)->NewClient(*target, 5)->Send(0);
  };
  BenchOutcome trusted_once = send_once("https://" + address, pki.ca_cert);
  EXPECT_TRUE(trusted_once.ok) << trusted_once.error;
  BenchOutcome untrusted = send_once("https://" + address, "");
  EXPECT_FALSE(untrusted.ok);
  EXPECT_EQ(untrusted.code, 0) << "expected a transport error";
  EXPECT_NE(untrusted.error.find("certificate verify failed"), std::string::npos) << untrusted.error;
  BenchOutcome plaintext = send_once("http://" + address, "");
  EXPECT_FALSE(plaintext.ok);
  EXPECT_EQ(plaintext.code, 0) << plaintext.error;

  config.protocol_options.tls.ca_file = pki.dir() + "/missing.pem";
  EXPECT_EQ(RunBenchStep(config).status.code(), StatusCode::kInvalidArgument);
}

TEST(BenchCommandTest, UsageErrors) {
  auto run = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return RunBenchCommand(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_EQ(run({"bench", "--help"}), 0);
  EXPECT_EQ(run({"bench", "--bogus"}), 2);
  EXPECT_EQ(run({"bench", "--concurrency", "0", "--image", "x"}), 2);
  EXPECT_EQ(run({"bench", "--concurrency-range", "4:2", "--image", "x"}), 2);
  EXPECT_EQ(run({"bench", "--rate"}), 2);
  EXPECT_EQ(run({"bench"}), 2);  // no image
  EXPECT_EQ(run({"bench", "--image", "/nonexistent.jpg"}), 2);
}

}  // namespace
}  // namespace accel
