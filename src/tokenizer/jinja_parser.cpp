// Recursive-descent Jinja parser (see jinja_parser.hpp).
#include "tokenizer/jinja_parser.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"

namespace r1::jinja {

namespace {

const char* tok_name(Tok t) {
  switch (t) {
    case Tok::text: return "text";
    case Tok::number: return "number";
    case Tok::string: return "string";
    case Tok::identifier: return "identifier";
    case Tok::equals: return "'='";
    case Tok::open_paren: return "'('";
    case Tok::close_paren: return "')'";
    case Tok::open_statement: return "'{%'";
    case Tok::close_statement: return "'%}'";
    case Tok::open_expression: return "'{{'";
    case Tok::close_expression: return "'}}'";
    case Tok::open_square: return "'['";
    case Tok::close_square: return "']'";
    case Tok::open_curly: return "'{'";
    case Tok::close_curly: return "'}'";
    case Tok::comma: return "','";
    case Tok::dot: return "'.'";
    case Tok::colon: return "':'";
    case Tok::pipe: return "'|'";
    case Tok::additive: return "operator";
    case Tok::multiplicative: return "operator";
    case Tok::power: return "'**'";
    case Tok::comparison: return "comparison";
    case Tok::unary: return "unary operator";
    case Tok::comment: return "comment";
  }
  return "token";
}

// A number token: integer (int64 when it fits, else float) or float ("1.5", "-2").
Value number_value(const std::string& text) {
  errno = 0;
  if (text.find('.') == std::string::npos) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != ERANGE) return Value(int64_t(v));
  }
  return Value(std::strtod(text.c_str(), nullptr));  // overflow gives +-inf, no exception
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Program run() {
    Program p;
    while (cur_ < t_.size())
      if (StmtPtr s = parse_any()) p.body.push_back(std::move(s));
    return p;
  }

