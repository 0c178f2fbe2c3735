#include "serve/model_pool.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/timing.hpp"
#include "engine/session.hpp"
#include "model/kv_cache.hpp"

namespace r1::serve {

ServedModel::~ServedModel() { scheduler.reset(); }

ModelPool::ModelPool(std::vector<ModelSpec> specs, PoolOptions opts, Metrics& metrics, Loader loader)
    : specs_(std::move(specs)), opts_(std::move(opts)), metrics_(metrics), loader_(std::move(loader)),
      entries_(specs_.size()) {
  if (specs_.empty()) fail("no model to serve");
  if (!loader_)
    loader_ = [](const ModelSpec& s, const ModelOptions& o) { return Model::load(s.path, o); };
}

ModelPool::~ModelPool() {
  std::lock_guard lk(mu_);
  for (Entry& e : entries_) e.lease.reset();
}

Lease ModelPool::make_served(const ModelSpec& spec, std::unique_ptr<Model> model) const {
  auto m = std::make_shared<ServedModel>();
  m->spec = spec;
  m->options = opts_.scheduler;
  if (spec.ctx > 0) m->options.n_ctx = spec.ctx;
  if (spec.parallel > 0) m->options.n_slots = spec.parallel;
  // The draft model was checked against the first model's vocabulary only.
  if (spec.name != specs_[0].name && m->options.speculation.mode == SpecMode::draft) m->options.speculation = {};
  m->model = std::move(model);
  if (m->options.n_ctx <= 0) m->options.n_ctx = default_context_length(m->model->config());
  m->scheduler = std::make_unique<Scheduler>(*m->model, m->options, metrics_);
  m->bytes = m->model->weight_bytes() +
             static_cast<size_t>(kv_bytes_per_token(m->model->config())) * static_cast<size_t>(m->options.n_ctx) *
                 static_cast<size_t>(m->options.n_slots) +
             m->options.cache_ram;
  return m;
}

void ModelPool::adopt_first(std::unique_ptr<Model> model) {
  Lease served = make_served(specs_[0], std::move(model));
  std::lock_guard lk(mu_);
  entries_[0].lease = std::move(served);
  entries_[0].last_used = now_seconds();
  ++entries_[0].loads;
}

const ModelSpec* ModelPool::spec(const std::string& name) const {
  if (name.empty()) return &specs_[0];
  for (const ModelSpec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

bool ModelPool::idle_locked(const Entry& e) const {
  if (!e.lease || e.lease.use_count() > 1) return false;
  const SchedulerGauges g = e.lease->scheduler->gauges();
  return g.busy == 0 && g.queued == 0;
}

void ModelPool::unload_locked(Entry& e) {
  log(LogLevel::info, "unloading model '{}'", e.lease->spec.name);
  e.lease.reset();
  ++e.unloads;
}

Lease ModelPool::loaded(const std::string& name) const {
  const ModelSpec* s = spec(name);
  if (!s) return nullptr;
  std::lock_guard lk(mu_);
  return entries_[static_cast<size_t>(s - specs_.data())].lease;
}

Lease ModelPool::acquire(const std::string& name) {
  const ModelSpec* s = spec(name);
  if (!s) {
    std::string names;
    for (const ModelSpec& m : specs_) names += (names.empty() ? "" : ", ") + m.name;
    throw ApiError(404, fmt::format("the model '{}' does not exist (this server has {})", name, names),
                   "invalid_request_error", "model", "model_not_found");
  }
  const size_t i = static_cast<size_t>(s - specs_.data());
  std::unique_lock lk(mu_);
  for (;;) {
    Entry& e = entries_[i];
    if (e.lease) {
      e.last_used = now_seconds();
      return e.lease;
    }
    if (!e.loading) return load_locked(lk, i);
    loaded_cv_.wait(lk);  // another request is loading it
  }
}

Lease ModelPool::load_locked(std::unique_lock<std::mutex>& lk, size_t i) {
  if (draining_) throw ApiError(503, "the server is shutting down", "server_error", "", "server_shutting_down");
  const ModelSpec& spec = specs_[i];
  Entry& e = entries_[i];
  e.loading = true;  // other requests for it wait in acquire() from now on
  auto give_up = [&](ApiError err) {
    e.loading = false;
    loaded_cv_.notify_all();
    throw err;
  };
  if (opts_.memory_budget > 0) {
    std::error_code ec;
    // Its weights (the file) and its prompt cache; the KV cache is known once loaded.
    const uintmax_t need = (std::filesystem::is_regular_file(spec.path, ec) ? std::filesystem::file_size(spec.path, ec) : 0) +
                           opts_.scheduler.cache_ram;
    auto loaded_bytes = [&] {
      size_t b = 0;
      for (const Entry& x : entries_) b += x.lease ? x.lease->bytes : 0;
      return b;
    };
    // Busy models may become idle soon (a request ending, an answer still being sent):
    // wait for that up to kBusyWait before answering 503.
    constexpr double kBusyWait = 30.0;
    const double deadline = now_seconds() + kBusyWait;
    while (loaded_bytes() + need > opts_.memory_budget) {
      Entry* lru = nullptr;
      for (Entry& x : entries_)
        if (idle_locked(x) && (!lru || x.last_used < lru->last_used)) lru = &x;
      if (lru) {
        unload_locked(*lru);
        continue;
      }
      if (loaded_bytes() == 0) break;  // nothing else loaded: try it alone
      if (draining_ || now_seconds() > deadline)
        give_up(ApiError(503, fmt::format("cannot load '{}' now: the loaded models are busy and the memory budget is "
                                          "full; retry later", spec.name),
                         "server_error", "model", "model_busy"));
      loaded_cv_.wait_for(lk, std::chrono::milliseconds(20));
    }
  }
  lk.unlock();
  Lease served;
  std::string error;
  try {
    log(LogLevel::info, "loading model '{}' from {}", spec.name, spec.path);
    served = make_served(spec, loader_(spec, opts_.load));
  } catch (const std::exception& ex) {
    error = ex.what();
  }
  lk.lock();
  if (!served)
    give_up(ApiError(500, fmt::format("the model '{}' could not be loaded: {}", spec.name, error), "server_error",
                     "model", "model_load_failed"));
  e.loading = false;
  loaded_cv_.notify_all();
  e.lease = served;
  e.last_used = now_seconds();
  ++e.loads;
  return served;
}

std::vector<Lease> ModelPool::loaded_models() const {
  std::lock_guard lk(mu_);
  std::vector<Lease> out;
  for (const Entry& e : entries_)
    if (e.lease) out.push_back(e.lease);
  return out;
}

void ModelPool::begin_drain() {
  {
    std::lock_guard lk(mu_);
    draining_ = true;
  }
  for (const Lease& m : loaded_models()) m->scheduler->begin_drain();
}

void ModelPool::cancel_all() {
  for (const Lease& m : loaded_models()) m->scheduler->cancel_all();
}

bool ModelPool::wait_idle(double timeout_s) {
  const double end = now_seconds() + timeout_s;
  bool all = true;
  for (const Lease& m : loaded_models()) all = m->scheduler->wait_idle(std::max(0.0, end - now_seconds())) && all;
  return all;
}

void ModelPool::reap_idle() {
  if (opts_.idle_ttl_s <= 0) return;
  std::lock_guard lk(mu_);
  const double now = now_seconds();
  for (Entry& e : entries_)
    if (idle_locked(e) && now - e.last_used > opts_.idle_ttl_s) unload_locked(e);
}

SchedulerGauges ModelPool::gauges() const {
  SchedulerGauges sum;
  for (const Lease& m : loaded_models()) {
    const SchedulerGauges g = m->scheduler->gauges();
    sum.queued += g.queued;
    sum.busy += g.busy;
    sum.slots += g.slots;
    sum.cache_bytes += g.cache_bytes;
    sum.cache_entries += g.cache_entries;
    sum.cache_hits += g.cache_hits;
    sum.cache_tokens += g.cache_tokens;
  }
  return sum;
}

std::string ModelPool::render_metrics() const {
  std::lock_guard lk(mu_);
  std::string out = "# HELP r1_models_loaded Models loaded now.\n# TYPE r1_models_loaded gauge\n";
  int64_t n = 0;
  for (const Entry& e : entries_) n += e.lease ? 1 : 0;
  out += fmt::format("r1_models_loaded {}\n", n);
  out += "# HELP r1_model_loaded Whether a model is loaded (1) or not (0).\n# TYPE r1_model_loaded gauge\n";
  for (size_t i = 0; i < specs_.size(); ++i)
    out += fmt::format("r1_model_loaded{{model=\"{}\"}} {}\n", specs_[i].name, entries_[i].lease ? 1 : 0);
  out += "# HELP r1_model_loads_total Model loads.\n# TYPE r1_model_loads_total counter\n";
  for (size_t i = 0; i < specs_.size(); ++i)
    out += fmt::format("r1_model_loads_total{{model=\"{}\"}} {}\n", specs_[i].name, entries_[i].loads);
  out += "# HELP r1_model_unloads_total Model unloads (memory budget or idle TTL).\n# TYPE r1_model_unloads_total counter\n";
  for (size_t i = 0; i < specs_.size(); ++i)
    out += fmt::format("r1_model_unloads_total{{model=\"{}\"}} {}\n", specs_[i].name, entries_[i].unloads);
  return out;
}

}  // namespace r1::serve
