// Jinja parser: tokens -> syntax tree. Operator precedence (loosest first) follows
// @huggingface/jinja: ternary, or, and, not, comparison/in, + - ~, * / // %, **,
// is-tests, | filters, unary sign, calls/members/subscripts, primaries.
// Statements: set (incl. tuple and namespace-attribute targets, block form), if /
// elif / else, for (tuple targets, inline `if` filter, else), macro, break,
// continue, comments. Anything else (call, filter blocks, include, extends, raw,
// with, ...) throws r1::Error "unsupported ... at line N".
#pragma once
#include <vector>

#include "tokenizer/jinja_ast.hpp"
#include "tokenizer/jinja_lexer.hpp"

namespace r1::jinja {

Program parse(const std::vector<Token>& tokens);

}  // namespace r1::jinja
