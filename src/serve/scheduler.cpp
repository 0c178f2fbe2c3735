#include "serve/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

#include "base/thread_pool.hpp"
#include "base/timing.hpp"
#include "base/error.hpp"
#include "engine/session.hpp"
#include "serve/api_error.hpp"

#include <fmt/format.h>

namespace r1::serve {

void Channel::push(Item item) {
  {
    std::lock_guard lk(mu_);
    items_.push_back(std::move(item));
  }
  cv_.notify_all();
}

bool Channel::wait(std::vector<Item>& out, int timeout_ms) {
  std::unique_lock lk(mu_);
  if (items_.empty()) cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return !items_.empty(); });
  if (items_.empty()) return false;
  for (auto& it : items_) out.push_back(std::move(it));
  items_.clear();
  return true;
}

struct Scheduler::Slot {
  explicit Slot(Model& m, int64_t n_ctx) : session(m, n_ctx) {}
  Session session;           // the cache and the ids it holds
  std::unique_ptr<Job> job;  // null when the slot is free
  int64_t entry = -1;        // the job's id in the batch runner
  double t_last_token = 0;
  bool got_token = false;
};

namespace {

constexpr size_t kMinCacheGain = 16;  // tokens a snapshot must save over the slot's own prefix

// Sends a job's done event (the generation must have ended) and records its metrics.
void send_done(Job& job, Metrics& metrics, const std::string& error) {
  GenerateEvent done = job.gen->finish();
  Channel::Item item;
  item.index = job.index;
  item.summary = *done.summary;
  done.summary = nullptr;
  item.ev = std::move(done);
  item.error = error;
  const GenerateSummary& s = item.summary;
  metrics.generation_done(s.prompt_tokens, s.cached_tokens, s.reasoning_tokens, s.content_tokens, s.prefill_ms / 1000.0,
                          s.decode_ms / 1000.0, s.finish == FinishReason::cancelled);
  job.channel->push(std::move(item));
}

}  // namespace

Scheduler::Scheduler(Model& model, const SchedulerOptions& opts, Metrics& metrics)
    : model_(model), opts_(opts), metrics_(metrics), cache_(opts.cache_ram), runner_(model, opts.prefill_chunk, opts.speculation) {
  assert(opts_.n_slots >= 1);
  for (int32_t i = 0; i < opts_.n_slots; ++i) slots_.push_back(std::make_unique<Slot>(model_, opts_.n_ctx));
  worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    draining_ = true;
  }
  cancel_all_ = true;
  cv_.notify_all();
  worker_.join();
}

Scheduler::Submit Scheduler::submit(std::vector<std::unique_ptr<Job>> jobs) {
  {
    std::lock_guard lk(mu_);
    if (draining_) return Submit::shutting_down;
    const int64_t free_slots = opts_.n_slots - busy_;
    if (static_cast<int64_t>(queue_.size() + jobs.size()) > opts_.max_queue + free_slots) return Submit::queue_full;
    for (auto& j : jobs) queue_.push_back(std::move(j));
  }
  cv_.notify_all();
  return Submit::ok;
}

void Scheduler::begin_drain() {
  std::lock_guard lk(mu_);
  draining_ = true;
}

bool Scheduler::wait_idle(double timeout_s) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, std::chrono::duration<double>(timeout_s),
                           [&] { return queue_.empty() && busy_ == 0; });
}

void Scheduler::cancel_all() {
  cancel_all_ = true;
  cv_.notify_all();
}

SchedulerGauges Scheduler::gauges() const {
  std::lock_guard lk(mu_);
  SchedulerGauges g;
  g.queued = static_cast<int64_t>(queue_.size());
  g.busy = busy_;
  g.slots = opts_.n_slots;
  g.cache_bytes = static_cast<int64_t>(cache_.bytes());
  g.cache_entries = static_cast<int64_t>(cache_.entries());
  g.cache_hits = cache_hits_;
  g.cache_tokens = cache_tokens_;
  return g;
}

// An idle slot (under mu_): the worker touches idle slots only in admit_locked, under mu_.
Session& Scheduler::idle_slot_locked(int32_t id) {
  if (id < 0 || id >= opts_.n_slots)
    throw ApiError(404, fmt::format("no slot {} (this server has slots 0 to {})", id, opts_.n_slots - 1),
                   "invalid_request_error", "id_slot", "not_found");
  Slot& s = *slots_[static_cast<size_t>(id)];
  if (s.job) throw ApiError(409, fmt::format("slot {} is generating; try again when it is idle", id), "invalid_request_error",
                            "id_slot", "slot_busy");
  return s.session;
}

Session::Snapshot Scheduler::save_slot(int32_t id) {
  std::lock_guard lk(mu_);
  Session& s = idle_slot_locked(id);
  return s.snapshot(s.tokens().size());
}

