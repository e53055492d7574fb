#include "core/model_repository.h"

#include <algorithm>
#include <system_error>

namespace accel {

StatusOr<std::vector<RepositoryEntry>> ScanModelRepository(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec))
    return NotFound("model repository '" + root.string() + "' is not a directory");
  std::vector<RepositoryEntry> entries;
  for (const auto& dir : std::filesystem::directory_iterator(root, ec)) {
    if (!dir.is_directory()) continue;
    const auto yaml = dir.path() / "model.yaml";
    if (!std::filesystem::exists(yaml)) continue;
    entries.push_back(RepositoryEntry{dir.path().filename().string(), yaml, LoadModelConfig(yaml)});
  }
  if (ec) return Internal("cannot list '" + root.string() + "': " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const RepositoryEntry& a, const RepositoryEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace accel
