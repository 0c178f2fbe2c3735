// Jinja evaluator: statements, expressions and operators; Template (jinja.hpp).
#include "tokenizer/jinja_eval.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"
#include "tokenizer/jinja_budget.hpp"
#include "tokenizer/jinja_lexer.hpp"
#include "tokenizer/jinja_parser.hpp"
#include "tokenizer/utf8.hpp"

namespace r1::jinja {

void runtime_error(int line, const std::string& what) { fail("chat template line {}: {}", line, what); }

Value Scope::lookup(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent)
    for (const auto& [k, v] : s->vars)
      if (k == name) return v;
  return Value();
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

namespace {

constexpr int kMaxMacroDepth = 256;

bool numeric_like(const Value& v) { return v.is_number() || v.is_bool(); }
double numeric_value(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_number(); }

// An arithmetic result: an integer when both operands were integers and the
// result fits int64 (JavaScript has one number type: a result outside int64 stays
// a float rather than wrapping).
Value number(double d, bool as_float) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (as_float || !(d >= -kTwo63 && d < kTwo63)) return Value(d);
  return Value(int64_t(d));
}

}  // namespace

struct Interpreter::Nest {
  Interpreter& in;
  Nest(Interpreter& interp, int line) : in(interp) {
    if (++in.depth_ > in.budget_.limits().max_depth) {
      --in.depth_;
      runtime_error(line, fmt::format("the template nests evaluation deeper than {} levels (runaway recursion?)",
                                      in.budget_.limits().max_depth));
    }
  }
  ~Nest() { --in.depth_; }
};

Interpreter::Interpreter(Budget& budget) : budget_(budget) {}

namespace {
// Appends to a render's output (or a captured block) within the size limit.
void append_out(std::string& out, std::string_view text, int line, Budget& budget) {
  budget.fits(line, out.size() + text.size(), "the template output");
  budget.step(line, int64_t(text.size() / 64));
  out += text;
}
}  // namespace

Interpreter::Flow Interpreter::exec(const Block& block, Scope& scope, std::string& out) {
  if (block.empty()) return Flow::normal;
  const Nest nest(*this, block.front()->line);
  for (const StmtPtr& sp : block) {
    const Stmt& s = *sp;
    budget_.step(s.line);
    switch (s.kind) {
      case Stmt::Kind::text: append_out(out, s.text, s.line, budget_); break;
      case Stmt::Kind::output: {
        Value v = eval(*s.expr, scope);
        if (!v.is_none() && !v.is_undefined()) {
          if (v.is_string()) append_out(out, v.str(), s.line, budget_);
          else append_out(out, v.to_string(), s.line, budget_);
        }
        break;
      }
      case Stmt::Kind::set: exec_set(s, scope, eval(*s.expr, scope)); break;
      case Stmt::Kind::set_block: {
        std::string captured;
        exec(s.body, scope, captured);
        exec_set(s, scope, Value(std::move(captured)));
        break;
      }
      case Stmt::Kind::if_: {
        Flow f = exec(eval(*s.expr, scope).truthy() ? s.body : s.orelse, scope, out);
        if (f != Flow::normal) return f;
        break;
      }
      case Stmt::Kind::for_: exec_for(s, scope, out); break;
      case Stmt::Kind::macro: {
        const Stmt* m = &s;
        auto fn = std::make_shared<Function>();
        fn->name = s.text;
        fn->call = [this, m](const CallArgs& args, Scope& caller) { return call_macro(*m, args, caller); };
        scope.set(s.text, Value(FunctionPtr(fn)));
        break;
      }
      case Stmt::Kind::break_: return Flow::break_;
      case Stmt::Kind::continue_: return Flow::continue_;
    }
  }
  return Flow::normal;
}

