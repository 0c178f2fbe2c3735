// Jinja lexer (contract in jinja_lexer.hpp). The preprocessing passes keep, for
// every byte, the line it had in the original source, so errors point at it.
#include "tokenizer/jinja_lexer.hpp"

#include <array>
#include <utility>

#include "base/error.hpp"
#include "tokenizer/jinja_value.hpp"

namespace r1::jinja {

namespace {

// Text plus the original line of each byte.
struct Src {
  std::string s;
  std::vector<int> line;
  void push(const Src& from, size_t i) {
    s.push_back(from.s[i]);
    line.push_back(from.line[i]);
  }
  void push_range(const Src& from, size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) push(from, i);
  }
};

bool starts(const std::string& s, size_t pos, std::string_view what) { return s.compare(pos, what.size(), what) == 0; }

// Length of a line terminator (\n, \r, U+2028, U+2029) at pos, or 0.
size_t line_terminator(const std::string& s, size_t pos) {
  if (s[pos] == '\n' || s[pos] == '\r') return 1;
  if (starts(s, pos, "\xE2\x80\xA8") || starts(s, pos, "\xE2\x80\xA9")) return 3;
  return 0;
}

// lstrip_blocks: drop spaces/tabs between a line start and "{%", "{#" or "{-".
Src lstrip_blocks(const Src& in) {
  Src out;
  const std::string& s = in.s;
  bool line_start = true;
  for (size_t i = 0; i < s.size();) {
    if (line_start) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j + 1 < s.size() && s[j] == '{' && (s[j + 1] == '%' || s[j + 1] == '#' || s[j + 1] == '-')) i = j;
      line_start = false;
      continue;
    }
    if (size_t t = line_terminator(s, i)) {
      out.push_range(in, i, i + t);
      i += t;
      line_start = true;
      continue;
    }
    out.push(in, i++);
  }
  return out;
}

// trim_blocks: drop a newline right after "%}", "#}" or "-}".
Src trim_blocks(const Src& in) {
  Src out;
  const std::string& s = in.s;
  for (size_t i = 0; i < s.size();) {
    if (i + 2 < s.size() && (s[i] == '%' || s[i] == '#' || s[i] == '-') && s[i + 1] == '}' && s[i + 2] == '\n') {
      out.push_range(in, i, i + 2);
      i += 3;
    } else {
      out.push(in, i++);
    }
  }
  return out;
}

size_t skip_js_space(const std::string& s, size_t i) {
  while (size_t n = js_space_at(s, i)) i += n;
  return i;
}

// Removes transformers' {% generation %} / {% endgeneration %} markers, honouring
// "-" on either side for the whitespace around them.
Src remove_generation_tags(const Src& in) {
  const std::string& s = in.s;
  Src out;
  size_t cursor = 0;
  for (size_t t = s.find("{%"); t != std::string::npos; t = s.find("{%", t + 2)) {
    size_t i = t + 2;
    const bool lstrip = i < s.size() && s[i] == '-';
    if (lstrip) ++i;
    i = skip_js_space(s, i);
    if (starts(s, i, "end")) i += 3;
    if (!starts(s, i, "generation")) continue;
    i = skip_js_space(s, i + 10);
    const bool rstrip = i < s.size() && s[i] == '-';
    if (rstrip) ++i;
    if (!starts(s, i, "%}")) continue;
    const size_t tag_end = i + 2;
    size_t ws = t;
    while (ws > cursor) {
      const size_t n = js_space_before(s, ws);
      if (n == 0) break;
      ws -= n;
    }
    out.push_range(in, cursor, lstrip ? ws : t);
    const size_t after = skip_js_space(s, tag_end);
    if (!rstrip) out.push_range(in, tag_end, after);
    cursor = after;
    t = after - 2;  // the search goes on from `after`
  }
  out.push_range(in, cursor, s.size());
  return out;
}

