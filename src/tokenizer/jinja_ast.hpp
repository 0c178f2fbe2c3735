// Jinja syntax tree. Plain structs owned through unique_ptr; immutable after
// parsing, so one parsed template can be rendered from several threads.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/jinja_value.hpp"

namespace r1::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Block = std::vector<StmtPtr>;

struct Expr {
  enum class Kind {
    literal,     // value
    identifier,  // name
    array,       // items
    tuple,       // items
    object,      // items: key0, value0, key1, value1, ...
    member,      // a[b] (computed) or a.name
    slice,       // a[b:c:d]: a, then items = {start, stop, step} (null = absent)
    call,        // a(items...)
    kwarg,       // name=a (only inside call argument lists)
    unary,       // name (not, -, +) a
    binary,      // a name b (or, and, in, not in, ==, +, ~, ...)
    filter,      // a | name or a | name(items...)
    test,        // a is [not] name
    ternary,     // a if b else c
    select,      // a if b (no else: undefined when b is false)
  };
  Kind kind;
  int line = 0;
  int height = 1;              // levels of this subtree (<= kMaxNesting; bounds recursion)
  Value value;                 // literal
  std::string name;            // identifier, member name, operator, filter/test name, kwarg name
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;  // elements / arguments / slice parts
  bool computed = false;       // member: a[b]
  bool negate = false;         // test: is not
  bool has_args = false;       // filter: written with parentheses
};

struct Stmt {
  enum class Kind {
    text,       // text
    output,     // {{ expr }}
    set,        // {% set target = expr %}: target, expr
    set_block,  // {% set target %}body{% endset %}
    if_,        // expr, body, orelse
    for_,       // target, iterable, filter (optional), body, orelse
    macro,      // name, params (identifiers or kwargs with defaults), body
    break_,
    continue_,
  };
  Kind kind;
  int line = 0;
  std::string text;     // text; macro name
  ExprPtr target;       // set / for target (identifier, tuple or member)
  ExprPtr expr;         // output / set value / if test / for iterable
  ExprPtr cond;         // for ... if cond
  std::vector<ExprPtr> params;  // macro parameters
  Block body, orelse;
};

// The parsed template.
struct Program {
  Block body;
};

}  // namespace r1::jinja