void Interpreter::exec_set(const Stmt& s, Scope& scope, Value v) {
  const Expr& t = *s.target;
  if (t.kind == Expr::Kind::identifier) {
    scope.set(t.name, std::move(v));
  } else if (t.kind == Expr::Kind::tuple) {
    if (!v.is_array()) runtime_error(s.line, fmt::format("cannot unpack a {} in '{{% set %}}'", v.type_name()));
    const Array& a = *v.arr();
    if (a.size() != t.items.size())
      runtime_error(s.line, fmt::format("'{{% set %}}' unpacks {} values into {} names", a.size(), t.items.size()));
    for (size_t i = 0; i < a.size(); ++i) scope.set(t.items[i]->name, a[i]);
  } else {  // member: ns.attr
    Value obj = eval(*t.a, scope);
    if (!obj.is_namespace()) runtime_error(s.line, "cannot assign an attribute of something that is not a namespace()");
    obj.obj()->set(t.name, std::move(v));
  }
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, Scope& scope, std::string& out) {
  Scope loop_scope(&scope);
  Value iterable = eval(*s.expr, loop_scope);
  Array source;
  if (iterable.is_array()) {
    charge_items(s.line, *iterable.arr());
    source = *iterable.arr();
  } else if (iterable.is_mapping()) {
    budget_.step(s.line, int64_t(iterable.obj()->items.size()));
    for (const auto& kv : iterable.obj()->items) source.emplace_back(kv.first);
  } else {
    runtime_error(s.line, fmt::format("cannot iterate over a {} in '{{% for %}}'", iterable.type_name()));
  }
  const Expr& target = *s.target;
  auto bind = [&](Scope& sc, const Value& item) {
    if (target.kind == Expr::Kind::identifier) {
      sc.set(target.name, item);
      return;
    }
    if (!item.is_array()) runtime_error(s.line, fmt::format("cannot unpack a {} in '{{% for %}}'", item.type_name()));
    const Array& a = *item.arr();
    if (a.size() != target.items.size())
      runtime_error(s.line, fmt::format("'{{% for %}}' unpacks {} values into {} names", a.size(), target.items.size()));
    for (size_t i = 0; i < a.size(); ++i) sc.set(target.items[i]->name, a[i]);
  };
  Array items;
  if (s.cond) {
    for (const Value& item : source) {
      Scope test_scope(&loop_scope);
      bind(test_scope, item);
      if (eval(*s.cond, test_scope).truthy()) items.push_back(item);
    }
  } else {
    items = std::move(source);
  }
  bool iterated = false;  // as the oracle: set only by iterations that end normally
  const int64_t n = int64_t(items.size());
  for (int64_t i = 0; i < n; ++i) {
    budget_.step(s.line, 10);  // the loop object and the bindings
    auto loop = std::make_shared<Object>();
    loop->set("index", Value(i + 1));
    loop->set("index0", Value(i));
    loop->set("revindex", Value(n - i));
    loop->set("revindex0", Value(n - i - 1));
    loop->set("first", Value(i == 0));
    loop->set("last", Value(i == n - 1));
    loop->set("length", Value(n));
    loop->set("previtem", i > 0 ? items[i - 1] : Value());
    loop->set("nextitem", i < n - 1 ? items[i + 1] : Value());
    loop_scope.set("loop", Value(loop));
    bind(loop_scope, items[i]);
    const Flow f = exec(s.body, loop_scope, out);
    if (f == Flow::continue_) continue;
    if (f == Flow::break_) break;
    iterated = true;
  }
  if (!iterated) exec(s.orelse, loop_scope, out);
  return Flow::normal;
}

Value Interpreter::call_macro(const Stmt& m, const CallArgs& args, Scope& caller) {
  if (macro_depth_ >= kMaxMacroDepth)
    runtime_error(args.line, fmt::format("macro '{}' recursion is too deep (more than {} calls)", m.text, kMaxMacroDepth));
  if (args.pos.size() > m.params.size())
    runtime_error(args.line, fmt::format("macro '{}' takes at most {} argument(s), got {}", m.text, m.params.size(),
                                         args.pos.size()));
  Scope scope(&caller);
  std::vector<const Expr*> pending_defaults;
  std::vector<std::string> names;
  for (size_t i = 0; i < m.params.size(); ++i) {
    const Expr& p = *m.params[i];
    names.push_back(p.name);
    const Value* v = i < args.pos.size() ? &args.pos[i] : args.kwarg(p.name);
    if (v) scope.set(p.name, *v);
    else {
      scope.set(p.name, Value());
      if (p.kind == Expr::Kind::kwarg) pending_defaults.push_back(&p);
    }
  }
  for (const auto& [k, v] : args.kw)
    if (std::find(names.begin(), names.end(), k) == names.end())
      runtime_error(args.line, fmt::format("macro '{}' has no parameter '{}'", m.text, k));
  for (const Expr* p : pending_defaults) scope.set(p->name, eval(*p->a, scope));
  ++macro_depth_;
  std::string out;
  try {
    exec(m.body, scope, out);
  } catch (...) {
    --macro_depth_;
    throw;
  }
  --macro_depth_;
  return Value(std::move(out));
}

