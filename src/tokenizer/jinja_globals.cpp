// Jinja globals: true/false/none, namespace(), raise_exception(), range(),
// strftime_now(). Behaviour follows @huggingface/jinja.
#include <ctime>

#include "base/error.hpp"
#include "tokenizer/jinja_budget.hpp"
#include "tokenizer/jinja_eval.hpp"

namespace r1::jinja {

void install_globals(Scope& scope) {
  scope.set("true", Value(true));
  scope.set("false", Value(false));
  scope.set("none", Value(None{}));
  scope.set("True", Value(true));
  scope.set("False", Value(false));
  scope.set("None", Value(None{}));
  scope.set("raise_exception", Value(make_fn("raise_exception", [](const CallArgs& a) -> Value {
              const Value* m = a.get(0, "message");
              runtime_error(a.line, fmt::format("the template raised an exception: {}", m ? m->to_string() : ""));
            })));
  scope.set("namespace", Value(make_fn("namespace", [](const CallArgs& a) {
              auto ns = std::make_shared<Object>();
              ns->is_namespace = true;
              if (Budget* b = current_budget()) b->add_namespace(ns);
              if (a.pos.size() > 1) runtime_error(a.line, "namespace() takes at most one positional argument");
              if (a.pos.size() == 1) {
                const Value& src = a.pos[0];
                if (src.is_mapping()) {
                  for (const auto& [k, v] : src.obj()->items) ns->set(k, v);
                } else if (src.is_array()) {
                  for (const Value& pair : *src.arr()) {
                    if (!pair.is_array() || pair.arr()->size() != 2 || !(*pair.arr())[0].is_string())
                      runtime_error(a.line, "namespace() expects [key, value] pairs");
                    ns->set((*pair.arr())[0].str(), (*pair.arr())[1]);
                  }
                } else {
                  runtime_error(a.line, fmt::format("namespace() cannot take a {}", src.type_name()));
                }
              }
              for (const auto& [k, v] : a.kw) ns->set(k, v);
              return Value(ns);
            })));
  scope.set("range", Value(make_fn("range", [](const CallArgs& a) {
              for (const Value& x : a.pos)
                if (!x.is_int()) runtime_error(a.line, "range() arguments must be integers");
              if (a.pos.empty() || a.pos.size() > 3) runtime_error(a.line, "range() takes 1 to 3 arguments");
              int64_t start = 0, stop, step = 1;
              if (a.pos.size() == 1) stop = a.pos[0].as_int();
              else {
                start = a.pos[0].as_int();
                stop = a.pos[1].as_int();
                if (a.pos.size() == 3) step = a.pos[2].as_int();
              }
              if (step == 0) runtime_error(a.line, "range() step must not be zero");
              // Length in unsigned arithmetic (any int64 start, stop and step, INT64_MIN included).
              const uint64_t span = step > 0 ? (start < stop ? uint64_t(stop) - uint64_t(start) : 0)
                                             : (start > stop ? uint64_t(start) - uint64_t(stop) : 0);
              const uint64_t stride = step > 0 ? uint64_t(step) : uint64_t(0) - uint64_t(step);
              const uint64_t n = span == 0 ? 0 : (span - 1) / stride + 1;
              const int64_t max_steps = current_budget() ? current_budget()->limits().max_steps : int64_t(1) << 24;
              if (n > uint64_t(max_steps))
                runtime_error(a.line, fmt::format("range() of {} elements is longer than the step budget ({})", n,
                                                  max_steps));
              charge_steps(a.line, int64_t(n));
              Array out;
              out.reserve(size_t(n));
              for (uint64_t k = 0; k < n; ++k) out.emplace_back(int64_t(uint64_t(start) + k * uint64_t(step)));
              return Value::array(std::move(out));
            })));
  scope.set("strftime_now", Value(make_fn("strftime_now", [](const CallArgs& a) {
              const std::string& f = want_string(a.get(0, "format"), "strftime_now() format", a.line);
              const std::time_t t = std::time(nullptr);
              std::tm tm{};
              localtime_r(&t, &tm);
              static const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                              "July",    "August",   "September", "October", "November", "December"};
              std::string out;
              for (size_t i = 0; i < f.size(); ++i) {
                if (f[i] != '%' || i + 1 == f.size()) {
                  out += f[i];
                  continue;
                }
                const char c = f[++i];
                switch (c) {
                  case 'Y': out += std::to_string(tm.tm_year + 1900); break;
                  case 'm': out += fmt::format("{:02d}", tm.tm_mon + 1); break;
                  case 'd': out += fmt::format("{:02d}", tm.tm_mday); break;
                  case 'b': out += std::string(kMonths[tm.tm_mon]).substr(0, 3); break;
                  case 'B': out += kMonths[tm.tm_mon]; break;
                  case 'H': out += fmt::format("{:02d}", tm.tm_hour); break;
                  case 'M': out += fmt::format("{:02d}", tm.tm_min); break;
                  case '%': out += '%'; break;
                  default: out += '%'; out += c;
                }
              }
              return Value(std::move(out));
            })));
}

}  // namespace r1::jinja
