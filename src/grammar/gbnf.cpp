// GBNF text -> Grammar. A recursive-descent parser over the text; rules are built as
// alternatives of symbol sequences, then checked (every rule defined once, root present,
// no left recursion) and flattened.
#include "grammar/gbnf.hpp"

#include <algorithm>
#include <list>
#include <map>

#include "base/error.hpp"

namespace r1::grammar {

bool Grammar::matches(const Symbol& s, uint32_t c) const {
  if (s.kind == Symbol::Kind::any) return true;
  bool in = false;
  for (uint32_t i = 0; i < s.count && !in; ++i) {
    const CharRange& r = ranges[s.value + i];
    in = r.lo <= c && c <= r.hi;
  }
  return s.kind == Symbol::Kind::chars ? in : !in;
}

namespace {

using Sequence = std::vector<Symbol>;
using Alternatives = std::vector<Sequence>;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

class Parser {
 public:
  Parser(std::string_view text, const GrammarLimits& limits) : text_(text), limits_(limits) {}

  Grammar run(std::string_view root_name) {
    if (text_.size() > limits_.max_text)
      fail("grammar: the text has {} bytes (at most {})", text_.size(), limits_.max_text);
    skip_space(true);
    while (pos_ < text_.size()) parse_rule();
    if (defined_.empty()) fail("grammar: no rules");
    for (size_t r = 0; r < names_.size(); ++r)
      if (!defined_[r]) error_at(first_use_[r], "rule '{}' is used but never defined", names_[r]);
    auto root = ids_.find(std::string(root_name));
    if (root == ids_.end()) fail("grammar: no '{}' rule", root_name);
    check_left_recursion();
    return flatten(root->second);
  }

 private:
  template <class... Args>
  [[noreturn]] void error_at(size_t at, fmt::format_string<Args...> f, Args&&... args) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    fail("grammar: line {} column {}: {}", line, col, fmt::format(f, std::forward<Args>(args)...));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char cur() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_space(bool newlines) {
    while (!at_end()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      } else if (newlines && (c == '\n' || c == '\r')) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    size_t start = pos_;
    while (!at_end() && is_word_char(text_[pos_])) ++pos_;
    if (pos_ == start) error_at(pos_, "expecting a rule name");
    return std::string(text_.substr(start, pos_ - start));
  }

  uint32_t rule_id(const std::string& name, size_t at) {
    auto [it, inserted] = ids_.emplace(name, static_cast<uint32_t>(names_.size()));
    if (inserted) {
      names_.push_back(name);
      defined_.push_back(false);
      first_use_.push_back(at);
      bodies_.emplace_back();
    }
    return it->second;
  }

  uint32_t new_rule(const std::string& base) {
    for (;;) {
      std::string name = fmt::format("{}-{}", base, ++generated_);
      if (!ids_.count(name)) {
        uint32_t id = rule_id(name, pos_);
        defined_[id] = true;
        return id;
      }
    }
  }

  void count_symbols(size_t n) {
    n_symbols_ += n;
    if (n_symbols_ > limits_.max_symbols)
      error_at(pos_, "the grammar expands to more than {} symbols", limits_.max_symbols);
  }

  void parse_rule() {
    const size_t at = pos_;
    std::string name = parse_name();
    uint32_t id = rule_id(name, at);
    if (defined_[id]) error_at(at, "rule '{}' is defined twice", name);
    defined_[id] = true;
    skip_space(false);
    if (text_.substr(pos_, 3) != "::=") error_at(pos_, "expecting '::=' after '{}'", name);
    pos_ += 3;
    skip_space(true);
    current_ = name;
    bodies_[id] = parse_alternatives(false, 0);
    if (cur() == '\r') {
      ++pos_;
      if (cur() == '\n') ++pos_;
    } else if (cur() == '\n') {
      ++pos_;
    } else if (!at_end()) {
      error_at(pos_, "expecting the end of the line, found '{}'", cur());
    }
    skip_space(true);
  }

  Alternatives parse_alternatives(bool nested, int depth) {
    Alternatives alts;
    alts.push_back(parse_sequence(nested, depth));
    while (cur() == '|') {
      ++pos_;
      skip_space(true);
      alts.push_back(parse_sequence(nested, depth));
    }
    return alts;
  }

  uint32_t parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      char c = cur();
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) error_at(pos_, "expecting {} hex digits", digits);
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (v > 0x10FFFF) error_at(pos_, "code point U+{:X} is out of range", v);
    return v;
  }