CallArgs Interpreter::eval_args(const std::vector<ExprPtr>& args, Scope& scope, int line) {
  CallArgs out;
  out.line = line;
  for (const ExprPtr& a : args)
    if (a->kind != Expr::Kind::kwarg) out.pos.push_back(eval(*a, scope));
  for (const ExprPtr& a : args)
    if (a->kind == Expr::Kind::kwarg) {
      if (out.kwarg(a->name)) runtime_error(line, fmt::format("keyword argument '{}' given twice", a->name));
      out.kw.emplace_back(a->name, eval(*a->a, scope));
    }
  return out;
}

Value Interpreter::call(const Expr& e, Scope& scope) {
  CallArgs args = eval_args(e.items, scope, e.line);
  Value fn = eval(*e.a, scope);
  if (!fn.is_function()) {
    std::string what = e.a->kind == Expr::Kind::identifier ? "'" + e.a->name + "'"
                       : e.a->kind == Expr::Kind::member && !e.a->computed ? "method '" + e.a->name + "'"
                                                                           : std::string("expression");
    runtime_error(e.line, fmt::format("cannot call {}: it is {} (not a function)", what,
                                      fn.is_undefined() ? "undefined" : std::string("a ") + fn.type_name()));
  }
  return fn.fn()->call(args, scope);
}

Value Interpreter::binary(const Expr& e, Scope& scope) {
  const std::string& op = e.name;
  Value left = eval(*e.a, scope);
  if (op == "and") return left.truthy() ? eval(*e.b, scope) : left;
  if (op == "or") return left.truthy() ? left : eval(*e.b, scope);
  Value right = eval(*e.b, scope);
  if (op == "==") return Value(loose_equals(left, right));
  if (op == "!=") return Value(!loose_equals(left, right));
  const bool is_in = op == "in" || op == "not in";
  if (left.is_undefined() || right.is_undefined()) {
    if (right.is_undefined() && is_in) return Value(op == "not in");
    runtime_error(e.line, fmt::format("cannot apply '{}' to an undefined value", op));
  }
  if (left.is_none() || right.is_none()) runtime_error(e.line, fmt::format("cannot apply '{}' to none", op));
  auto concat = [&]() {
    std::string l = left.concat_string(), r = right.concat_string();
    budget_.bytes(e.line, l.size() + r.size(), fmt::format("the result of '{}'", op).c_str());
    return Value(l + r);
  };
  if (op == "~") return concat();
  if (op == "**" && numeric_like(left) && numeric_like(right)) {
    const double a = numeric_value(left), b = numeric_value(right);
    if (a == 0 && b < 0) runtime_error(e.line, "0 cannot be raised to a negative power");
    const double r = std::pow(a, b);
    if (!std::isfinite(r)) runtime_error(e.line, "exponentiation result is not a finite real number");
    return number(r, left.is_float() || right.is_float() || b < 0);
  }
  if (left.is_number() && right.is_number()) {
    const double a = left.as_number(), b = right.as_number();
    const bool fl = left.is_float() || right.is_float();
    if (op == "+") return number(a + b, fl);
    if (op == "-") return number(a - b, fl);
    if (op == "*") return number(a * b, fl);
    if ((op == "/" || op == "//" || op == "%") && b == 0) runtime_error(e.line, fmt::format("'{}' by zero", op));
    if (op == "/") return Value(a / b);
    if (op == "//") return number(std::floor(a / b), fl);
    if (op == "%") return number(std::fmod(a, b), fl);
    if (op == "<") return Value(a < b);
    if (op == ">") return Value(a > b);
    if (op == "<=") return Value(a <= b);
    if (op == ">=") return Value(a >= b);
  } else if (left.is_array() && right.is_array()) {
    if (op == "+") {
      charge_items(e.line, *left.arr());
      charge_items(e.line, *right.arr());
      Array a = *left.arr();
      a.insert(a.end(), right.arr()->begin(), right.arr()->end());
      return Value::array(std::move(a));
    }
  } else if (right.is_array() && is_in) {
    budget_.step(e.line, int64_t(right.arr()->size()));
    bool found = false;
    for (const Value& x : *right.arr()) found = found || strict_equals(x, left);
    return Value(found == (op == "in"));
  }
  if ((left.is_string() || right.is_string()) && op == "+") return concat();
  if (left.is_string() && right.is_string()) {
    const std::string &a = left.str(), &b = right.str();
    if (is_in) {
      budget_.step(e.line, int64_t(b.size() / 64 + 1) * int64_t(a.size() / 64 + 1));
      return Value((b.find(a) != std::string::npos) == (op == "in"));
    }
    if (op == "<") return Value(a < b);
    if (op == ">") return Value(a > b);
    if (op == "<=") return Value(a <= b);
    if (op == ">=") return Value(a >= b);
  }
  if (left.is_string() && right.is_mapping() && is_in)
    return Value((right.obj()->find(left.str()) != nullptr) == (op == "in"));
  runtime_error(e.line, fmt::format("unsupported operator '{}' between a {} and a {}", op, left.type_name(), right.type_name()));
}

