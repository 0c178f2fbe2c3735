// Evaluation budget of a Jinja render (see jinja_budget.hpp).
#include "tokenizer/jinja_budget.hpp"

#include <algorithm>
#include <cstdint>

#include "base/error.hpp"

namespace r1::jinja {

namespace {
thread_local Budget* tl_current = nullptr;
constexpr int64_t kCheckEvery = 4096;  // steps between wall-clock reads

// The next step count at which check() runs: kCheckEvery on, or just past the limit.
int64_t next_check(int64_t steps, int64_t max_steps) {
  const int64_t past_limit = max_steps == INT64_MAX ? INT64_MAX : max_steps + 1;
  return steps >= past_limit - kCheckEvery ? past_limit : std::min(steps + kCheckEvery, past_limit);
}
}  // namespace

Budget::Budget(const Limits& limits) : limits_(limits), start_(std::chrono::steady_clock::now()) {
  next_check_ = next_check(0, limits_.max_steps);
}

Budget::~Budget() {
  for (const auto& w : namespaces_)
    if (ObjectPtr ns = w.lock()) {
      // Move the attributes out first: destroying them may drop the last other
      // reference to ns itself.
      auto items = std::move(ns->items);
      ns->items.clear();
    }
}

void Budget::check(int line) {
  if (steps_ > limits_.max_steps)
    fail("chat template line {}: the template ran more than {} evaluation steps (loop or recursion too long)", line,
         limits_.max_steps);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds > limits_.max_seconds)
    fail("chat template line {}: rendering the template took more than {} s", line, limits_.max_seconds);
  next_check_ = next_check(steps_, limits_.max_steps);
}

void Budget::fits(int line, size_t n, const char* what) const {
  if (n > limits_.max_bytes)
    fail("chat template line {}: {} would be {} bytes, more than the limit of {} bytes", line, what, n,
         limits_.max_bytes);
}

void Budget::bytes(int line, size_t n, const char* what) {
  fits(line, n, what);
  step(line, int64_t(n / 64));
}

void Budget::add_namespace(const ObjectPtr& ns) {
  if (namespaces_.size() == namespaces_.capacity())
    std::erase_if(namespaces_, [](const std::weak_ptr<Object>& w) { return w.expired(); });
  namespaces_.push_back(ns);
}

BudgetScope::BudgetScope(Budget& b) : previous_(tl_current) { tl_current = &b; }
BudgetScope::~BudgetScope() { tl_current = previous_; }

Budget* current_budget() { return tl_current; }

void charge_items(int line, const Array& items) {
  Budget* b = current_budget();
  if (!b) return;
  int64_t n = int64_t(items.size());
  for (const Value& v : items)
    if (v.is_string()) n += int64_t(v.str().size() / 64);
  b->step(line, n);
}

}  // namespace r1::jinja
