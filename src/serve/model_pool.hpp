// The models one server serves: each named, loaded on first use, unloaded when idle.
//
// Contracts:
// - acquire(name) returns a lease on the loaded model and its scheduler ("" = the first
//   model), loading it first when needed (other requests for it wait for the same load).
//   An unknown name is ApiError 404 (model_not_found); a model that cannot be loaded is
//   a 500 naming the file and the problem (the next request tries again).
// - A lease keeps its model alive: an unloaded model is destroyed when its last lease
//   ends (its scheduler finishes or cancels nothing: a leased model is never idle).
// - Memory budget (bytes; 0: none): before a load, idle models (no lease, nothing queued
//   or running) are unloaded least recently used first until the loaded models' bytes plus
//   the new file's size and prompt cache budget fit (a model alone over the budget still
//   loads). While every loaded model is busy the request waits (up to 30 s) for one to
//   become idle, then is ApiError 503 (retry later). A model's bytes: weights + every slot's KV cache + its
//   prompt cache budget.
// - Idle TTL (seconds; 0: never): reap_idle() unloads models idle for longer.
// - Per-model settings (context, slots, sampling defaults) come from ModelSpec; the
//   pool's SchedulerOptions fill what a spec leaves at 0.
// - Thread-safe.
#pragma once
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.hpp"
#include "serve/api_error.hpp"
#include "serve/metrics.hpp"
#include "serve/scheduler.hpp"

namespace r1::serve {

struct ModelSpec {
  std::string name;
  std::string path;
  int64_t ctx = 0;        // per-slot context (0: the pool's)
  int32_t parallel = 0;   // slots (0: the pool's)
  nlohmann::json sampling = nlohmann::json::object();  // request defaults: temperature, top_p, top_k, min_p, max_tokens
};

struct ServedModel {
  ModelSpec spec;
  std::unique_ptr<Model> model;
  std::unique_ptr<Scheduler> scheduler;
  SchedulerOptions options;  // the scheduler's (context and slots after the spec)
  size_t bytes = 0;
  ~ServedModel();  // the scheduler first (it uses the model)
};
using Lease = std::shared_ptr<ServedModel>;

struct PoolOptions {
  SchedulerOptions scheduler;   // defaults for every model
  ModelOptions load;
  size_t memory_budget = 0;     // bytes; 0: no limit
  double idle_ttl_s = 0;        // 0: never unload for idleness
};

class ModelPool {
 public:
  using Loader = std::function<std::unique_ptr<Model>(const ModelSpec&, const ModelOptions&)>;
  ModelPool(std::vector<ModelSpec> specs, PoolOptions opts, Metrics& metrics, Loader loader = {});
  ~ModelPool();

  // The first spec's model, already loaded by the caller (fails fast at start).
  void adopt_first(std::unique_ptr<Model> model);
  Lease acquire(const std::string& name);
  // The lease of a model if it is loaded now (no load), else null.
  Lease loaded(const std::string& name) const;

  const std::vector<ModelSpec>& specs() const { return specs_; }
  const ModelSpec* spec(const std::string& name) const;  // "" = the first; null: unknown
  std::vector<Lease> loaded_models() const;

  void begin_drain();
  void cancel_all();
  bool wait_idle(double timeout_s);
  void reap_idle();              // unloads models idle past the TTL
  SchedulerGauges gauges() const;  // summed over loaded models
  std::string render_metrics() const;  // r1_models_loaded, r1_model_loads_total, r1_model_unloads_total

 private:
  struct Entry {
    Lease lease;                 // null: not loaded
    bool loading = false;
    double last_used = 0;
    uint64_t loads = 0, unloads = 0;
  };
  Lease load_locked(std::unique_lock<std::mutex>& lk, size_t index);
  bool idle_locked(const Entry& e) const;
  void unload_locked(Entry& e);
  Lease make_served(const ModelSpec& spec, std::unique_ptr<Model> model) const;

  std::vector<ModelSpec> specs_;
  PoolOptions opts_;
  Metrics& metrics_;
  Loader loader_;
  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  std::vector<Entry> entries_;   // by spec index
  bool draining_ = false;
};

}  // namespace r1::serve