Value Interpreter::eval(const Expr& e, Scope& scope) {
  const Nest nest(*this, e.line);
  budget_.step(e.line);
  switch (e.kind) {
    case Expr::Kind::literal: return e.value;
    case Expr::Kind::identifier: return scope.lookup(e.name);
    case Expr::Kind::array:
    case Expr::Kind::tuple: {
      Array a;
      for (const ExprPtr& x : e.items) a.push_back(eval(*x, scope));
      charge_items(e.line, a);
      return Value::array(std::move(a));
    }
    case Expr::Kind::object: {
      auto o = std::make_shared<Object>();
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        if (!k.is_string()) runtime_error(e.line, fmt::format("dict keys must be strings, got a {}", k.type_name()));
        o->set(k.str(), eval(*e.items[i + 1], scope));
      }
      return Value(o);
    }
    case Expr::Kind::member: {
      Value obj = eval(*e.a, scope);
      return get_member(obj, e.computed ? eval(*e.b, scope) : Value(e.name), e.line);
    }
    case Expr::Kind::slice: {
      Value obj = eval(*e.a, scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i)
        if (e.items[i]) parts[i] = eval(*e.items[i], scope);
      return get_slice(obj, parts[0], parts[1], parts[2], e.line);
    }
    case Expr::Kind::call: return call(e, scope);
    case Expr::Kind::kwarg: runtime_error(e.line, "keyword argument outside a call");
    case Expr::Kind::unary: {
      Value v = eval(*e.a, scope);
      if (e.name == "not") return Value(!v.truthy());
      if (!numeric_like(v)) runtime_error(e.line, fmt::format("unary '{}' needs a number, got a {}", e.name, v.type_name()));
      const double d = (e.name == "-" ? -1 : 1) * numeric_value(v);
      return number(d, v.is_float());
    }
    case Expr::Kind::binary: return binary(e, scope);
    case Expr::Kind::filter: {
      Value operand = eval(*e.a, scope);
      if (!e.has_args) return apply_filter(e.name, operand, nullptr, e.line);
      CallArgs args = eval_args(e.items, scope, e.line);
      return apply_filter(e.name, operand, &args, e.line);
    }
    case Expr::Kind::test: {
      const bool r = apply_test(e.name, eval(*e.a, scope), e.line);
      return Value(e.negate ? !r : r);
    }
    case Expr::Kind::ternary: return eval(eval(*e.b, scope).truthy() ? *e.a : *e.c, scope);
    case Expr::Kind::select: return eval(*e.b, scope).truthy() ? eval(*e.a, scope) : Value();
  }
  return Value();
}

// ---- Template -----------------------------------------------------------------

namespace {
// A template is text: invalid UTF-8 (a corrupt or hostile file) is refused up front.
std::string_view checked_utf8(std::string_view source) {
  if (utf8::is_valid(source)) return source;
  size_t i = 0, len = 1;
  while (i < source.size() && utf8::decode(source, i, &len) >= 0) i += len;
  const int line = 1 + int(std::count(source.begin(), source.begin() + std::ptrdiff_t(i), '\n'));
  fail("chat template line {}: the template is not valid UTF-8 (bad byte 0x{:02x} at offset {})", line,
       static_cast<unsigned char>(source[i]), i);
}
}  // namespace

Template::Template(std::string_view source)
    : program_(std::make_unique<Program>(parse(tokenize(checked_utf8(source))))) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& vars, const Limits& limits) const {
  if (!vars.is_object()) fail("chat template variables must be a JSON object");
  Budget budget(limits);  // outlives every value of the render (its destructor frees cycles)
  const BudgetScope current(budget);
  Scope globals;
  install_globals(globals);
  for (const auto& [k, v] : vars.items()) globals.set(k, from_json(v));
  Interpreter interp(budget);
  std::string out;
  interp.exec(program_->body, globals, out);
  return out;
}

}  // namespace r1::jinja