  // One character of a literal or a class: an escape or one UTF-8 encoded code point.
  uint32_t parse_char() {
    if (at_end()) error_at(pos_, "unexpected end of the grammar");
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '\\') {
      ++pos_;
      char e = cur();
      ++pos_;
      switch (e) {
        case 'x': return parse_hex(2);
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        case 't': return '\t';
        case 'r': return '\r';
        case 'n': return '\n';
        case '\\': case '"': case '[': case ']': case '-': case '^': return static_cast<unsigned char>(e);
        default: error_at(pos_ - 1, "unknown escape '\\{}'", e);
      }
    }
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || pos_ + static_cast<size_t>(len) > text_.size()) error_at(pos_, "invalid UTF-8");
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (int i = 1; i < len; ++i) {
      unsigned char b = static_cast<unsigned char>(text_[pos_ + static_cast<size_t>(i)]);
      if ((b >> 6) != 2) error_at(pos_, "invalid UTF-8");
      v = (v << 6) | (b & 0x3Fu);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) error_at(pos_, "invalid UTF-8");
    pos_ += static_cast<size_t>(len);
    return v;
  }

  uint32_t parse_count() {
    size_t start = pos_;
    uint64_t v = 0;
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(text_[pos_] - '0');
      if (v > limits_.max_repeat) error_at(start, "repetition count over {}", limits_.max_repeat);
      ++pos_;
    }
    if (pos_ == start) error_at(pos_, "expecting a number");
    return static_cast<uint32_t>(v);
  }

  // Replaces seq[item_start, end) by `min` copies followed by up to max - min more
  // (max < 0: any number more).
  void repeat(Sequence& seq, size_t item_start, uint32_t min, int64_t max) {
    Sequence item(seq.begin() + static_cast<ptrdiff_t>(item_start), seq.end());
    seq.resize(item_start);
    count_symbols(item.size() * (min + 1) + 2);
    for (uint32_t i = 0; i < min; ++i) seq.insert(seq.end(), item.begin(), item.end());
    if (max < 0) {
      // star ::= item star | ""
      uint32_t star = new_rule(current_);
      Sequence again = item;
      again.push_back(Symbol{Symbol::Kind::rule, star, 0});
      bodies_[star] = Alternatives{again, Sequence{}};
      seq.push_back(Symbol{Symbol::Kind::rule, star, 0});
      return;
    }
    // opt_k ::= item opt_{k+1} | "", built from the innermost one out.
    int64_t optional = max - static_cast<int64_t>(min);
    if (optional <= 0) return;
    count_symbols(item.size() * static_cast<size_t>(optional));
    uint32_t inner = 0;
    bool has_inner = false;
    for (int64_t k = 0; k < optional; ++k) {
      uint32_t opt = new_rule(current_);
      Sequence body = item;
      if (has_inner) body.push_back(Symbol{Symbol::Kind::rule, inner, 0});
      bodies_[opt] = Alternatives{body, Sequence{}};
      inner = opt;
      has_inner = true;
    }
    seq.push_back(Symbol{Symbol::Kind::rule, inner, 0});
  }

  Sequence parse_sequence(bool nested, int depth) {
    Sequence seq;
    size_t last_start = 0;
    bool has_item = false;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        last_start = seq.size();
        has_item = true;
        while (cur() != '"') {
          if (at_end()) error_at(pos_, "unterminated string");
          uint32_t ch = parse_char();
          seq.push_back(Symbol{Symbol::Kind::chars, add_range(ch, ch), 1});
          count_symbols(1);
        }
        ++pos_;
      } else if (c == '[') {
        ++pos_;
        Symbol s{Symbol::Kind::chars, static_cast<uint32_t>(ranges_.size()), 0};
        if (cur() == '^') {
          s.kind = Symbol::Kind::chars_not;
          ++pos_;
        }
        while (cur() != ']') {
          if (at_end()) error_at(pos_, "unterminated character class");
          uint32_t lo = parse_char(), hi = lo;
          if (cur() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
            ++pos_;
            hi = parse_char();
            if (hi < lo) error_at(pos_, "character range is reversed");
          }
          ranges_.push_back(CharRange{lo, hi});
          ++s.count;
        }
        ++pos_;
        last_start = seq.size();
        has_item = true;
        seq.push_back(s);
        count_symbols(1);
      } else if (is_word_char(c)) {
        const size_t at = pos_;
        std::string name = parse_name();
        last_start = seq.size();
        has_item = true;
        seq.push_back(Symbol{Symbol::Kind::rule, rule_id(name, at), 0});
        count_symbols(1);
      } else if (c == '(') {
        if (depth >= limits_.max_depth) error_at(pos_, "groups nested deeper than {}", limits_.max_depth);
        ++pos_;
        skip_space(true);
        uint32_t group = new_rule(current_);
        Alternatives body = parse_alternatives(true, depth + 1);
        if (cur() != ')') error_at(pos_, "expecting ')'");
        ++pos_;
        bodies_[group] = std::move(body);
        last_start = seq.size();
        has_item = true;
        seq.push_back(Symbol{Symbol::Kind::rule, group, 0});
        count_symbols(1);
      } else if (c == '.') {
        ++pos_;
        last_start = seq.size();
        has_item = true;
        seq.push_back(Symbol{Symbol::Kind::any, 0, 0});
        count_symbols(1);
      } else if (c == '*' || c == '+' || c == '?') {
        if (!has_item) error_at(pos_, "'{}' without a preceding item", c);
        ++pos_;
        repeat(seq, last_start, c == '+' ? 1 : 0, c == '?' ? 1 : -1);
      } else if (c == '{') {
        if (!has_item) error_at(pos_, "'{{' without a preceding item");
        ++pos_;
        skip_space(nested);
        uint32_t min = parse_count();
        int64_t max = min;
        skip_space(nested);
        if (cur() == ',') {
          ++pos_;
          skip_space(nested);
          max = (cur() >= '0' && cur() <= '9') ? static_cast<int64_t>(parse_count()) : -1;
          skip_space(nested);
          if (max >= 0 && max < min) error_at(pos_, "repetition {{{},{}}} has max below min", min, max);
        }
        if (cur() != '}') error_at(pos_, "expecting '}}'");
        ++pos_;
        repeat(seq, last_start, min, max);
      } else if (c == '<') {
        error_at(pos_, "token references (<...>) are not supported");
      } else {
        break;  // '|', ')', a newline, or something the caller reports
      }
      skip_space(nested);
    }
    return seq;
  }

  uint32_t add_range(uint32_t lo, uint32_t hi) {
    ranges_.push_back(CharRange{lo, hi});
    return static_cast<uint32_t>(ranges_.size() - 1);
  }

  // A rule is nullable when one of its alternatives can match the empty text; a rule is
  // left-recursive when it can reach itself through the leading, nullable-prefixed rule
  // references of its alternatives. Matching such a rule would expand forever.
  void check_left_recursion() {
    const size_t n = bodies_.size();
    std::vector<char> nullable(n, 0);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : bodies_[r]) {
          bool all = std::all_of(alt.begin(), alt.end(), [&](const Symbol& s) {
            return s.kind == Symbol::Kind::rule && nullable[s.value];
          });
          if (all) {
            nullable[r] = 1;
            changed = true;
            break;
          }
        }
      }
    }
    std::vector<std::vector<uint32_t>> leading(n);
    for (size_t r = 0; r < n; ++r)
      for (const Sequence& alt : bodies_[r])
        for (const Symbol& s : alt) {
          if (s.kind != Symbol::Kind::rule) break;
          leading[r].push_back(s.value);
          if (!nullable[s.value]) break;
        }
    // Iterative depth-first search for a cycle (0 new, 1 on the path, 2 done).
    std::vector<uint8_t> color(n, 0);
    for (size_t start = 0; start < n; ++start) {
      if (color[start]) continue;
      std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(start), 0}};
      color[start] = 1;
      while (!stack.empty()) {
        auto& [r, next] = stack.back();
        if (next < leading[r].size()) {
          uint32_t to = leading[r][next++];
          if (color[to] == 1) fail("grammar: rule '{}' is left-recursive", display_name(to));
          if (color[to] == 0) {
            color[to] = 1;
            stack.emplace_back(to, 0);
          }
        } else {
          color[r] = 2;
          stack.pop_back();
        }
      }
    }
  }

  // Generated rules are reported by the rule they were written in.
  std::string display_name(uint32_t r) const {
    const std::string& s = names_[r];
    return s;
  }

  Grammar flatten(uint32_t root) {
    Grammar g;
    g.ranges = std::move(ranges_);
    g.rule_names = names_;
    g.root = root;
    g.rules.resize(bodies_.size());
    for (size_t r = 0; r < bodies_.size(); ++r) {
      for (const Sequence& alt : bodies_[r]) {
        g.rules[r].push_back(static_cast<uint32_t>(g.symbols.size()));
        g.symbols.insert(g.symbols.end(), alt.begin(), alt.end());
        g.symbols.push_back(Symbol{});
      }
    }
    return g;
  }

  std::string_view text_;
  const GrammarLimits& limits_;
  size_t pos_ = 0;
  std::map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
  std::vector<char> defined_;
  std::vector<size_t> first_use_;
  std::vector<Alternatives> bodies_;
  std::vector<CharRange> ranges_;
  std::string current_;
  size_t n_symbols_ = 0;
  uint32_t generated_ = 0;
};

}  // namespace

std::string gbnf_literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::shared_ptr<const Grammar> shared_gbnf(const std::string& text) {
  static std::mutex mu;
  static std::list<std::pair<std::string, std::shared_ptr<const Grammar>>> lru;  // most recent first
  {
    std::lock_guard lk(mu);
    for (auto it = lru.begin(); it != lru.end(); ++it)
      if (it->first == text) {
        lru.splice(lru.begin(), lru, it);
        return lru.front().second;
      }
  }
  auto g = std::make_shared<const Grammar>(parse_gbnf(text));
  std::lock_guard lk(mu);
  lru.emplace_front(text, g);
  if (lru.size() > 64) lru.pop_back();
  return g;
}

Grammar parse_gbnf(std::string_view text, std::string_view root_rule, const GrammarLimits& limits) {
  return Parser(text, limits).run(root_rule);
}

}  // namespace r1::grammar
