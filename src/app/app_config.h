// ServeConfig: everything `accel serve` can be told, from environment variables (the seed's names) and
// command-line flags (which win). `accel serve --help` prints ServeUsage(). The engines' own options are
// not fields here: each engine declares them (EngineFactory::OptionSpecs) and the command line is
// generated from the declarations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "engines/engine_registry.h"

namespace accel {

struct ServeConfig {
  std::string host = "0.0.0.0";
  int port = 8000;
  std::string port_file;  // write the bound port here once listening (tests, --port 0)
  int io_threads = 0;     // 0: one per core
  int grpc_port = 8001;   // -1: off
  // Extra gRPC listening address, in addition to grpc_port, e.g. "unix:/run/accel/grpc.sock"; "": none
  std::string grpc_listen;
  bool grpc_shared_memory = false;  // KServe system shared memory extension (trusted same-host clients)
  int grpc_shm_max_regions = 64;    // registered shm regions at most (all clients together)
  int grpc_shm_max_mb = 1024;       // their byte sizes together at most
  int grpc_socket_mode = 0600;      // permissions of the --grpc-listen unix: socket file (0600 or 0660)
  std::string zmq_endpoint = "tcp://0.0.0.0:5555";  // "": off
  std::string grpc_port_file;   // write the bound gRPC port here once listening (tests, --grpc-port 0)
  std::string zmq_labelmap;     // Frigate label map whose ids the zmq detector reports; "": model ids
  int zmq_timeout_ms = 200;     // zmq work older than this is dropped, not computed (Frigate's own timeout)
  int max_connections = 0;      // HTTP connections beyond this get 503 and are closed; 0: from the fd limit
  int header_timeout_s = 10;    // whole request header within this; also the keep-alive idle time
  int drain_timeout_s = 15;     // graceful stop: how long requests in flight may take to finish; 0: none
  int zmq_max_message_mb = 32;  // larger zmq frames disconnect their sender (ZMQ_MAXMSGSIZE)
  std::string zmq_pixel_format = "rgb";  // pixel order of zmq tensors: rgb (Frigate's default) or bgr
  // Folder where Frigate's zmq model uploads are saved and loaded from; "": uploads are refused.
  std::string zmq_accept_models;
  // Predictions per DeepStack / CodeProject.AI response unless the request sets max_results; 0: no limit.
  int deepstack_max_predictions = 20;
  // zmq access control (api/zmq_access.h): peers allowed (addresses/CIDR blocks, "": any); CURVE server
  // secret key file and authorised client keys file ("": no CURVE).
  std::string zmq_allow;
  std::string zmq_curve_secret_key_file;
  std::string zmq_curve_authorized_keys_file;
  std::string models_dir = "models";
  std::string default_model = "yolox-nano";
  std::string default_engine = "auto";
  std::string fallback_engine;       // empty: none
  std::vector<std::string> engines;  // enabled engine kinds; empty: all that are built and find a device
  // Per engine kind, from --support-<kind> / SUPPORT_<KIND>: false switches the kind off. A kind not
  // listed is enabled.
  std::map<std::string, bool> engine_enabled;
  // Per engine kind, the options its factory declares (EngineFactory::OptionSpecs), from --<kind>-<key> /
  // <KIND>_<KEY>; handed to the factory's Create as given. Only options that were set are present.
  std::map<std::string, EngineOptions> engine_options;
  bool torch_cpu_device = false;  // test mode of the nvidia engine on the CPU
  std::vector<std::string> sim_devices;
  bool load_balancing = true;
  bool round_robin = false;
  std::vector<std::string> device_priority;
  int queue_capacity = 64;
  int execution_timeout_ms = 5000;
  size_t max_body_bytes = 32u << 20;
  // TLS for HTTP and gRPC (docs/tls.md): PEM certificate chain and key, both or neither; with a client CA,
  // clients must present a certificate it signed. "": off.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  int max_image_width = 8192;
  int max_image_height = 8192;
  long long max_image_pixels = 40'000'000;
  // Result cache (docs/cache.md): off unless asked for; memory level bound, TTL of both levels, Redis level
  // ("": none) and how long a Redis lookup may take before it counts as a miss.
  bool cache_enabled = false;
  int cache_memory_mb = 64;
  int cache_ttl_s = 300;
  std::string redis_url;
  int cache_lookup_timeout_ms = 5;
  // Access control for every front end (api/access_control.h): inference key, admin key, whether health,
  // /metrics and the dashboard stay open, and whether clients may load and unload models.
  std::string api_key;
  std::string admin_key;
  bool open_observability = true;
  bool repository_control = false;
  std::string validation_image;  // image used by POST /ai/validate when none is uploaded
  // Watched streams (docs/streams.md): the streams file read at start and written back on API changes
  // ("": streams added through the API last until the service stops), and the event outputs a stream
  // may ask for. "": that output is off.
  std::string streams_file;
  std::string mqtt_url;
  std::string mqtt_topic_prefix = "accel";
  std::string mqtt_discovery_prefix = "homeassistant";
  std::string events_redis_url;
  int events_redis_maxlen = 10000;
  std::string log_level = "info";
};

// Reads the environment first, then `args` (argv after "serve"). Unknown flags and bad values are errors.
// Besides the fixed options, each kind in `engine_kinds` gets --support-<kind> / SUPPORT_<KIND> and, for
// each of its option specs, --<kind>-<key with '-' for '_'> / <KIND>_<KEY>, checked against the spec.
StatusOr<ServeConfig> ParseServeConfig(const std::vector<std::string>& args,
                                       const std::vector<EngineKindOptions>& engine_kinds);
// The same with the kinds built into this binary (BuiltinEngineOptions()).
StatusOr<ServeConfig> ParseServeConfig(const std::vector<std::string>& args);
std::string ServeUsage(const std::vector<EngineKindOptions>& engine_kinds);
std::string ServeUsage();

}  // namespace accel
