#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>

#include "app/app_config.h"
#include "core/strings.h"
#include "engines/cpu/cpu_engine.h"
#include "engines/hailo/hailo_options.h"

namespace accel {
namespace {

TEST(ServeConfigTest, FlagsOverrideEnvironment) {
  setenv("DEFAULT_ENGINE", "cpu", 1);
  setenv("LOAD_BALANCING", "false", 1);
  auto config = ParseServeConfig(
      {"--port", "9000", "--default-engine=hailo", "--sim-device", "name=a", "--sim-device", "name=b"});
  unsetenv("DEFAULT_ENGINE");
  unsetenv("LOAD_BALANCING");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->port, 9000);
  EXPECT_EQ(config->default_engine, "hailo");
  EXPECT_FALSE(config->load_balancing);
  EXPECT_EQ(config->sim_devices.size(), 2u);
}

TEST(ServeConfigTest, BadValuesAreErrorsNamingTheOption) {
  auto bad_port = ParseServeConfig({"--port", "http"});
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.status().message().find("--port"), std::string::npos);
  EXPECT_FALSE(ParseServeConfig({"--port", "70000"}).ok());
  EXPECT_FALSE(ParseServeConfig({"--no-such-flag"}).ok());
  EXPECT_FALSE(ParseServeConfig({"--models"}).ok());
  setenv("SUPPORT_HAILO", "maybe", 1);
  auto bad_env = ParseServeConfig({});
  unsetenv("SUPPORT_HAILO");
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("SUPPORT_HAILO"), std::string::npos);
}

TEST(ServeConfigTest, DeepStackCapAndZmqUploads) {
  auto defaults = ParseServeConfig({});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->deepstack_max_predictions, 20);  // Frigate's deepstack plugin has 20 rows
  EXPECT_EQ(defaults->zmq_accept_models, "");          // uploads off unless asked for
  setenv("DEEPSTACK_MAX_PREDICTIONS", "0", 1);
  setenv("ZMQ_ACCEPT_MODELS", "/var/lib/accel/uploads", 1);
  auto from_env = ParseServeConfig({});
  unsetenv("DEEPSTACK_MAX_PREDICTIONS");
  unsetenv("ZMQ_ACCEPT_MODELS");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->deepstack_max_predictions, 0);
  EXPECT_EQ(from_env->zmq_accept_models, "/var/lib/accel/uploads");
  auto flag = ParseServeConfig({"--deepstack-max-predictions", "5"});
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->deepstack_max_predictions, 5);
  EXPECT_FALSE(ParseServeConfig({"--deepstack-max-predictions", "-1"}).ok());
  EXPECT_FALSE(ParseServeConfig({"--deepstack-max-predictions", "many"}).ok());
}

TEST(ServeConfigTest, TlsNeedsCertificateAndKeyTogether) {
  auto on = ParseServeConfig({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem"});
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_EQ(on->tls_cert_file, "c.pem");
  EXPECT_EQ(on->tls_key_file, "k.pem");
  EXPECT_EQ(on->tls_client_ca_file, "ca.pem");
  setenv("TLS_KEY_FILE", "env.key", 1);
  auto env = ParseServeConfig({"--tls-cert", "c.pem"});
  unsetenv("TLS_KEY_FILE");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->tls_key_file, "env.key");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--tls-cert", "c.pem"}, {"--tls-key", "k.pem"}, {"--tls-client-ca", "ca.pem"}}) {
    auto bad = ParseServeConfig(args);
    ASSERT_FALSE(bad.ok()) << args[0];
    EXPECT_NE(bad.status().message().find("--tls-"), std::string::npos) << bad.status().ToString();
  }
  EXPECT_TRUE(ParseServeConfig({}).ok());
}

TEST(ServeConfigTest, UsageDocumentsEveryEnvironmentVariable) {
  const std::string usage = ServeUsage();
  for (const char* env : {"DEFAULT_ENGINE", "FALLBACK_ENGINE", "SUPPORT_HAILO", "SUPPORT_NVIDIA", "LOG_LEVEL",
                          "DEBUG", "LOAD_BALANCING", "ROUND_ROBIN", "HAILO_BATCH_SIZE", "DEVICE_PRIORITY",
                          "DEEPSTACK_MAX_PREDICTIONS", "ZMQ_ACCEPT_MODELS"})
    EXPECT_NE(usage.find(env), std::string::npos) << env;
}

TEST(ServeConfigTest, EngineOptionsComeFromTheEnginesSpecs) {
  setenv("CPU_THREADS", "3", 1);
  setenv("SUPPORT_NVIDIA", "false", 1);
  auto config = ParseServeConfig({"--hailo-threads", "4", "--support-sim=false"});
  unsetenv("CPU_THREADS");
  unsetenv("SUPPORT_NVIDIA");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->engine_options["cpu"].Get("threads"), "3");
  EXPECT_EQ(config->engine_options["hailo"].Get("threads"), "4");
  EXPECT_FALSE(config->engine_enabled.at("nvidia"));
  EXPECT_FALSE(config->engine_enabled.at("sim"));
  EXPECT_EQ(config->engine_enabled.count("cpu"), 0u);  // not given: enabled
  // Only what was given reaches the factories; their defaults stay theirs.
  EXPECT_EQ(config->engine_options["cpu"].values.size(), 1u);
}

