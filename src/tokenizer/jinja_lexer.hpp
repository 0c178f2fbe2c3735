// Jinja lexer: template source -> tokens (text runs, tag delimiters, expression
// tokens), with whitespace control applied.
//
// Contract (as @huggingface/jinja with trim_blocks + lstrip_blocks, which is how
// transformers renders chat templates): one trailing newline of the source is
// dropped; spaces/tabs from a line start up to "{%" / "{#" are dropped; a newline
// right after "%}" / "#}" is dropped; "{%-" / "{{-" / "{#-" strip whitespace before
// the tag, "-%}" / "-}}" / "-#}" after it; {% generation %} tags are removed.
// Every token carries the line (1-based) where it starts in the original source.
// Malformed input (unterminated string or comment, bad escape, stray character)
// throws r1::Error naming the line.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace r1::jinja {

enum class Tok {
  text,
  number,          // 12, 1.5, -3 (a sign glued on where it cannot be binary)
  string,          // contents, escapes resolved
  identifier,
  equals,          // =
  open_paren,
  close_paren,
  open_statement,  // {%
  close_statement, // %}
  open_expression, // {{
  close_expression,// }}
  open_square,
  close_square,
  open_curly,
  close_curly,
  comma,
  dot,
  colon,
  pipe,
  additive,        // + - ~
  multiplicative,  // * / // %
  power,           // **
  comparison,      // < > <= >= == !=
  unary,           // + - not followed by a number, where no operand precedes
  comment,
};

struct Token {
  Tok type;
  std::string value;
  int line;
};

std::vector<Token> tokenize(std::string_view source);

}  // namespace r1::jinja
