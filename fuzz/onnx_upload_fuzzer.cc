// Frigate zmq model uploads (`model_data`, accepted with --zmq-accept-models): the name the client gives and
// the file it sends, through the upload's checks short of writing anything (api/zmq_model_store.h): the
// model name the upload gets, the ONNX signature read from the file (core/onnx_info.h) and the model.yaml
// the store would write for it, which must then load through the model.yaml parser as any repository model
// does. Input: the client's model name, '\n', the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "api/zmq_model_store.h"
#include "core/model_config.h"
#include "core/onnx_info.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  std::string_view input = fuzz::AsText(data, size);
  const std::string_view client_name = fuzz::TakeLine(input);
  auto name = ZmqModelStore::ModelNameFor(client_name);
  if (name.ok()) {
    ACCEL_FUZZ_CHECK(!name->empty() && name->size() <= 64 && name->front() != '.' && name->front() != '-');
    ACCEL_FUZZ_CHECK(
        name->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
        std::string::npos);
  }
  auto signature = ReadOnnxSignature(input);
  if (!signature.ok()) return 0;
  const std::string model = name.ok() ? *name : "upload";
  auto yaml = GeneratedModelYaml(model, model + ".onnx", *signature);
  if (!yaml.ok()) return 0;
  // A model.yaml the store writes must be one it can load.
  auto config = ParseModelConfig(*yaml, ".");
  if (!config.ok()) {
    std::fprintf(stderr, "generated model.yaml does not load: %s\n", config.status().ToString().c_str());
    ACCEL_FUZZ_CHECK(config.ok());
  }
  ACCEL_FUZZ_CHECK(config->name == model);
  return 0;
}
