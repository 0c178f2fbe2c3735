// The evaluation budget of one Jinja render (Limits in jinja.hpp) and the
// bookkeeping that keeps hostile templates from exhausting the stack or memory.
//
// Contract: Template::render() creates one Budget and makes it the current one of
// its thread for the duration of the render (BudgetScope); the evaluator and the
// built-ins charge it through the free functions below, which do nothing when no
// render is running (e.g. to_json() called by a test). Evaluation of one render is
// single-threaded, so the thread-local "current budget" is exactly the render's.
// Every charge that goes over a limit throws r1::Error "chat template line N: ...".
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tokenizer/jinja.hpp"
#include "tokenizer/jinja_value.hpp"

namespace r1::jinja {

class Budget {
 public:
  explicit Budget(const Limits& limits);
  // Clears the attributes of every namespace made during the render, which frees
  // the reference cycles a template can build ({% set ns.x = ns %}).
  ~Budget();
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  const Limits& limits() const { return limits_; }
  // Charges n steps; throws when max_steps is spent or (checked every few
  // thousand steps) max_seconds has passed.
  void step(int line, int64_t n = 1) {
    steps_ += n;
    if (steps_ >= next_check_) check(line);
  }
  // Throws when a string of `bytes` bytes would exceed max_bytes; else charges
  // its building (one step per 64 bytes).
  void bytes(int line, size_t bytes, const char* what);
  // Throws when a string of `bytes` bytes would exceed max_bytes (no charge).
  void fits(int line, size_t bytes, const char* what) const;
  // Registers a namespace made by this render (expired ones are dropped as the list grows).
  void add_namespace(const ObjectPtr& ns);
  int64_t steps() const { return steps_; }

 private:
  void check(int line);
  Limits limits_;
  int64_t steps_ = 0, next_check_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::weak_ptr<Object>> namespaces_;
};

// Makes `b` the current budget of this thread while alive (restores the previous).
class BudgetScope {
 public:
  explicit BudgetScope(Budget& b);
  ~BudgetScope();
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;

 private:
  Budget* previous_;
};

// The current render's budget, or nullptr.
Budget* current_budget();
inline void charge_steps(int line, int64_t n) {
  if (Budget* b = current_budget()) b->step(line, n);
}
inline void charge_bytes(int line, size_t n, const char* what) {
  if (Budget* b = current_budget()) b->bytes(line, n, what);
}
inline void check_size(int line, size_t n, const char* what) {
  if (const Budget* b = current_budget()) b->fits(line, n, what);
}
// One step per element, plus the bytes of string elements (a copy of a list
// copies its strings).
void charge_items(int line, const Array& items);

// Deepest nesting of lists / mappings that tojson, printing and from_json follow
// (a namespace that contains itself reaches it at once).
inline constexpr int kMaxValueDepth = 512;

}  // namespace r1::jinja
