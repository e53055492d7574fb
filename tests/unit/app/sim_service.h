// A whole Service for the app tests: the model repository of the checkout, HTTP on a free loopback port, one
// simulated device, no gRPC (its threads hand calls over in ways ThreadSanitizer cannot see, and these
// suites run under it: docs/development.md) and no zmq. Reports a failure and returns null when it cannot
// start.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/service.h"
#include "engines/sim/sim_engine.h"

namespace accel {

// `device_ms`: the simulated device's time per inference. `adjust` changes the configuration before start.
inline std::unique_ptr<Service> StartSimService(const std::string& device, double device_ms,
                                                const std::function<void(ServeConfig&)>& adjust = {}) {
  ServeConfig config;
  config.models_dir = std::string(ACCEL_SOURCE_DIR) + "/models";
  config.host = "127.0.0.1";
  config.port = 0;
  config.grpc_port = -1;
  config.zmq_endpoint = "";
  config.io_threads = 2;
  if (adjust) adjust(config);
  SimDeviceSpec spec;
  spec.name = device;
  spec.ms = device_ms;
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(MakeSimEngine(spec));
  auto service = Service::Create(config, std::move(engines));
  if (!service.ok()) {
    ADD_FAILURE() << service.status().ToString();
    return nullptr;
  }
  if (Status s = (*service)->StartFrontEnds(); !s.ok()) {
    ADD_FAILURE() << s.ToString();
    return nullptr;
  }
  return std::move(service).value();
}

}  // namespace accel
