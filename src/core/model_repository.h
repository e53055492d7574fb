// ModelRepository: the models/ folder. Each subfolder with a model.yaml is one model; a folder whose
// model.yaml fails to parse is reported (not fatal) so one bad model never keeps the service from starting.
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
  StatusOr<ModelConfig> config;  // parsed, or why not
};

// Lists the models under `root`, sorted by name. Errors only if `root` is not a readable directory.
StatusOr<std::vector<RepositoryEntry>> ScanModelRepository(const std::filesystem::path& root);

}  // namespace accel
