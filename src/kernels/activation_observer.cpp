// The process-wide activation observer; contract in activation_observer.hpp.
#include "kernels/activation_observer.hpp"

#include <atomic>

namespace r1 {

namespace {
std::atomic<ActivationObserver*> g_observer{nullptr};
thread_local int t_paused = 0;
}  // namespace

ActivationObserver* set_activation_observer(ActivationObserver* o) { return g_observer.exchange(o); }

namespace kernels {

void report_activations(const WeightView& w, MatOrder order, const float* x, int64_t ldx, int64_t n) {
  ActivationObserver* o = g_observer.load(std::memory_order_relaxed);
  if (!o || t_paused > 0 || n <= 0 || w.rows <= 0) return;
  o->observe(w, order, x, ldx, n);
}

ReportPause::ReportPause() { ++t_paused; }
ReportPause::~ReportPause() { --t_paused; }

}  // namespace kernels
}  // namespace r1
