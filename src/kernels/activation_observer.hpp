// Watching the inputs of the weight products: what llama.cpp's imatrix tool collects
// through its graph callback, here as a hook of the products themselves.
//
// Contract: while an observer is installed, every product of matmul(), matmul_multi(),
// matmul_swiglu() and matmul_ops() reports once per weight matrix, after the product,
// on the thread that called it: the weight (its name and, inside a 3-D tensor, its
// slice index), the llama.cpp operation it stands for, and its float input x (n rows of
// W.cols values, ldx apart; rows a fused prologue wrote are complete by then). Nothing
// is reported while none is installed (one relaxed atomic load per call). The observer
// must not call the products itself.
#pragma once
#include <cstdint>

#include "kernels/matmul_ops.hpp"

namespace r1 {

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void observe(const WeightView& w, MatOrder order, const float* x, int64_t ldx, int64_t n) = 0;
};

// Installs `o` process-wide (null removes it); returns the previous one.
ActivationObserver* set_activation_observer(ActivationObserver* o);

// Installs an observer for the lifetime of the guard.
class ScopedActivationObserver {
 public:
  explicit ScopedActivationObserver(ActivationObserver* o) : prev_(set_activation_observer(o)) {}
  ~ScopedActivationObserver() { set_activation_observer(prev_); }
  ScopedActivationObserver(const ScopedActivationObserver&) = delete;
  ScopedActivationObserver& operator=(const ScopedActivationObserver&) = delete;

 private:
  ActivationObserver* prev_;
};

namespace kernels {
// Reports to the installed observer, if any (the products' side of the contract).
void report_activations(const WeightView& w, MatOrder order, const float* x, int64_t ldx, int64_t n);
// While alive on this thread, products report nothing (a product built from another
// product reports once, with its own operation).
class ReportPause {
 public:
  ReportPause();
  ~ReportPause();
  ReportPause(const ReportPause&) = delete;
  ReportPause& operator=(const ReportPause&) = delete;
};
}  // namespace kernels

}  // namespace r1
