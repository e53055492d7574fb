#include "core/model_repository.h"

#include <algorithm>
#include <system_error>

namespace accel {
namespace {

namespace fs = std::filesystem;

// True when `path` is `folder` or below it; both canonical.
bool IsWithin(const fs::path& path, const fs::path& folder) {
  auto p = path.begin();
  for (auto f = folder.begin(); f != folder.end(); ++f, ++p) {
    if (p == path.end() || *p != *f) return false;
  }
  return true;
}

}  // namespace

Status CheckArtifactFiles(ModelConfig& config) {
  std::error_code ec;
  const fs::path folder = fs::canonical(config.directory, ec);
  if (ec) return NotFound("model '" + config.name + "': cannot resolve its folder: " + ec.message());
  std::vector<Artifact> present;
  std::vector<std::string> missing;
  for (Artifact& artifact : config.artifacts) {
    const std::string shown = "artifact '" + artifact.engine_kind + "' file '" +
                              artifact.path.lexically_relative(config.directory).string() + "'";
    // The folders on the way, with their links resolved, must stay inside the model's folder.
    const fs::path parent = fs::weakly_canonical(artifact.path.parent_path(), ec);
    if (ec || !IsWithin(parent, folder)) {
      return InvalidArgument("model '" + config.name + "': " + shown +
                             " leaves the model's folder through a symbolic link (resolves to " +
                             parent.string() + ")");
    }
    const fs::file_status status = fs::status(artifact.path, ec);
    if (status.type() == fs::file_type::not_found || (ec && !fs::exists(status))) {
      missing.push_back(shown + " (" + artifact.path.string() + ")");
      continue;
    }
    if (ec) return NotFound("model '" + config.name + "': " + shown + ": " + ec.message());
    if (!fs::is_regular_file(status))
      return InvalidArgument("model '" + config.name + "': " + shown + " is not a regular file");
    present.push_back(std::move(artifact));
  }
  if (!missing.empty() && present.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    config.artifacts.clear();
    return NotFound("model '" + config.name + "': " + list + (missing.size() == 1 ? " does" : " do") +
                    " not exist");
  }
  for (const auto& m : missing)
    config.warnings.push_back(m + " does not exist; the model is served without it");
  config.artifacts = std::move(present);
  return Status::Ok();
}

StatusOr<ModelConfig> LoadRepositoryModel(const fs::path& model_yaml) {
  ACCEL_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_yaml));
  ACCEL_RETURN_IF_ERROR(CheckArtifactFiles(config).WithContext(model_yaml.string()));
  return config;
}

StatusOr<std::vector<RepositoryEntry>> ScanModelRepository(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return NotFound("model repository '" + root.string() + "' is not a directory");
  std::vector<RepositoryEntry> entries;
  for (const auto& dir : fs::directory_iterator(root, ec)) {
    if (!dir.is_directory()) continue;
    const auto yaml = dir.path() / "model.yaml";
    if (!fs::exists(yaml)) continue;
    entries.push_back(RepositoryEntry{dir.path().filename().string(), yaml, LoadRepositoryModel(yaml)});
  }
  if (ec) return Internal("cannot list '" + root.string() + "': " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const RepositoryEntry& a, const RepositoryEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace accel