 private:
  const std::vector<Token>& t_;
  size_t cur_ = 0;
  // Recursion of the parser (statements inside statements, parenthesised and
  // right-nested expressions): at most kMaxNesting levels. Left-nested chains
  // (a + b + c, a.b.c, a | f | g) are built by loops; seal() bounds their height.
  int depth_ = 0;

  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting)
        p.error(fmt::format("template nesting is too deep (more than {} levels of statements and expressions)",
                            kMaxNesting));
    }
    ~Nest() { --p.depth_; }
  };

  // Sets e's height from its children; a tree higher than kMaxNesting is an error,
  // so that evaluating and destroying any syntax tree recurse at most that deep.
  ExprPtr seal(ExprPtr e) const {
    int h = 0;
    for (const Expr* c : {e->a.get(), e->b.get(), e->c.get()})
      if (c) h = std::max(h, c->height);
    for (const ExprPtr& c : e->items)
      if (c) h = std::max(h, c->height);
    e->height = h + 1;
    if (e->height > kMaxNesting)
      error_at(e->line, fmt::format("template nests expressions too deep (more than {} levels)", kMaxNesting));
    return e;
  }

  int line() const { return t_.empty() ? 1 : cur_ < t_.size() ? t_[cur_].line : t_.back().line; }
  [[noreturn]] void error(const std::string& what) const { fail("chat template line {}: {}", line(), what); }
  [[noreturn]] void error_at(int ln, const std::string& what) const { fail("chat template line {}: {}", ln, what); }

  bool is(Tok type, size_t ahead = 0) const { return cur_ + ahead < t_.size() && t_[cur_ + ahead].type == type; }
  bool is_ident(std::string_view name, size_t ahead = 0) const {
    return is(Tok::identifier, ahead) && t_[cur_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<std::string_view> names) const {
    if (!is(Tok::open_statement) || !is(Tok::identifier, 1)) return false;
    for (auto n : names)
      if (t_[cur_ + 1].value == n) return true;
    return false;
  }
  const Token& next(const char* context) {
    if (cur_ >= t_.size()) error(fmt::format("unexpected end of template ({})", context));
    return t_[cur_++];
  }
  const Token& expect(Tok type, const char* context) {
    if (cur_ >= t_.size()) error(fmt::format("unexpected end of template, expected {} {}", tok_name(type), context));
    if (t_[cur_].type != type)
      error(fmt::format("expected {} {}, got {} '{}'", tok_name(type), context, tok_name(t_[cur_].type), t_[cur_].value));
    return t_[cur_++];
  }
  void expect_ident(std::string_view name) {
    if (!is_ident(name)) error(fmt::format("expected '{}'", name));
    ++cur_;
  }
  // Consumes "{% name %}" closing a block opened at `open_line`.
  void expect_end(std::string_view name, std::string_view opener, int open_line) {
    if (cur_ >= t_.size()) error_at(open_line, fmt::format("'{{% {} %}}' has no '{{% {} %}}'", opener, name));
    expect(Tok::open_statement, "");
    expect_ident(name);
    expect(Tok::close_statement, fmt::format("after '{}'", name).c_str());
  }
  // Parses statements until one of `names` starts (not consumed).
  Block parse_until(std::initializer_list<std::string_view> names, std::string_view opener, int open_line) {
    Block b;
    while (!is_statement(names)) {
      if (cur_ >= t_.size()) {
        std::string want;
        for (auto n : names) want += fmt::format("{}'{{% {} %}}'", want.empty() ? "" : " or ", n);
        error_at(open_line, fmt::format("'{{% {} %}}' has no {}", opener, want));
      }
      if (StmtPtr s = parse_any()) b.push_back(std::move(s));
    }
    return b;
  }

  static ExprPtr make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }
  static StmtPtr make_stmt(Stmt::Kind k, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = k;
    s->line = line;
    return s;
  }

  StmtPtr parse_any() {
    const Token& tok = t_[cur_];
    switch (tok.type) {
      case Tok::comment: ++cur_; return nullptr;
      case Tok::text: {
        auto s = make_stmt(Stmt::Kind::text, tok.line);
        s->text = tok.value;
        ++cur_;
        return s;
      }
      case Tok::open_statement: return parse_statement();
      case Tok::open_expression: {
        ++cur_;
        auto s = make_stmt(Stmt::Kind::output, tok.line);
        s->expr = parse_expression();
        expect(Tok::close_expression, "to close '{{'");
        return s;
      }
      default: error(fmt::format("unexpected {} '{}'", tok_name(tok.type), tok.value));
    }
  }

  StmtPtr parse_statement() {
    Nest nest(*this);
    const int ln = t_[cur_].line;
    ++cur_;  // {%
    if (!is(Tok::identifier)) error("expected a statement name after '{%'");
    const std::string name = t_[cur_++].value;
    if (name == "set") return parse_set(ln);
    if (name == "if") {
      auto s = parse_if(ln);
      expect_end("endif", "if", ln);
      return s;
    }
    if (name == "for") {
      auto s = parse_for(ln);
      expect_end("endfor", "for", ln);
      return s;
    }
    if (name == "macro") {
      auto s = parse_macro(ln);
      expect_end("endmacro", "macro", ln);
      return s;
    }
    if (name == "break" || name == "continue") {
      expect(Tok::close_statement, fmt::format("after '{}'", name).c_str());
      return make_stmt(name == "break" ? Stmt::Kind::break_ : Stmt::Kind::continue_, ln);
    }
    static const char* kKnown[] = {"call", "filter", "include", "extends", "block", "raw", "with", "import", "from",
                                   "do", "autoescape", "trans", "generation"};
    for (const char* k : kKnown)
      if (name == k) error_at(ln, fmt::format("unsupported statement '{{% {} %}}'", name));
    error_at(ln, fmt::format("unknown or misplaced statement '{{% {} %}}'", name));
  }

  StmtPtr parse_set(int ln) {
    ExprPtr target = parse_expression_sequence(false);
    check_assign_target(*target, "set");
    if (is(Tok::equals)) {
      ++cur_;
      auto s = make_stmt(Stmt::Kind::set, ln);
      s->target = std::move(target);
      s->expr = parse_expression_sequence(false);
      expect(Tok::close_statement, "to close '{% set %}'");
      return s;
    }
    expect(Tok::close_statement, "after the '{% set %}' target");
    auto s = make_stmt(Stmt::Kind::set_block, ln);
    s->target = std::move(target);
    s->body = parse_until({"endset"}, "set", ln);
    expect_end("endset", "set", ln);
    return s;
  }

  void check_assign_target(const Expr& e, const char* what) const {
    auto ok_name = [](const Expr& x) { return x.kind == Expr::Kind::identifier; };
    bool ok = ok_name(e) || (e.kind == Expr::Kind::member && !e.computed);
    if (e.kind == Expr::Kind::tuple) {
      ok = true;
      for (const auto& x : e.items) ok = ok && ok_name(*x);
    }
    if (!ok) error_at(e.line, fmt::format("invalid target in '{{% {} %}}'", what));
  }

  StmtPtr parse_if(int ln) {
    Nest nest(*this);  // each elif nests one more if in the tree
    auto s = make_stmt(Stmt::Kind::if_, ln);
    s->expr = parse_expression();
    expect(Tok::close_statement, "to close '{% if %}'");
    s->body = parse_until({"elif", "else", "endif"}, "if", ln);
    if (is_statement({"elif"})) {
      const int eln = t_[cur_].line;
      cur_ += 2;
      s->orelse.push_back(parse_if(eln));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::close_statement, "after 'else'");
      s->orelse = parse_until({"endif"}, "if", ln);
    }
    return s;
  }

  StmtPtr parse_for(int ln) {
    auto s = make_stmt(Stmt::Kind::for_, ln);
    s->target = parse_expression_sequence(true);
    if (s->target->kind != Expr::Kind::identifier) check_assign_target(*s->target, "for");
    if (s->target->kind == Expr::Kind::member) error_at(ln, "invalid loop variable in '{% for %}'");
    if (!is_ident("in")) error("expected 'in' after the loop variable");
    ++cur_;
    ExprPtr iterable = parse_expression();
    if (iterable->kind == Expr::Kind::select) {  // for x in xs if cond
      s->cond = std::move(iterable->b);
      iterable = std::move(iterable->a);
    }
    s->expr = std::move(iterable);
    expect(Tok::close_statement, "to close '{% for %}'");
    s->body = parse_until({"endfor", "else"}, "for", ln);
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::close_statement, "after 'else'");
      s->orelse = parse_until({"endfor"}, "for", ln);
    }
    return s;
  }

  StmtPtr parse_macro(int ln) {
    auto s = make_stmt(Stmt::Kind::macro, ln);
    if (!is(Tok::identifier)) error("expected the macro name");
    s->text = t_[cur_++].value;
    s->params = parse_args(/*parameters=*/true);
    expect(Tok::close_statement, "to close '{% macro %}'");
    s->body = parse_until({"endmacro"}, "macro", ln);
    return s;
  }

  // ---- expressions --------------------------------------------------------

  ExprPtr parse_expression_sequence(bool primary) {
    const int ln = line();
    ExprPtr first = primary ? parse_primary() : parse_expression();
    if (!is(Tok::comma)) return first;
    auto t = make(Expr::Kind::tuple, ln);
    t->items.push_back(std::move(first));
    while (is(Tok::comma)) {
      ++cur_;
      t->items.push_back(primary ? parse_primary() : parse_expression());
    }
    return seal(std::move(t));
  }

  ExprPtr parse_expression() {
    Nest nest(*this);
    return parse_ternary();
  }

  ExprPtr parse_ternary() {
    Nest nest(*this);  // `a if b else c if d else ...` recurses here
    ExprPtr a = parse_or();
    if (!is_ident("if")) return a;
    const int ln = line();
    ++cur_;
    ExprPtr test = parse_or();
    if (is_ident("else")) {
      ++cur_;
      auto e = make(Expr::Kind::ternary, ln);
      e->a = std::move(a);
      e->b = std::move(test);
      e->c = parse_ternary();
      return seal(std::move(e));
    }
    auto e = make(Expr::Kind::select, ln);
    e->a = std::move(a);
    e->b = std::move(test);
    return seal(std::move(e));
  }

  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b, int ln) {
    auto e = make(Expr::Kind::binary, ln);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return seal(std::move(e));
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_ident("or")) {
      const int ln = line();
      ++cur_;
      left = binary("or", std::move(left), parse_and(), ln);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_ident("and")) {
      const int ln = line();
      ++cur_;
      left = binary("and", std::move(left), parse_not(), ln);
    }
    return left;
  }

  ExprPtr parse_not() {
    Nest nest(*this);
    if (is_ident("not")) {
      const int ln = line();
      ++cur_;
      auto e = make(Expr::Kind::unary, ln);
      e->name = "not";
      e->a = parse_not();
      return seal(std::move(e));
    }
    return parse_comparison();
  }

  ExprPtr parse_comparison() {
    ExprPtr left = parse_additive();
    for (;;) {
      const int ln = line();
      std::string op;
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++cur_;
      } else if (is(Tok::comparison)) {
        op = t_[cur_++].value;
      } else {
        return left;
      }
      left = binary(op, std::move(left), parse_additive(), ln);
    }
  }

  ExprPtr parse_additive() {
    ExprPtr left = parse_multiplicative();
    while (is(Tok::additive)) {
      const int ln = line();
      const std::string op = t_[cur_++].value;
      left = binary(op, std::move(left), parse_multiplicative(), ln);
    }
    return left;
  }

  ExprPtr parse_multiplicative() {
    ExprPtr left = parse_power();
    while (is(Tok::multiplicative)) {
      const int ln = line();
      const std::string op = t_[cur_++].value;
      left = binary(op, std::move(left), parse_power(), ln);
    }
    return left;
  }

  ExprPtr parse_power() {
    ExprPtr left = parse_test();
    while (is(Tok::power)) {
      const int ln = line();
      ++cur_;
      left = binary("**", std::move(left), parse_test(), ln);
    }
    return left;
  }

  ExprPtr parse_test() {
    ExprPtr operand = parse_filter();
    while (is_ident("is")) {
      const int ln = line();
      ++cur_;
      const bool negate = is_ident("not");
      if (negate) ++cur_;
      if (!is(Tok::identifier)) error("expected a test name after 'is'");
      auto e = make(Expr::Kind::test, ln);
      e->name = t_[cur_++].value;
      e->negate = negate;
      e->a = std::move(operand);
      if (is(Tok::open_paren)) error(fmt::format("unsupported test with arguments 'is {}(...)'", e->name));
      operand = seal(std::move(e));
    }
    return operand;
  }

  ExprPtr parse_filter() {
    ExprPtr operand = parse_unary_sign();
    while (is(Tok::pipe)) {
      const int ln = line();
      ++cur_;
      if (!is(Tok::identifier)) error("expected a filter name after '|'");
      auto e = make(Expr::Kind::filter, ln);
      e->name = t_[cur_++].value;
      e->a = std::move(operand);
      if (is(Tok::open_paren)) {
        e->has_args = true;
        e->items = parse_args(false);
      }
      operand = seal(std::move(e));
    }
    return operand;
  }

  ExprPtr parse_unary_sign() {
    Nest nest(*this);
    if ((is(Tok::unary) || is(Tok::additive)) && (t_[cur_].value == "-" || t_[cur_].value == "+")) {
      const int ln = line();
      auto e = make(Expr::Kind::unary, ln);
      e->name = t_[cur_++].value;
      e->a = parse_unary_sign();
      return seal(std::move(e));
    }
    return parse_call_member();
  }

  ExprPtr parse_call_member() {
    ExprPtr e = parse_member(parse_primary());
    while (is(Tok::open_paren)) {
      const int ln = line();
      auto call = make(Expr::Kind::call, ln);
      call->a = std::move(e);
      call->items = parse_args(false);
      e = parse_member(seal(std::move(call)));
    }
    return e;
  }

  // (a, b=1, ...): call arguments, or macro parameters (identifiers, name=default).
  std::vector<ExprPtr> parse_args(bool parameters) {
    expect(Tok::open_paren, "to open the argument list");
    std::vector<ExprPtr> args;
    bool saw_keyword = false;
    while (!is(Tok::close_paren)) {
      if (cur_ >= t_.size()) error("unterminated argument list");
      if (is(Tok::power) || (is(Tok::multiplicative) && t_[cur_].value == "*"))
        error("unsupported argument unpacking (* or **)");
      const int ln = line();
      ExprPtr arg = parse_expression();
      if (is(Tok::equals)) {
        ++cur_;
        if (arg->kind != Expr::Kind::identifier) error_at(ln, "expected a name before '=' in an argument list");
        auto kw = make(Expr::Kind::kwarg, ln);
        kw->name = arg->name;
        kw->a = parse_expression();
        arg = seal(std::move(kw));
        saw_keyword = true;
      } else if (saw_keyword) {
        error_at(ln, parameters ? "non-default parameter after a default one" : "positional argument after a keyword argument");
      }
      if (parameters && arg->kind != Expr::Kind::identifier && arg->kind != Expr::Kind::kwarg)
        error_at(ln, "expected a parameter name");
      args.push_back(std::move(arg));
      if (is(Tok::comma)) ++cur_;
      else if (!is(Tok::close_paren)) error("expected ',' or ')' in an argument list");
    }
    ++cur_;
    return args;
  }

  ExprPtr parse_member(ExprPtr object) {
    while (is(Tok::dot) || is(Tok::open_square)) {
      const int ln = line();
      const bool computed = is(Tok::open_square);
      ++cur_;
      if (!computed) {
        auto e = make(Expr::Kind::member, ln);
        e->a = std::move(object);
        if (is(Tok::identifier)) {
          e->name = t_[cur_++].value;
        } else if (is(Tok::number) && t_[cur_].value.find_first_not_of("0123456789") == std::string::npos) {
          e->computed = true;  // foo.0 == foo[0]
          auto idx = make(Expr::Kind::literal, ln);
          idx->value = number_value(t_[cur_++].value);
          if (!idx->value.is_int()) error_at(ln, "index after '.' is too large");
          e->b = std::move(idx);
        } else {
          error("expected a name or an integer after '.'");
        }
        object = seal(std::move(e));
        continue;
      }
      // [index] or [start:stop:step]
      std::vector<ExprPtr> parts;
      bool slice = false;
      ExprPtr current;
      while (!is(Tok::close_square)) {
        if (cur_ >= t_.size()) error("unterminated '['");
        if (is(Tok::colon)) {
          parts.push_back(std::move(current));
          ++cur_;
          slice = true;
        } else {
          if (current) error("expected ':' or ']' in a subscript");
          current = parse_expression();
        }
      }
      ++cur_;  // ]
      if (!slice) {
        if (!current) error_at(ln, "empty subscript '[]'");
        auto e = make(Expr::Kind::member, ln);
        e->computed = true;
        e->a = std::move(object);
        e->b = std::move(current);
        object = seal(std::move(e));
        continue;
      }
      parts.push_back(std::move(current));
      if (parts.size() > 3) error_at(ln, "a slice takes at most three parts");
      auto e = make(Expr::Kind::slice, ln);
      e->a = std::move(object);
      parts.resize(3);
      e->items = std::move(parts);
      object = seal(std::move(e));
    }
    return object;
  }

  ExprPtr parse_primary() {
    const Token& tok = next("expected an expression");
    const int ln = tok.line;
    switch (tok.type) {
      case Tok::number: {
        auto e = make(Expr::Kind::literal, ln);
        e->value = number_value(tok.value);
        return e;
      }
      case Tok::string: {
        std::string s = tok.value;
        while (is(Tok::string)) s += t_[cur_++].value;  // "a" "b" concatenates
        auto e = make(Expr::Kind::literal, ln);
        e->value = Value(std::move(s));
        return e;
      }
      case Tok::identifier: {
        auto e = make(Expr::Kind::identifier, ln);
        e->name = tok.value;
        return e;
      }
      case Tok::open_paren: {
        ExprPtr e = parse_expression_sequence(false);
        expect(Tok::close_paren, "to close '('");
        return e;
      }
      case Tok::open_square: {
        auto e = make(Expr::Kind::array, ln);
        while (!is(Tok::close_square)) {
          if (cur_ >= t_.size()) error_at(ln, "unterminated list literal");
          e->items.push_back(parse_expression());
          if (is(Tok::comma)) ++cur_;
          else if (!is(Tok::close_square)) error("expected ',' or ']' in a list literal");
        }
        ++cur_;
        return seal(std::move(e));
      }
      case Tok::open_curly: {
        auto e = make(Expr::Kind::object, ln);
        while (!is(Tok::close_curly)) {
          if (cur_ >= t_.size()) error_at(ln, "unterminated dict literal");
          e->items.push_back(parse_expression());
          expect(Tok::colon, "between a key and its value");
          e->items.push_back(parse_expression());
          if (is(Tok::comma)) ++cur_;
          else if (!is(Tok::close_curly)) error("expected ',' or '}' in a dict literal");
        }
        ++cur_;
        return seal(std::move(e));
      }
      default:
        --cur_;
        error(fmt::format("unexpected {} '{}' in an expression", tok_name(tok.type), tok.value));
    }
  }
};

}  // namespace

Program parse(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace r1::jinja