void Scheduler::restore_slot(int32_t id, const Session::Snapshot& snap) {
  std::lock_guard lk(mu_);
  Session& s = idle_slot_locked(id);
  if (static_cast<int64_t>(snap.tokens.size()) > s.n_ctx())
    throw bad_param("filename", fmt::format("the saved slot holds {} tokens; slot {} has room for {}", snap.tokens.size(), id, s.n_ctx()));
  try {
    s.restore(snap, snap.tokens.size());
  } catch (const Error& e) {
    throw bad_param("filename", fmt::format("the saved slot does not fit this model: {}", e.what()));
  }
}

void Scheduler::erase_slot(int32_t id) {
  std::lock_guard lk(mu_);
  idle_slot_locked(id).clear();
}

double Scheduler::mean_job_seconds() const {
  std::lock_guard lk(mu_);
  return mean_job_s_;
}

void Scheduler::run() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || busy_ > 0; });
      if (stop_) break;
      admit_locked();
    }
    step();
  }
  // Shutting down: whatever is left ends "cancelled".
  for (auto& s : slots_)
    if (s->job) {
      s->job->gen->cancel();
      runner_.remove(s->entry);
      complete(*s);
    }
  std::lock_guard lk(mu_);
  admit_locked();  // cancel_all_ is set: drains the queue without taking slots
}

void Scheduler::admit_locked() {
  while (!queue_.empty()) {
    Job& job = *queue_.front();
    if (cancel_all_ || job.channel->cancel.load()) {
      job.gen->cancel();
      send_done(job, metrics_, {});
      queue_.pop_front();
      idle_cv_.notify_all();
      continue;
    }
    const auto& prompt = job.gen->prompt_tokens();
    Slot* best = nullptr;
    size_t best_keep = 0;
    for (auto& s : slots_) {
      if (s->job) continue;
      const size_t keep = std::min(common_prefix_length(s->session.tokens(), prompt), prompt.size() - 1);
      if (!best || keep > best_keep) best = s.get(), best_keep = keep;
    }
    if (!best) return;
    Slot& s = *best;
    if (const PromptCache::Match m = cache_.find(prompt); m.snap && m.keep >= best_keep + kMinCacheGain) {
      s.session.restore(*m.snap, m.keep);
      ++cache_hits_;
      cache_tokens_ += static_cast<int64_t>(m.keep);
    }
    s.job = std::move(queue_.front());
    queue_.pop_front();
    s.entry = runner_.add(s.session, *s.job->gen);  // reuses the cached prefix
    s.got_token = false;
    ++busy_;
  }
}

void Scheduler::complete(Slot& s, const std::string& error) {
  const double job_s = now_seconds() - s.job->t_arrival;
  Session::Snapshot snap;
  if (opts_.cache_ram > 0 && !s.session.tokens().empty()) snap = s.session.snapshot(s.session.tokens().size());
  std::unique_ptr<Job> job;
  {
    // The slot is free (for new jobs and slot files) before its client hears of the end,
    // so a request that follows the answer finds it free.
    std::lock_guard lk(mu_);
    job = std::move(s.job);
    s.entry = -1;
    if (!snap.tokens.empty()) cache_.store(std::move(snap));
  }
  send_done(*job, metrics_, error);
  {
    std::lock_guard lk(mu_);
    --busy_;  // after the done event: wait_idle() returning means every answer is complete
    mean_job_s_ = 0.8 * mean_job_s_ + 0.2 * job_s;
  }
  idle_cv_.notify_all();
}

void Scheduler::step() {
  for (auto& s : slots_)
    if (s->job && (cancel_all_ || s->job->channel->cancel.load())) {
      s->job->gen->cancel();
      runner_.remove(s->entry);
      complete(*s);
    }
  std::vector<BatchRunner::Outcome> outs = runner_.step();
  const BatchRunner::StepStats& st = runner_.last_step();
  if (st.sequences > 0) metrics_.batch_step(st.sequences, st.tokens, st.forward_seconds, st.drafted, st.accepted);
  for (BatchRunner::Outcome& o : outs) {
    Slot* sp = nullptr;
    for (auto& s : slots_)
      if (s->job && s->entry == o.id) sp = s.get();
    assert(sp);
    Slot& s = *sp;
    Job& job = *s.job;
    if (o.has_token) {
      const double now = now_seconds();
      if (!s.got_token) metrics_.time_to_first_token(now - job.t_arrival);
      else metrics_.inter_token(now - s.t_last_token);
      s.got_token = true;
      s.t_last_token = now;
      Channel::Item item;
      item.index = job.index;
      item.ev = std::move(o.ev);
      item.in_reasoning = job.gen->in_reasoning();
      job.channel->push(std::move(item));
    }
    if (o.done) complete(s, o.error);
  }
}

}  // namespace r1::serve
