// ModelTable: the models loaded on one engine, by name. The one bookkeeping of Load/Unload shared by
// SyncEngine (cpu, nvidia, sim) and the hailo engine; `Model` is whatever the engine keeps per model.
//
// Entries are shared: a batch that has looked its model up keeps it alive across an Unload, and the model
// is released by whichever thread drops the last reference (the control thread, or a worker finishing the
// batch). An engine whose models must be torn down in a given order (hailo: before its VDevice) takes them
// out with Take/TakeAll and holds no other reference.
//
// Threading: every method may be called from any thread, concurrently. Each holds the table's own lock for
// a map operation only; no Model code (constructor or destructor) runs under it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace accel {

template <typename Model>
class ModelTable {
 public:
  explicit ModelTable(std::string device_id) : device_id_(std::move(device_id)) {}
  ModelTable(const ModelTable&) = delete;
  ModelTable& operator=(const ModelTable&) = delete;

  // Adds `model` under `name`, replacing (and dropping this table's reference to) any model of that name.
  void Put(const std::string& name, std::shared_ptr<Model> model) {
    std::shared_ptr<Model> replaced;  // declared before the lock: released after it
    std::lock_guard lock(mu_);
    replaced = std::exchange(models_[name], std::move(model));
  }

  // The model, or nullptr when `name` is not loaded.
  std::shared_ptr<Model> Find(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    return it == models_.end() ? nullptr : it->second;
  }

  // Removes and returns the model, or nullptr when `name` is not loaded.
  std::shared_ptr<Model> Take(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) return nullptr;
    std::shared_ptr<Model> model = std::move(it->second);
    models_.erase(it);
    return model;
  }

  // Removes and returns every model, in name order (shutdown, device reset).
  std::vector<std::shared_ptr<Model>> TakeAll() {
    std::map<std::string, std::shared_ptr<Model>> taken;
    {
      std::lock_guard lock(mu_);
      taken.swap(models_);
    }
    std::vector<std::shared_ptr<Model>> out;
    out.reserve(taken.size());
    for (auto& [name, model] : taken) out.push_back(std::move(model));
    return out;
  }

  // The error for a model that is not loaded here: NOT_FOUND, naming the model and the device.
  Status NotLoaded(const std::string& name) const {
    return NotFound("model '" + name + "' is not loaded on " + device_id_);
  }

 private:
  const std::string device_id_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Model>> models_;
};

}  // namespace accel
