#include "app/health_command.h"

#include <cstdlib>
#include <memory>
#include <mutex>

#include <gtest/gtest.h>

#include "api/http_server.h"

namespace accel {
namespace {

// A stand-in server whose /ai/health answers what the test sets, and which records the Authorization
// header it was sent.
class HealthCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    server_ = std::make_unique<HttpServer>(options, [this](HttpRequest&& request, HttpResponder respond) {
      std::lock_guard lock(mutex_);
      authorization_ = std::string(request.Header("Authorization"));
      if (request.path != "/ai/health") return respond(JsonErrorResponse(404, "no route"));
      HttpResponse response;
      response.status = status_code_;
      response.body = body_;
      respond(std::move(response));
    });
    ASSERT_TRUE(server_->Start().ok());
  }

  HealthCheckConfig Config() const {
    HealthCheckConfig config;
    config.port = server_->port();
    config.timeout_ms = 5000;
    return config;
  }

  void Answer(int status_code, std::string body) {
    std::lock_guard lock(mutex_);
    status_code_ = status_code;
    body_ = std::move(body);
  }

  std::string authorization() {
    std::lock_guard lock(mutex_);
    return authorization_;
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex mutex_;
  int status_code_ = 200;
  std::string body_;
  std::string authorization_;
};

TEST_F(HealthCommandTest, HealthyPasses) {
  Answer(200, R"({"status": "healthy", "devices": []})");
  const HealthCheckResult result = CheckHealth(Config());
  EXPECT_TRUE(result.passed) << result.detail;
  EXPECT_EQ(result.status, "healthy");
  EXPECT_EQ(authorization(), "");
}

TEST_F(HealthCommandTest, DegradedPassesUnlessStrict) {
  Answer(200, R"({"status": "degraded"})");
  EXPECT_TRUE(CheckHealth(Config()).passed);
  HealthCheckConfig strict = Config();
  strict.strict = true;
  const HealthCheckResult result = CheckHealth(strict);
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.status, "degraded");
}

TEST_F(HealthCommandTest, UnhealthyFails) {
  Answer(200, R"({"status": "unhealthy"})");
  const HealthCheckResult result = CheckHealth(Config());
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.detail.find("unhealthy"), std::string::npos) << result.detail;
}

TEST_F(HealthCommandTest, ErrorStatusAndBadBodiesFail) {
  Answer(401, R"({"success": false, "error": "key required"})");
  HealthCheckResult result = CheckHealth(Config());
  EXPECT_FALSE(result.passed);
  EXPECT_NE(result.detail.find("401"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("API_KEY"), std::string::npos) << result.detail;

  Answer(200, "not json");
  EXPECT_FALSE(CheckHealth(Config()).passed);
  Answer(200, R"({"status": 1})");
  EXPECT_FALSE(CheckHealth(Config()).passed);
}

TEST_F(HealthCommandTest, SendsTheApiKeyElseTheAdminKey) {
  Answer(200, R"({"status": "healthy"})");
  HealthCheckConfig config = Config();
  config.admin_key = "admin-secret";
  ASSERT_TRUE(CheckHealth(config).passed);
  EXPECT_EQ(authorization(), "Bearer admin-secret");
  config.api_key = "api-secret";
  ASSERT_TRUE(CheckHealth(config).passed);
  EXPECT_EQ(authorization(), "Bearer api-secret");
}

TEST_F(HealthCommandTest, NoServerFails) {
  HealthCheckConfig config = Config();
  server_->Stop();
  const HealthCheckResult result = CheckHealth(config);
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.status, "");
  EXPECT_FALSE(result.detail.empty());
}

TEST(HealthCommandConfigTest, ReadsTheServeEnvironmentAndFlagsWin) {
  setenv("PORT", "9123", 1);
  setenv("HOST", "0.0.0.0", 1);
  setenv("API_KEY", "from-env", 1);
  auto config = ParseHealthCheckConfig({});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->port, 9123);
  EXPECT_EQ(config->host, "127.0.0.1");  // a wildcard listen address is reached on loopback
  EXPECT_EQ(config->api_key, "from-env");
  EXPECT_FALSE(config->strict);

  config = ParseHealthCheckConfig({"--port", "8100", "--host", "::", "--strict"});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->port, 8100);
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_TRUE(config->strict);
  unsetenv("PORT");
  unsetenv("HOST");
  unsetenv("API_KEY");

  EXPECT_FALSE(ParseHealthCheckConfig({"--port", "0"}).ok());
  EXPECT_FALSE(ParseHealthCheckConfig({"--bogus"}).ok());
  EXPECT_FALSE(ParseHealthCheckConfig({"extra"}).ok());
}

TEST(HealthCommandConfigTest, StatusRule) {
  EXPECT_TRUE(HealthStatusPasses("healthy", true));
  EXPECT_TRUE(HealthStatusPasses("degraded", false));
  EXPECT_FALSE(HealthStatusPasses("degraded", true));
  EXPECT_FALSE(HealthStatusPasses("unhealthy", false));
  EXPECT_FALSE(HealthStatusPasses("", false));
}

}  // namespace
}  // namespace accel
