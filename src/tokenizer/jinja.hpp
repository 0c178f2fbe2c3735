// A Jinja subset for chat templates: lexer (jinja_lexer), parser (jinja_parser),
// values (jinja_value), evaluator (jinja_eval) and built-ins (jinja_builtins).
//
// Target semantics: @huggingface/jinja 0.5.11 as used by transformers.js (our
// oracle; tests/reference/template.test.mjs renders the real DeepSeek-R1-Distill,
// DeepSeek-V3 and Qwen3 templates with both). Supported:
//   statements  set (name, a, b = ..., ns.attr = ..., {% set x %}..{% endset %}),
//               if/elif/else, for (tuple targets, `for x in xs if c`, else,
//               loop.index/index0/revindex/revindex0/first/last/length/previtem/
//               nextitem), macro (positional, keyword and default parameters),
//               break, continue, comments, whitespace control, trim/lstrip_blocks
//   expressions literals (int, float, string, list, tuple, dict), member access,
//               subscripts, slices (incl. [::-1]), calls with keyword arguments,
//               + - * / // % ** ~, comparisons, in / not in, and / or / not,
//               `x if c else y`, filters, tests
//   filters     tojson (indent, ensure_ascii, sort_keys, separators), length,
//               string, trim, lower, upper, title, capitalize, default(v, bool),
//               join(sep), first, last, reverse, list, sort, unique, replace,
//               indent, int, float, abs, items, keys/values/dictsort, map(attribute),
//               selectattr/rejectattr, safe
//   tests       defined undefined none string number integer boolean mapping
//               iterable sequence callable true false odd even lower upper
//   methods     str: split rsplit startswith endswith strip lstrip rstrip lower
//               upper title capitalize replace; dict: get items keys values
//   globals     namespace(), raise_exception(), range(), strftime_now(), true/false/none
// Deliberate differences from the oracle, where it departs from Python Jinja:
// strip/lstrip/rstrip(chars) strip exactly `chars` (the oracle ignores the argument
// and trims whitespace); strings compare with < > (the oracle throws); division or
// modulo by zero throws; dict.get(k, d) returns a stored none (the oracle returns d);
// `| default` also works without parentheses; string length, indexing and slicing
// count code points (the oracle counts UTF-16 units for length and indexing);
// upper/lower/title/capitalize change ASCII letters only; sort(case-insensitive)
// and tojson(sort_keys) compare bytes after ASCII lowercasing.
// Anything else (call/filter blocks, include, extends, unknown filters or tests,
// argument unpacking) throws r1::Error naming the construct and the line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace r1::jinja {

struct Program;

// Bounds on one render of an untrusted template (a chat template comes from the
// model file). Exceeding one throws r1::Error naming the limit and the line. The
// defaults are far above what real chat templates need (the DeepSeek-R1, DeepSeek-V3
// and Qwen3 templates over a 2,000-message conversation take 140k-240k steps, 1-2 %
// of max_steps, in about 10 ms) and keep a hostile template to about a second of
// CPU and a few hundred MB. Parsing has its own fixed bound: statements and
// expressions nest at most kMaxNesting levels.
struct Limits {
  // Evaluation steps: one per expression node and statement evaluated, one per
  // loop iteration, one per list element built or copied, one per 64 bytes of
  // string built.
  int64_t max_steps = 10'000'000;
  // Largest string (the output, a {% set %} block, a macro result, tojson, ~ ...).
  size_t max_bytes = size_t(64) << 20;
  // Wall time of one render, checked every few thousand steps.
  double max_seconds = 10.0;
  // Nesting of evaluation: expressions, statements, macro calls together.
  int max_depth = 1000;
};
inline constexpr int kMaxNesting = 200;

class Template {
 public:
  // Parses `source`; throws r1::Error on a syntax error or unsupported statement.
  explicit Template(std::string_view source);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the keys of `vars` (a JSON object) as global variables. Const and
  // thread-safe. Throws r1::Error on runtime errors (raise_exception included).
  std::string render(const nlohmann::ordered_json& vars, const Limits& limits = Limits()) const;

 private:
  std::unique_ptr<Program> program_;
};

}  // namespace r1::jinja