Src preprocess(std::string_view source) {
  Src src;
  src.s.assign(source);
  int line = 1;
  for (char c : source) {
    src.line.push_back(line);
    if (c == '\n') ++line;
  }
  if (!src.s.empty() && src.s.back() == '\n') {
    src.s.pop_back();
    src.line.pop_back();
  }
  return remove_generation_tags(trim_blocks(lstrip_blocks(src)));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

struct Mapping {
  std::string_view seq;
  Tok type;
};
// Order matters (longest first where one is a prefix of another).
constexpr std::array<Mapping, 29> kMappings = {{
    {"{%", Tok::open_statement}, {"%}", Tok::close_statement}, {"{{", Tok::open_expression},
    {"}}", Tok::close_expression}, {"(", Tok::open_paren}, {")", Tok::close_paren},
    {"{", Tok::open_curly}, {"}", Tok::close_curly}, {"[", Tok::open_square},
    {"]", Tok::close_square}, {",", Tok::comma}, {".", Tok::dot},
    {":", Tok::colon}, {"|", Tok::pipe}, {"<=", Tok::comparison},
    {">=", Tok::comparison}, {"==", Tok::comparison}, {"!=", Tok::comparison},
    {"<", Tok::comparison}, {">", Tok::comparison}, {"+", Tok::additive},
    {"-", Tok::additive}, {"~", Tok::additive}, {"**", Tok::power},
    {"*", Tok::multiplicative}, {"//", Tok::multiplicative}, {"/", Tok::multiplicative},
    {"%", Tok::multiplicative}, {"=", Tok::equals},
}};

class Lexer {
 public:
  explicit Lexer(Src src) : src_(std::move(src)), s_(src_.s) {}

  std::vector<Token> run() {
    while (cur_ < s_.size()) step();
    return std::move(tokens_);
  }

 private:
  Src src_;
  const std::string& s_;
  size_t cur_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;

  int line_at(size_t pos) const { return src_.line.empty() ? 1 : src_.line[std::min(pos, src_.line.size() - 1)]; }
  [[noreturn]] void error(size_t pos, const std::string& what) const {
    fail("chat template line {}: {}", line_at(pos), what);
  }
  void push(Tok t, std::string v, size_t pos) { tokens_.push_back({t, std::move(v), line_at(pos)}); }
  bool last_is(std::initializer_list<Tok> types) const {
    if (tokens_.empty()) return false;
    for (Tok t : types)
      if (tokens_.back().type == t) return true;
    return false;
  }

  void strip_trailing_whitespace() {
    if (tokens_.empty() || tokens_.back().type != Tok::text) return;
    tokens_.back().value = js_trim(tokens_.back().value, false, true);
    if (tokens_.back().value.empty()) tokens_.pop_back();
  }

  void step() {
    // Text outside tags.
    if (tokens_.empty() || last_is({Tok::close_statement, Tok::close_expression, Tok::comment})) {
      const size_t start = cur_;
      while (cur_ < s_.size() &&
             !(s_[cur_] == '{' && cur_ + 1 < s_.size() && (s_[cur_ + 1] == '%' || s_[cur_ + 1] == '{' || s_[cur_ + 1] == '#')))
        ++cur_;
      if (cur_ > start) {
        push(Tok::text, s_.substr(start, cur_ - start), start);
        return;
      }
    }
    if (starts(s_, cur_, "{#")) return comment();
    if (starts(s_, cur_, "{%-")) {
      strip_trailing_whitespace();
      push(Tok::open_statement, "{%", cur_);
      cur_ += 3;
      return;
    }
    if (starts(s_, cur_, "{{-")) {
      strip_trailing_whitespace();
      push(Tok::open_expression, "{{", cur_);
      curly_depth_ = 0;
      cur_ += 3;
      return;
    }
    cur_ = skip_js_space(s_, cur_);
    if (cur_ >= s_.size()) error(cur_, "unexpected end of template inside a tag");
    if (starts(s_, cur_, "-%}") || starts(s_, cur_, "-}}")) {
      push(s_[cur_ + 1] == '%' ? Tok::close_statement : Tok::close_expression, s_.substr(cur_ + 1, 2), cur_);
      cur_ = skip_js_space(s_, cur_ + 3);
      return;
    }
    const char c = s_[cur_];
    if ((c == '-' || c == '+')) {
      if (tokens_.empty() || last_is({Tok::text})) error(cur_, fmt::format("unexpected character '{}'", c));
      if (!last_is({Tok::identifier, Tok::number, Tok::string, Tok::close_paren, Tok::close_square})) {
        const size_t start = cur_++;
        std::string num = digits();
        if (!num.empty() && cur_ + 1 < s_.size() && s_[cur_] == '.' && is_digit(s_[cur_ + 1])) {
          ++cur_;
          num += "." + digits();
        }
        push(num.empty() ? Tok::unary : Tok::number, std::string(1, c) + num, start);
        return;
      }
    }
    for (const auto& m : kMappings) {
      if (m.seq == "}}" && curly_depth_ > 0) continue;
      if (!starts(s_, cur_, m.seq)) continue;
      push(m.type, std::string(m.seq), cur_);
      if (m.type == Tok::open_expression) curly_depth_ = 0;
      if (m.type == Tok::open_curly) ++curly_depth_;
      if (m.type == Tok::close_curly) --curly_depth_;
      cur_ += m.seq.size();
      return;
    }
    if (c == '\'' || c == '"') return string_literal(c);
    if (is_digit(c)) {
      const size_t start = cur_;
      std::string num = digits();
      if (!last_is({Tok::dot}) && cur_ + 1 < s_.size() && s_[cur_] == '.' && is_digit(s_[cur_ + 1])) {
        ++cur_;
        num += "." + digits();
      }
      push(Tok::number, num, start);
      return;
    }
    if (is_word(c)) {
      const size_t start = cur_;
      while (cur_ < s_.size() && is_word(s_[cur_])) ++cur_;
      push(Tok::identifier, s_.substr(start, cur_ - start), start);
      return;
    }
    error(cur_, fmt::format("unexpected character '{}'", utf8_chars(s_.substr(cur_, 4)).front()));
  }

  std::string digits() {
    const size_t start = cur_;
    while (cur_ < s_.size() && is_digit(s_[cur_])) ++cur_;
    return s_.substr(start, cur_ - start);
  }

  void comment() {
    const size_t start = cur_;
    cur_ += 2;
    const bool strip_before = cur_ < s_.size() && s_[cur_] == '-';
    if (strip_before) ++cur_;
    const size_t end = s_.find("#}", cur_);
    if (end == std::string::npos) error(start, "unterminated comment {# ... #}");
    std::string text = s_.substr(cur_, end - cur_);
    const bool strip_after = !text.empty() && text.back() == '-';
    if (strip_after) text.pop_back();
    if (strip_before) strip_trailing_whitespace();
    push(Tok::comment, std::move(text), start);
    cur_ = end + 2;
    if (strip_after) cur_ = skip_js_space(s_, cur_);
  }

  void string_literal(char quote) {
    const size_t start = cur_++;
    std::string out;
    uint32_t pending_high = 0;  // a \uD8xx waiting for its low surrogate
    auto flush_high = [&] {
      if (pending_high) append_utf8(out, 0xFFFD);
      pending_high = 0;
    };
    for (;;) {
      if (cur_ >= s_.size()) error(start, "unterminated string literal");
      const char c = s_[cur_];
      if (c == quote) break;
      if (c != '\\') {
        flush_high();
        out += c;
        ++cur_;
        continue;
      }
      if (++cur_ >= s_.size()) error(start, "unterminated string literal");
      const char e = s_[cur_++];
      if (e == 'x' || e == 'u') {
        const size_t len = e == 'x' ? 2 : 4;
        const std::string hex = s_.substr(cur_, len);
        if (hex.size() != len || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          error(cur_, fmt::format("invalid escape \\{}{}", e, hex));
        cur_ += len;
        const uint32_t u = uint32_t(std::stoul(hex, nullptr, 16));
        if (u >= 0xD800 && u < 0xDC00) {
          flush_high();
          pending_high = u;
        } else if (u >= 0xDC00 && u < 0xE000) {
          if (pending_high) append_utf8(out, 0x10000 + ((pending_high - 0xD800) << 10) + (u - 0xDC00));
          else append_utf8(out, 0xFFFD);
          pending_high = 0;
        } else {
          flush_high();
          append_utf8(out, u);
        }
        continue;
      }
      flush_high();
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        default: error(cur_ - 1, fmt::format("unsupported escape '\\{}' in a string literal", e));
      }
    }
    flush_high();
    ++cur_;  // closing quote
    push(Tok::string, std::move(out), start);
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(preprocess(source)).run(); }

}  // namespace r1::jinja
