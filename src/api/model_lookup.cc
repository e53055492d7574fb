#include "api/model_lookup.h"

#include <vector>

#include "core/model_config.h"
#include "core/model_repository.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

// 3: the model's name; 2: its name plus an extension; 1: an artifact's file name; 0: no match.
int MatchRank(const ModelConfig& model, std::string_view client_name) {
  if (client_name == model.name) return 3;
  const size_t dot = client_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0 && client_name.substr(0, dot) == model.name) return 2;
  for (const auto& artifact : model.artifacts)
    if (artifact.path.filename().string() == client_name) return 1;
  return 0;
}

}  // namespace

ModelLookup LookupModel(const Scheduler& scheduler, const std::filesystem::path& models_dir,
                        std::string_view client_name) {
  ModelLookup out;
  if (client_name.empty()) return out;
  int best = 0;
  for (const auto& status : scheduler.Models()) {
    auto config = scheduler.FindModel(status.name);
    if (!config) continue;  // unloaded in between
    const int rank = MatchRank(*config, client_name);
    if (rank > best) {
      best = rank;
      out = ModelLookup{status.name, true, status.ready};
    }
  }
  if (best > 0 || models_dir.empty()) return out;
  auto entries = ScanModelRepository(models_dir);
  if (!entries.ok()) return out;
  for (const auto& entry : *entries) {
    if (!entry.config.ok()) continue;
    const int rank = MatchRank(*entry.config, client_name);
    if (rank > best) {
      best = rank;
      out = ModelLookup{entry.config->name, true, false};
    }
  }
  return out;
}

}  // namespace accel