TEST(ServeConfigTest, BadEngineOptionFailsNamingTheOption) {
  auto bad = ParseServeConfig({"--cpu-threads", "x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--cpu-threads"), std::string::npos) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("cpu.threads"), std::string::npos) << bad.status().ToString();
  EXPECT_FALSE(ParseServeConfig({"--cpu-threads", "2000"}).ok());  // out of the spec's range
  setenv("HAILO_BATCH_SIZE", "-1", 1);
  auto bad_env = ParseServeConfig({});
  unsetenv("HAILO_BATCH_SIZE");
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("HAILO_BATCH_SIZE"), std::string::npos);
}

TEST(ServeConfigTest, OnlyRegisteredKindsHaveOptions) {
  const std::vector<EngineKindOptions> kinds = {{"cpu", MakeCpuEngineFactory()->OptionSpecs()}};
  EXPECT_TRUE(ParseServeConfig({"--cpu-threads", "2", "--support-cpu", "true"}, kinds).ok());
  EXPECT_FALSE(ParseServeConfig({"--hailo-batch-size", "4"}, kinds).ok());
  EXPECT_FALSE(ParseServeConfig({"--support-hailo", "false"}, kinds).ok());
  EXPECT_FALSE(ParseServeConfig({"--tpu-threads", "2"}).ok());     // no such kind in this binary
  EXPECT_FALSE(ParseServeConfig({"--cpu-batch-size", "2"}).ok());  // no such option of the cpu engine
  const std::string usage = ServeUsage(kinds);
  EXPECT_NE(usage.find("--cpu-threads"), std::string::npos);
  EXPECT_EQ(usage.find("HAILO_"), std::string::npos);
}

// The hailo engine cannot run here; what it would be given is checked through its SDK-free options.
TEST(ServeConfigTest, HailoBatchSizeReachesTheHailoFactory) {
  auto config = ParseServeConfig({"--hailo-batch-size", "8", "--hailo-scheduler-priority=20"});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto options = ParseHailoOptions(config->engine_options["hailo"]);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->batch_size, 8);
  EXPECT_EQ(options->scheduler_priority, 20);
  EXPECT_EQ(options->threads, 2);  // the engine's default
  EXPECT_FALSE(ParseServeConfig({"--hailo-batch-size", "2000"}).ok());
}

TEST(ServeConfigTest, UsageListsEngineOptionsWithHelpAndEnvironment) {
  // Help is word-wrapped; compare with every run of blanks as one space.
  std::string usage;
  for (char c : ServeUsage()) {
    const bool blank = c == ' ' || c == '\n';
    if (!blank || (!usage.empty() && usage.back() != ' ')) usage += blank ? ' ' : c;
  }
  for (const auto& kind : BuiltinEngineOptions()) {
    EXPECT_NE(usage.find("--support-" + kind.kind), std::string::npos) << kind.kind;
    for (const auto& spec : kind.specs) {
      std::string env = kind.kind + "_" + spec.key;
      for (char& c : env) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_NE(usage.find("[env " + env + "]"), std::string::npos) << env;
      EXPECT_NE(usage.find(spec.help), std::string::npos) << env;
    }
  }
  EXPECT_NE(usage.find("--cpu-threads N"), std::string::npos);
  EXPECT_NE(usage.find("--hailo-batch-size N"), std::string::npos);
  EXPECT_NE(usage.find("CPU_THREADS"), std::string::npos);
  EXPECT_NE(usage.find("HAILO_THREADS"), std::string::npos);
}

TEST(CpuEngineOptionsTest, CreateRefusesABadValueNamingKindAndKey) {
  auto factory = MakeCpuEngineFactory();
  auto probe = factory->Probe();
  ASSERT_FALSE(probe.devices.empty());
  EngineOptions bad;
  bad.values["threads"] = "many";
  auto engine = factory->Create(probe.devices[0], bad);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(engine.status().message().find("cpu.threads"), std::string::npos) << engine.status().ToString();
  EngineOptions unknown;
  unknown.values["streams"] = "2";
  EXPECT_FALSE(factory->Create(probe.devices[0], unknown).ok());
}

TEST(StringsTest, SplitAndBool) {
  EXPECT_EQ(SplitList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(*ParseBool("Yes"));
  EXPECT_FALSE(*ParseBool("off"));
  EXPECT_FALSE(ParseBool("2").ok());
}

}  // namespace
}  // namespace accel
