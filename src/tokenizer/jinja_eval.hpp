// Jinja evaluator internals shared by jinja_eval.cpp (statements, operators) and
// jinja_builtins.cpp (members, methods, filters, tests, globals).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja.hpp"
#include "tokenizer/jinja_ast.hpp"
#include "tokenizer/jinja_value.hpp"

namespace r1::jinja {

// Variables of one scope; lookups walk to the parent. The global scope holds the
// built-ins and the caller's variables; each for loop and macro call adds one.
struct Scope {
  explicit Scope(Scope* p = nullptr) : parent(p) {}
  Scope* parent;
  std::vector<std::pair<std::string, Value>> vars;

  Value lookup(std::string_view name) const;  // undefined when absent
  void set(const std::string& name, Value v);
};

class Budget;

// Evaluates a syntax tree under `budget` (steps, sizes, time, depth: Limits).
class Interpreter {
 public:
  explicit Interpreter(Budget& budget);
  enum class Flow { normal, break_, continue_ };
  Flow exec(const Block& block, Scope& scope, std::string& out);
  Value eval(const Expr& e, Scope& scope);
  CallArgs eval_args(const std::vector<ExprPtr>& args, Scope& scope, int line);

 private:
  Budget& budget_;
  int depth_ = 0;        // nesting of exec() and eval() calls (<= Limits::max_depth)
  int macro_depth_ = 0;  // macro calls in progress (runaway recursion guard)
  struct Nest;           // counts one level of depth_ while alive

  Flow exec_for(const Stmt& s, Scope& scope, std::string& out);
  void exec_set(const Stmt& s, Scope& scope, Value v);
  Value call(const Expr& e, Scope& scope);
  Value binary(const Expr& e, Scope& scope);
  Value call_macro(const Stmt& m, const CallArgs& args, Scope& caller);
};

// a.b / a[b]: mapping keys (then dict methods), list/string indices (negative from
// the end; out of range: undefined), string methods; undefined otherwise.
Value get_member(const Value& obj, const Value& key, int line);
// a[start:stop:step] on lists and strings (Python slice rules; step 0 is an error).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, int line);
// `operand | name` (args == nullptr) or `operand | name(args)`.
Value apply_filter(const std::string& name, const Value& operand, const CallArgs* args, int line);
// `operand is name`; `arg` is the comparison value of equalto/eq (selectattr).
bool apply_test(const std::string& name, const Value& operand, int line, const Value* arg = nullptr);
// true/false/none (+ capitalised), namespace, raise_exception, range, strftime_now.
void install_globals(Scope& scope);

// A built-in function of the call arguments only (not the caller's scope).
FunctionPtr make_fn(std::string name, std::function<Value(const CallArgs&)> f);
// *v as a string; `what` names it in the error when it is absent or not a string.
const std::string& want_string(const Value* v, const char* what, int line);

[[noreturn]] void runtime_error(int line, const std::string& what);

}  // namespace r1::jinja
