#include "app/app_config.h"

#include "app/command_line.h"
#include "core/numbers.h"
#include "core/strings.h"

#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

namespace accel {
namespace {

// Int64Value (app/command_line.h) into a field of any integer type.
#define ACCEL_INT_OPTION(field, lo, hi)                       \
  [&c](const std::string& v) -> Status {                      \
    int64_t n = 0;                                            \
    ACCEL_RETURN_IF_ERROR(Int64Value(#field, &n, lo, hi)(v)); \
    c.field = static_cast<decltype(c.field)>(n);              \
    return Status::Ok();                                      \
  }
#define ACCEL_BOOL_OPTION(field) BoolValue(#field, &c.field)
#define ACCEL_STRING_OPTION(field) StringValue(&c.field)

std::string Upper(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return text;
}

std::string DashesFor(std::string text) {
  for (char& ch : text)
    if (ch == '_') ch = '-';
  return text;
}

// --support-<kind> and one option per spec of each kind, applying to `c`. Values are checked against the
// spec here, so a bad one is reported with its flag before anything starts; the factory checks again.
void AddEngineOptions(ServeConfig& c, const std::vector<EngineKindOptions>& kinds,
                      std::vector<CommandOption>& out) {
  for (const EngineKindOptions& k : kinds) {
    const std::string kind = k.kind;
    out.push_back({"--support-" + DashesFor(kind), "SUPPORT_" + Upper(kind), "BOOL",
                   "enable the " + kind + " engine (default true)",
                   [&c, kind](const std::string& v) -> Status {
                     auto on = ParseBool(v);
                     if (!on.ok()) return on.status().WithContext("support_" + kind);
                     c.engine_enabled[kind] = *on;
                     return Status::Ok();
                   }});
    for (const EngineOptionSpec& spec : k.specs) {
      std::string help = spec.help;
      if (spec.type == EngineOptionType::kInt) {
        help += " (" + std::to_string(spec.min) + ".." + std::to_string(spec.max) +
                (spec.default_value.empty() ? "" : ", default " + spec.default_value) + ")";
      } else if (!spec.default_value.empty()) {
        help += " (default " + spec.default_value + ")";
      }
      out.push_back({"--" + DashesFor(kind + "-" + spec.key), Upper(kind + "_" + spec.key),
                     std::string(EngineOptionValueName(spec)), help,
                     [&c, kind, spec](const std::string& v) -> Status {
                       ACCEL_RETURN_IF_ERROR(CheckEngineOptionValue(kind, spec, v));
                       c.engine_options[kind].values[spec.key] = v;
                       return Status::Ok();
                     }});
    }
  }
}

// The options of `accel serve`, applying to `c`.
std::vector<CommandOption> ServeOptions(ServeConfig& c, const std::vector<EngineKindOptions>& kinds) {
  std::string kind_names = "auto";
  for (const EngineKindOptions& k : kinds) kind_names += "|" + k.kind;
  std::vector<CommandOption> options = {
      {"--host", "HOST", "ADDR", "address to listen on (default 0.0.0.0)", ACCEL_STRING_OPTION(host)},
      {"--port", "PORT", "N", "HTTP port (default 8000; 0 picks a free port)",
       ACCEL_INT_OPTION(port, 0, 65535)},
      {"--port-file", "", "PATH", "write the bound HTTP port to PATH once listening",
       ACCEL_STRING_OPTION(port_file)},
      {"--io-threads", "IO_THREADS", "N", "HTTP I/O threads (default: one per core)",
       ACCEL_INT_OPTION(io_threads, 0, 256)},
      {"--grpc-port", "GRPC_PORT", "N", "KServe v2 gRPC port (default 8001; -1 disables)",
       ACCEL_INT_OPTION(grpc_port, -1, 65535)},
      {"--grpc-listen", "GRPC_LISTEN", "ADDR",
       "extra gRPC listening address besides --grpc-port, e.g. unix:/run/accel/grpc.sock (default: none)",
       ACCEL_STRING_OPTION(grpc_listen)},
      {"--grpc-shared-memory", "GRPC_SHARED_MEMORY", "BOOL",
       "allow KServe system shared memory on gRPC (default false; lets clients make the server map and write "
       "POSIX shm objects: trusted same-host clients only, see docs/kserve.md)",
       ACCEL_BOOL_OPTION(grpc_shared_memory)},
      {"--grpc-shm-max-regions", "GRPC_SHM_MAX_REGIONS", "N",
       "shared memory regions registered at most, all clients together (default 64)",
       ACCEL_INT_OPTION(grpc_shm_max_regions, 1, 100000)},
      {"--grpc-shm-max-mb", "GRPC_SHM_MAX_MB", "MB",
       "total size of the registered shared memory regions at most (default 1024)",
       ACCEL_INT_OPTION(grpc_shm_max_mb, 1, 1 << 20)},
      {"--grpc-socket-mode", "GRPC_SOCKET_MODE", "MODE",
       "permissions of the --grpc-listen unix: socket file: 0600 (owner only, default) or 0660 (and group)",
       [&c](const std::string& v) -> Status {
         if (v != "0600" && v != "600" && v != "0660" && v != "660")
           return InvalidArgument("grpc_socket_mode must be 0600 or 0660");
         c.grpc_socket_mode = v == "0660" || v == "660" ? 0660 : 0600;
         return Status::Ok();
       }},
      {"--zmq-endpoint", "ZMQ_ENDPOINT", "URL",
       "Frigate zmq detector endpoint (default tcp://0.0.0.0:5555; empty disables)",
       ACCEL_STRING_OPTION(zmq_endpoint)},
      {"--grpc-port-file", "", "PATH", "write the bound gRPC port to PATH once listening",
       ACCEL_STRING_OPTION(grpc_port_file)},
      {"--zmq-labelmap", "ZMQ_LABELMAP", "PATH",
       "Frigate label map file whose ids the zmq detector reports (default: the model's own class ids)",
       ACCEL_STRING_OPTION(zmq_labelmap)},
      {"--zmq-timeout-ms", "ZMQ_TIMEOUT_MS", "MS",
       "zmq requests not computed within this are dropped: the client gave up (default 200, Frigate's "
       "timeout)",
       ACCEL_INT_OPTION(zmq_timeout_ms, 1, 3600000)},
      {"--zmq-max-message-mb", "ZMQ_MAX_MESSAGE_MB", "MB",
       "largest zmq message frame accepted; a larger one disconnects its sender (default 32)",
       ACCEL_INT_OPTION(zmq_max_message_mb, 1, 4096)},
      {"--zmq-pixel-format", "ZMQ_PIXEL_FORMAT", "FMT", "pixel order of zmq tensors: rgb (default) or bgr",
       [&c](const std::string& v) -> Status {
         if (v != "rgb" && v != "bgr") return InvalidArgument("zmq_pixel_format must be rgb or bgr");
         c.zmq_pixel_format = v;
         return Status::Ok();
       }},
      {"--zmq-accept-models", "ZMQ_ACCEPT_MODELS", "DIR",
       "accept Frigate's zmq model uploads (ONNX only, at most --zmq-max-message-mb each) into DIR and load "
       "them; any zmq client can then make the server run a model it sends (default: uploads refused)",
       ACCEL_STRING_OPTION(zmq_accept_models)},
      {"--deepstack-max-predictions", "DEEPSTACK_MAX_PREDICTIONS", "N",
       "predictions per /v1/vision/* response, highest confidence first, unless the request sets "
       "max_results (default 20: Frigate's deepstack detector fails on more; 0: no limit)",
       ACCEL_INT_OPTION(deepstack_max_predictions, 0, 1000)},
      {"--zmq-allow", "ZMQ_ALLOW", "LIST",
       "zmq peers allowed to connect: IPv4/IPv6 addresses and CIDR blocks, e.g. 192.168.1.0/24,::1 (default: "
       "any; tcp:// endpoints only)",
       ACCEL_STRING_OPTION(zmq_allow)},
      {"--zmq-curve-secret-key", "ZMQ_CURVE_SECRET_KEY_FILE", "FILE",
       "make the zmq endpoint a CURVE server with the Z85 secret key in FILE (accel keygen --zmq); needs "
       "--zmq-curve-authorized-keys",
       ACCEL_STRING_OPTION(zmq_curve_secret_key_file)},
      {"--zmq-curve-authorized-keys", "ZMQ_CURVE_AUTHORIZED_KEYS_FILE", "FILE",
       "Z85 public keys of the zmq CURVE clients accepted, one per line",
       ACCEL_STRING_OPTION(zmq_curve_authorized_keys_file)},
      {"--models", "MODELS_DIR", "DIR", "model repository (default ./models)",
       ACCEL_STRING_OPTION(models_dir)},
      {"--default-model", "DEFAULT_MODEL", "NAME",
       "model used when a request names none (default yolox-nano)", ACCEL_STRING_OPTION(default_model)},
      {"--default-engine", "DEFAULT_ENGINE", "KIND", "engine used when a request names none: " + kind_names,
       ACCEL_STRING_OPTION(default_engine)},
      {"--fallback-engine", "FALLBACK_ENGINE", "KIND",
       "engine used when the requested kind has no ready device (default: none, answer 503)",
       ACCEL_STRING_OPTION(fallback_engine)},
      {"--engines", "ENGINES", "LIST",
       "engine kinds to enable, e.g. cpu,sim (default: all built that find a device)",
       [&c](const std::string& v) -> Status {
         c.engines = SplitList(v);
         return Status::Ok();
       }},
      {"--torch-cpu-device", "TORCH_CPU_DEVICE", "BOOL",
       "expose the nvidia engine's CPU test mode as a device (tests only; it is not a GPU)",
       ACCEL_BOOL_OPTION(torch_cpu_device)},
      {"--sim-device", "", "SPEC",
       "add a SIMULATED device, repeatable: name=a,kind=hailo,ms=4,per_item_ms=0.5,max_batch=8,in_flight=1"
       "[,fail_after=N,fail_rate=P,hang_after=N,recover_after_ms=T]",
       [&c](const std::string& v) -> Status {
         c.sim_devices.push_back(v);
         return Status::Ok();
       }},
      {"--load-balancing", "LOAD_BALANCING", "BOOL",
       "spread load over devices (default true); false sends everything to the single best device",
       ACCEL_BOOL_OPTION(load_balancing)},
      {"--round-robin", "ROUND_ROBIN", "BOOL", "strict round robin instead of the cost model (default false)",
       ACCEL_BOOL_OPTION(round_robin)},
      {"--device-priority", "DEVICE_PRIORITY", "LIST",
       "device ids or kinds in order of preference, e.g. hailo,nvidia,cpu",
       [&c](const std::string& v) -> Status {
         c.device_priority = SplitList(v);
         return Status::Ok();
       }},
      {"--queue-capacity", "QUEUE_CAPACITY", "N", "requests queued per device before 503 (default 64)",
       ACCEL_INT_OPTION(queue_capacity, 1, 100000)},
      {"--execution-timeout-ms", "EXECUTION_TIMEOUT_MS", "MS",
       "a batch not finished by then counts as failed and is retried elsewhere (default 5000)",
       ACCEL_INT_OPTION(execution_timeout_ms, 1, 3600000)},
      {"--max-body-mb", "MAX_BODY_MB", "MB", "largest request body accepted, 413 above (default 32)",
       [&c](const std::string& v) -> Status {
         int64_t n = 0;
         ACCEL_RETURN_IF_ERROR(Int64Value("max_body_mb", &n, 1, 4096)(v));
         c.max_body_bytes = static_cast<size_t>(n) << 20;
         return Status::Ok();
       }},
      {"--max-connections", "MAX_CONNECTIONS", "N",
       "HTTP connections beyond this get 503 and are closed (default: the open-file limit less 256)",
       ACCEL_INT_OPTION(max_connections, 0, 1000000)},
      {"--header-timeout-s", "HEADER_TIMEOUT_S", "S",
       "a request's headers must arrive within this; also the keep-alive idle time (default 10)",
       ACCEL_INT_OPTION(header_timeout_s, 1, 3600)},
      {"--drain-timeout-s", "DRAIN_TIMEOUT_S", "S",
       "on SIGTERM/SIGINT: not ready at once, no new connections, requests in flight get this long to "
       "finish, then exit 0; a second signal exits at once; 0: stop at once (default 15)",
       ACCEL_INT_OPTION(drain_timeout_s, 0, 3600)},
      {"--tls-cert", "TLS_CERT_FILE", "FILE",
       "serve HTTP and gRPC over TLS with this PEM certificate chain (needs --tls-key; default: plaintext)",
       ACCEL_STRING_OPTION(tls_cert_file)},
      {"--tls-key", "TLS_KEY_FILE", "FILE", "PEM private key of --tls-cert",
       ACCEL_STRING_OPTION(tls_key_file)},
      {"--tls-client-ca", "TLS_CLIENT_CA_FILE", "FILE",
       "require client certificates signed by this PEM CA on TLS connections (default: none asked)",
       ACCEL_STRING_OPTION(tls_client_ca_file)},
      {"--max-image-pixels", "MAX_IMAGE_PIXELS", "N", "largest decoded image, 413 above (default 40000000)",
       ACCEL_INT_OPTION(max_image_pixels, 1, 1LL << 32)},
      {"--cache", "CACHE_ENABLED", "BOOL",
       "result cache: identical images for the same model are answered without a new inference (default "
       "false; docs/cache.md)",
       ACCEL_BOOL_OPTION(cache_enabled)},
      {"--cache-memory-mb", "CACHE_MEMORY_MB", "MB",
       "in-process result cache size (default 64; 0: nothing kept in memory, every hit from Redis)",
       ACCEL_INT_OPTION(cache_memory_mb, 0, 1 << 20)},
      {"--cache-ttl-s", "CACHE_TTL_S", "S",
       "how long a cached result is kept, in memory and in Redis (default 300; 0: until evicted)",
       ACCEL_INT_OPTION(cache_ttl_s, 0, 365 * 24 * 3600)},
      {"--redis-url", "REDIS_URL", "URL",
       "shared result cache level for every instance, redis://[:password@]host[:port][/db] (default: none, "
       "memory only); used when --cache is on",
       ACCEL_STRING_OPTION(redis_url)},
      {"--cache-lookup-timeout-ms", "CACHE_LOOKUP_TIMEOUT_MS", "MS",
       "a Redis lookup slower than this counts as a miss (default 5)",
       ACCEL_INT_OPTION(cache_lookup_timeout_ms, 1, 10000)},
      {"--api-key", "API_KEY", "KEY",
       "key every inference and metadata request must carry (Authorization: Bearer, X-API-Key, gRPC "
       "metadata, or an api_key field on /ai/infer and /v1/vision/*); default: none, open",
       ACCEL_STRING_OPTION(api_key)},
      {"--admin-key", "ADMIN_KEY", "KEY",
       "key for model load/unload, /ai/validate and gRPC shared memory; the api key is refused there "
       "(default: none, those follow --api-key)",
       ACCEL_STRING_OPTION(admin_key)},
      {"--open-observability", "OPEN_OBSERVABILITY", "BOOL",
       "health, /metrics, /ai/stats and the dashboard need no key (default true); false: they need one",
       ACCEL_BOOL_OPTION(open_observability)},
      {"--repository-control", "REPOSITORY_CONTROL", "BOOL",
       "let clients load and unload models through the KServe repository API (default false)",
       ACCEL_BOOL_OPTION(repository_control)},
      {"--streams", "STREAMS_FILE", "FILE",
       "watched video streams (YAML, docs/streams.md), read at start; streams added, replaced or removed "
       "through /ai/streams are written back to it (default: none; API changes last until the service stops)",
       ACCEL_STRING_OPTION(streams_file)},
      {"--mqtt-url", "MQTT_URL", "URL",
       "MQTT broker for stream events, mqtt://[user:password@]host[:port] (default: none, MQTT off)",
       ACCEL_STRING_OPTION(mqtt_url)},
      {"--mqtt-topic-prefix", "MQTT_TOPIC_PREFIX", "PREFIX",
       "first level of the stream event topics, <prefix>/<stream>/events (default accel)",
       ACCEL_STRING_OPTION(mqtt_topic_prefix)},
      {"--mqtt-discovery-prefix", "MQTT_DISCOVERY_PREFIX", "PREFIX",
       "Home Assistant MQTT discovery prefix; empty: no discovery messages (default homeassistant)",
       ACCEL_STRING_OPTION(mqtt_discovery_prefix)},
      {"--events-redis-url", "EVENTS_REDIS_URL", "URL",
       "Redis for stream events (XADD to accel:events:<stream>), redis://[:password@]host[:port][/db] "
       "(default: none, off)",
       ACCEL_STRING_OPTION(events_redis_url)},
      {"--events-redis-maxlen", "EVENTS_REDIS_MAXLEN", "N",
       "approximate bound on each Redis event stream's length (XADD MAXLEN ~; default 10000)",
       ACCEL_INT_OPTION(events_redis_maxlen, 1, 100'000'000)},
      {"--validation-image", "VALIDATION_IMAGE", "PATH", "image POST /ai/validate uses when none is uploaded",
       ACCEL_STRING_OPTION(validation_image)},
      {"--log-level", "LOG_LEVEL", "LEVEL", "debug|info|warn|error (default info)",
       ACCEL_STRING_OPTION(log_level)},
      {"--debug", "DEBUG", "BOOL", "same as --log-level debug",
       [&c](const std::string& v) -> Status {
         ACCEL_ASSIGN_OR_RETURN(bool on, ParseBool(v));
         if (on) c.log_level = "debug";
         return Status::Ok();
       }},
  };
  AddEngineOptions(c, kinds, options);
  return options;
}

}  // namespace

StatusOr<ServeConfig> ParseServeConfig(const std::vector<std::string>& args,
                                       const std::vector<EngineKindOptions>& engine_kinds) {
  ServeConfig config;
  ACCEL_ASSIGN_OR_RETURN(auto positional,
                         ParseCommandLine("serve", ServeOptions(config, engine_kinds), args, true));
  if (!positional.empty()) return InvalidArgument("unexpected argument '" + positional[0] + "'");
  if (config.tls_cert_file.empty() != config.tls_key_file.empty())
    return InvalidArgument(
        "TLS needs both --tls-cert and --tls-key (TLS_CERT_FILE, TLS_KEY_FILE), or neither");
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty())
    return InvalidArgument("--tls-client-ca needs TLS on: give --tls-cert and --tls-key too");
  return config;
}

StatusOr<ServeConfig> ParseServeConfig(const std::vector<std::string>& args) {
  return ParseServeConfig(args, BuiltinEngineOptions());
}

std::string ServeUsage() { return ServeUsage(BuiltinEngineOptions()); }

std::string ServeUsage(const std::vector<EngineKindOptions>& engine_kinds) {
  ServeConfig unused;
  return CommandUsage(
      "serve [options]",
      "Serves the models in --models over HTTP (seed API /ai/*, DeepStack / CodeProject.AI /v1/vision/*, "
      "KServe v2\n/v2/*, Prometheus /metrics, dashboard /), KServe v2 gRPC and Frigate's zmq "
      "detector protocol.\nEvery option can also be set by the environment variable shown; flags "
      "win. The options --support-<kind> and\n--<kind>-<option> come from the engines built in: each "
      "engine declares its own.\n",
      ServeOptions(unused, engine_kinds));
}

}  // namespace accel
