// ModelRepository: the models/ folder. Each subfolder with a model.yaml is one model; a folder whose
// model.yaml fails to parse, or whose artifacts cannot be used, is reported (not fatal) so one bad model
// never keeps the service or the other models from loading.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"

namespace accel {

struct RepositoryEntry {
  std::string name;              // folder name
  std::filesystem::path yaml;    // models/<name>/model.yaml
  StatusOr<ModelConfig> config;  // parsed and checked (LoadRepositoryModel), or why not
};

// Lists the models under `root`, sorted by name. Errors only if `root` is not a readable directory.
StatusOr<std::vector<RepositoryEntry>> ScanModelRepository(const std::filesystem::path& root);

// Reads one model of the repository: LoadModelConfig, then CheckArtifactFiles. Every error names the
// model.yaml it came from.
StatusOr<ModelConfig> LoadRepositoryModel(const std::filesystem::path& model_yaml);

// Checks the artifact files of a parsed model on disk:
// - the folder part of an artifact's path must not leave the model's folder through a symbolic link;
//   the file itself may be a link to a file elsewhere (that is how scripts/setup installs the default
//   model's weights, and only someone who can write the folder can make one), but it must resolve to a
//   regular file (not a directory, device or pipe);
// - an artifact whose file does not exist is dropped with a warning in `config.warnings` when the model has
//   another artifact whose file exists, and is an error (NotFound naming the files) when none does.
// A model that declares no artifact (served by the sim engine only) passes.
Status CheckArtifactFiles(ModelConfig& config);

}  // namespace accel
