#include "eval/verifier.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <cerrno>
#include <cstdlib>
#include <numeric>

namespace r1::eval {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Character classes of the patterns below (C locale, ASCII only, as std::regex's
// \d, \s and \w were).
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }
template <class Pred>
size_t skip_while(std::string_view s, size_t i, Pred pred) {
  while (i < s.size() && pred(s[i])) ++i;
  return i;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t p = 0;
  while ((p = s.find(from, p)) != std::string::npos) {
    s.replace(p, from.size(), to);
    p += to.size();
  }
}

// Index of the '}' matching the '{' at `open`, or npos.
size_t matching_brace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;  // escaped brace
      continue;
    }
    if (s[i] == '{') ++depth;
    else if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string::npos;
}

bool ends_with_digit_ignoring_spaces(const std::string& s, size_t end) {
  while (end > 0 && s[end - 1] == ' ') --end;
  return end > 0 && std::isdigit(static_cast<unsigned char>(s[end - 1]));
}

// Unwraps \text{..}-like commands; drops one that follows a number (a unit).
void unwrap_text_commands(std::string& s) {
  static const char* cmds[] = {"\\textnormal", "\\textbf", "\\textit", "\\text", "\\mathrm", "\\mathbf",
                               "\\mbox", "\\operatorname"};
  for (bool changed = true; changed;) {
    changed = false;
    for (const char* cmd : cmds) {
      const size_t len = std::char_traits<char>::length(cmd);
      for (size_t p = s.find(cmd); p != std::string::npos; p = s.find(cmd, p + 1)) {
        size_t q = p + len;
        while (q < s.size() && s[q] == ' ') ++q;
        if (q >= s.size() || s[q] != '{') continue;
        const size_t close = matching_brace(s, q);
        if (close == std::string::npos) continue;
        const std::string inner = s.substr(q + 1, close - q - 1);
        const bool unit = p > 0 && ends_with_digit_ignoring_spaces(s, p) &&
                          std::any_of(inner.begin(), inner.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
        s.replace(p, close + 1 - p, unit ? "" : inner);
        changed = true;
        break;
      }
      if (changed) break;
    }
  }
}

// LaTeX and punctuation wrappers around an answer removed (see the header).
std::string strip_wrappers(std::string_view in) {
  std::string s = trim(in);
  for (bool changed = true; changed;) {
    changed = false;
    auto strip_pair = [&](std::string_view open, std::string_view close) {
      if (s.size() >= open.size() + close.size() && s.compare(0, open.size(), open) == 0 &&
          s.compare(s.size() - close.size(), close.size(), close) == 0) {
        s = trim(s.substr(open.size(), s.size() - open.size() - close.size()));
        changed = true;
      }
    };
    strip_pair("$", "$");
    strip_pair("\\(", "\\)");
    strip_pair("\\[", "\\]");
  }
  for (auto [from, to] : {std::pair{"\\displaystyle", ""}, {"\\left", ""}, {"\\right", ""}, {"\\!", ""},
                          {"\\,", ""}, {"\\;", ""}, {"\\:", ""}, {"\\ ", " "}, {"\\dfrac", "\\frac"},
                          {"\\tfrac", "\\frac"}, {"^{\\circ}", ""}, {"^\\circ", ""}, {"°", ""}, {"\\%", ""},
                          {"%", ""}, {"\\$", ""}, {"$", ""}, {"{,}", ","}, {"−", "-"}, {"~", " "}})
    replace_all(s, from, to);
  unwrap_text_commands(s);
  s = trim(s);
  while (!s.empty() && s.back() == '.') s = trim(s.substr(0, s.size() - 1));
  // "x = <value>": a letter, '=', then a value on one line.
  if (s.size() >= 2 && is_alpha(s[0])) {
    const size_t eq = skip_while(s, 1, is_space);
    if (eq < s.size() && s[eq] == '=') {
      const size_t v = skip_while(s, eq + 1, is_space);
      if (v < s.size() && s.find_first_of("\r\n", v) == std::string::npos) s = trim(s.substr(v));
    }
  }
  // Parentheses around a single value (no comma: not a tuple or interval).
  while (s.size() >= 2 && s.front() == '(' && s.back() == ')' && s.find(',') == std::string::npos) {
    int depth = 0;
    bool outer = true;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
      if (depth == 0) outer = false;
    }
    if (!outer) break;
    s = trim(s.substr(1, s.size() - 2));
  }
  return s;
}

std::string remove_spaces(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
          s.end());
  return s;
}

// Matches ^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$ : "12", "12.", "12.5", ".5", "1e3".
bool is_plain_decimal(std::string_view s) {
  size_t i = skip_while(s, 0, is_digit);
  if (i > 0) {
    if (i < s.size() && s[i] == '.') i = skip_while(s, i + 1, is_digit);
  } else {
    if (s.empty() || s[0] != '.') return false;
    i = skip_while(s, 1, is_digit);
    if (i == 1) return false;
  }
  if (i == s.size()) return true;
  if (s[i] != 'e' && s[i] != 'E') return false;
  ++i;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t e = skip_while(s, i, is_digit);
  return e > i && e == s.size();
}

// Matches ^\d{1,3}(,\d{3})+(\.\d+)?$ : "1,234", "12,345,678.5".
bool is_grouped_decimal(std::string_view s) {
  size_t i = skip_while(s, 0, is_digit);
  if (i < 1 || i > 3) return false;
  int groups = 0;
  while (i < s.size() && s[i] == ',') {
    const size_t e = skip_while(s, i + 1, is_digit);
    if (e - (i + 1) != 3) return false;
    i = e;
    ++groups;
  }
  if (groups == 0) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  const size_t e = skip_while(s, i + 1, is_digit);
  return e > i + 1 && e == s.size();
}

// strtod of a checked decimal; nullopt when it is out of double's range ("1e400":
// such an answer then compares as a string).
std::optional<double> to_double(const std::string& s) {
  errno = 0;
  const double v = std::strtod(s.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A plain unsigned decimal: "12", "12.5", ".5", "1,234,567.8".
std::optional<double> parse_plain(const std::string& s) {
  if (is_plain_decimal(s)) return to_double(s);
  if (is_grouped_decimal(s)) {
    std::string t = s;
    t.erase(std::remove(t.begin(), t.end(), ','), t.end());
    return to_double(t);
  }
  return std::nullopt;
}

// Letter of a multiple-choice key "B" / "(B)" (also "(B" and "B)"), or 0.
char choice_key(const std::string& ref) {
  std::string_view s = ref;
  if (!s.empty() && s[0] == '(') s.remove_prefix(1);
  if (!s.empty() && s.back() == ')') s.remove_suffix(1);
  return s.size() == 1 && s[0] >= 'A' && s[0] <= 'J' ? s[0] : 0;
}

// The letter of \(?([A-J])\)?(?:[.:)\s]|$) matched at i ([A-Ja-j] unless
// upper_only), or 0. A ')' after the letter satisfies the tail by itself, so
// "(B)x" matches as "(B" + ")"; without the optional '(' the letter would have to
// be '(', so taking it is the only way.
char choice_at(std::string_view s, size_t i, bool upper_only) {
  if (i < s.size() && s[i] == '(') ++i;
  if (i >= s.size()) return 0;
  const char c = s[i];
  const bool letter = (c >= 'A' && c <= 'J') || (!upper_only && c >= 'a' && c <= 'j');
  if (!letter) return 0;
  const size_t t = i + 1;
  return t >= s.size() || s[t] == '.' || s[t] == ':' || s[t] == ')' || is_space(s[t]) ? c : 0;
}

// Case-insensitive: s[i..] starts with the lower-case `word`.
bool starts_with_icase(std::string_view s, size_t i, std::string_view word) {
  if (i > s.size() || s.size() - i < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(s[i + k])) != word[k]) return false;
  return true;
}

// The letter of ^(?:option|choice|answer)\s*(?:is)?\s*:?\s*\(?([A-J])\)?(?:[.:)\s]|$)
// matched case-insensitively, trying the optional parts in the regex's order (taken
// first), or 0. Whitespace runs are taken whole: stopping one early leaves a space
// where the next token (none of which is a space) must start.
char choice_named(std::string_view s) {
  size_t i = std::string_view::npos;
  for (std::string_view w : {"option", "choice", "answer"})
    if (starts_with_icase(s, 0, w)) i = w.size();
  if (i == std::string_view::npos) return 0;
  i = skip_while(s, i, is_space);
  for (bool take_is : {true, false}) {
    size_t j = i;
    if (take_is) {
      if (!starts_with_icase(s, j, "is")) continue;
      j = skip_while(s, j + 2, is_space);
    }
    for (bool take_colon : {true, false}) {
      size_t k = j;
      if (take_colon) {
        if (k >= s.size() || s[k] != ':') continue;
        k = skip_while(s, k + 1, is_space);
      }
      if (const char c = choice_at(s, k, /*upper_only=*/false)) return c;
    }
  }
  return 0;
}

char choice_given(const std::string& given) {
  if (const char c = choice_at(given, 0, /*upper_only=*/true)) return c;
  if (const char c = choice_named(given)) return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return 0;
}

// The number of ^([\d.,]+)\s+[A-Za-z][A-Za-z ]*$ ("5 cm", "12 dollars"), or nullopt.
std::optional<std::string_view> number_with_unit(std::string_view s) {
  const size_t n = skip_while(s, 0, [](char c) { return is_digit(c) || c == '.' || c == ','; });
  if (n == 0) return std::nullopt;
  const size_t w = skip_while(s, n, is_space);
  if (w == n || w >= s.size() || !is_alpha(s[w])) return std::nullopt;
  if (skip_while(s, w, [](char c) { return is_alpha(c) || c == ' '; }) != s.size()) return std::nullopt;
  return s.substr(0, n);
}

// A copy of s with each match of a pattern that begins with the literal `lead`
// replaced, scanning left to right without overlap (as std::regex_replace does).
// rewrite(s, i, out), called where `lead` occurs at i, appends the replacement and
// returns the end of the match, or returns i when nothing matches there.
template <class Rewrite>
std::string rewrite_each(std::string_view s, std::string_view lead, Rewrite rewrite) {
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    const size_t end = s.compare(i, lead.size(), lead) == 0 ? rewrite(s, i, out) : i;
    if (end > i) {
      i = end;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// \frac12 -> \frac{1}{2} (the pattern \\frac(\d)(\d)).
std::string brace_short_frac(std::string_view s) {
  return rewrite_each(s, "\\frac", [](std::string_view t, size_t i, std::string& out) {
    const size_t a = i + 5;
    if (a + 1 >= t.size() || !is_digit(t[a]) || !is_digit(t[a + 1])) return i;
    out += fmt::format("\\frac{{{}}}{{{}}}", t[a], t[a + 1]);
    return a + 2;
  });
}

// \sqrt2 -> \sqrt{2}, \sqrt12 -> \sqrt{12}, \sqrtx -> \sqrt{x} (the pattern \\sqrt(\d+|[a-zA-Z])).
std::string brace_short_sqrt(std::string_view s) {
  return rewrite_each(s, "\\sqrt", [](std::string_view t, size_t i, std::string& out) {
    const size_t a = i + 5;
    size_t e = skip_while(t, a, is_digit);
    if (e == a && a < t.size() && is_alpha(t[a])) e = a + 1;
    if (e == a) return i;
    out += "\\sqrt{";
    out += t.substr(a, e - a);
    out += '}';
    return e;
  });
}

// x^{2} -> x^2, a_{n} -> a_n (the pattern ([\^_])\{(\w)\}).
std::string unbrace_scripts(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '^' || s[i] == '_') && i + 3 < s.size() && s[i + 1] == '{' && is_word(s[i + 2]) && s[i + 3] == '}') {
      out += s[i];
      out += s[i + 2];
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> extract_boxed(std::string_view text) {
  // Candidates are tried from the last one back; the first that yields an answer wins
  // (the one that starts last). Linear in the text: when the '{' of a candidate never
  // closes, no earlier '{' whose scan reaches it can close either (its depth stays
  // above that one's), so scans stop at the earliest unclosed brace found so far and
  // no character is scanned twice.
  size_t unclosed = text.size();  // scans stop here: no match at or beyond it
  const std::string_view cmds[2] = {"\\boxed", "\\fbox"};
  size_t next[2] = {text.rfind(cmds[0]), text.rfind(cmds[1])};  // last occurrence of each not tried yet
  for (;;) {
    constexpr size_t npos = std::string_view::npos;
    const int k = next[0] == npos ? 1 : next[1] == npos ? 0 : next[0] > next[1] ? 0 : 1;
    const size_t p = next[k];
    if (p == npos) return std::nullopt;
    // Both commands hold one '\', at their start, so occurrences never overlap.
    next[k] = p == 0 ? npos : text.rfind(cmds[k], p - 1);
    size_t q = p + cmds[k].size();
    if (q < text.size() && text[q] == '{') {
      const size_t close = matching_brace(text.substr(0, unclosed), q);
      if (close != npos) return std::string(text.substr(q + 1, close - q - 1));
      unclosed = q;
    } else if (q < text.size() && text[q] == ' ') {
      q = skip_while(text, q, [](char c) { return c == ' '; });
      size_t e = q;
      while (e < text.size() && !is_space(text[e]) && text[e] != '$') ++e;
      if (e > q) return std::string(text.substr(q, e - q));
    }
  }
}

std::optional<std::string> extract_answer(std::string_view text) {
  if (auto b = extract_boxed(text)) return trim(*b);
  const size_t hashes = text.rfind("####");
  if (hashes != std::string_view::npos) {
    std::string_view rest = text.substr(hashes + 4);
    const std::string a = trim(rest.substr(0, rest.find('\n')));
    if (!a.empty()) return a;
  }
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  size_t best = std::string::npos, skip = 0;
  for (const std::string_view pat : {std::string_view("answer is"), std::string_view("answer:")}) {
    const size_t p = lower.rfind(pat);
    if (p != std::string::npos && (best == std::string::npos || p > best)) {
      best = p;
      skip = pat.size();
    }
  }
  if (best != std::string::npos) {
    std::string_view rest = text.substr(best + skip);
    std::string a = trim(rest.substr(0, rest.find('\n')));
    if (!a.empty() && a[0] == ':') a = trim(a.substr(1));
    while (!a.empty() && a.back() == '.') a.pop_back();
    if (!a.empty()) return a;
  }
  return std::nullopt;
}

std::string gsm8k_reference(std::string_view answer_field) {
  const size_t p = answer_field.rfind("####");
  if (p == std::string_view::npos) return std::string(answer_field);
  std::string a = trim(answer_field.substr(p + 4));
  return a;
}

std::optional<double> parse_number(std::string_view in) {
  if (in.size() > kMaxAnswerBytes) return std::nullopt;
  std::string s = remove_spaces(strip_wrappers(in));
  double sign = 1;
  while (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-') sign = -sign;
    s.erase(0, 1);
  }
  if (s.empty()) return std::nullopt;
  if (s.rfind("\\frac", 0) == 0) {
    std::string rest = s.substr(5), a, b;
    auto arg = [&](std::string* out) {
      if (rest.empty()) return false;
      if (rest[0] == '{') {
        const size_t close = matching_brace(rest, 0);
        if (close == std::string::npos) return false;
        *out = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);
      } else {
        *out = rest.substr(0, 1);
        rest = rest.substr(1);
      }
      return true;
    };
    if (!arg(&a) || !arg(&b) || !rest.empty()) return std::nullopt;
    auto x = parse_number(a), y = parse_number(b);
    if (!x || !y || *y == 0) return std::nullopt;
    return sign * *x / *y;
  }
  const size_t slash = s.find('/');
  if (slash != std::string::npos) {
    auto x = parse_plain(s.substr(0, slash)), y = parse_plain(s.substr(slash + 1));
    if (!x || !y || *y == 0) return std::nullopt;
    return sign * *x / *y;
  }
  auto v = parse_plain(s);
  if (!v) {
    // A number followed by unit words: "5 cm", "12 dollars" (a space is required,
    // so "3x" stays an expression).
    const std::string spaced = strip_wrappers(in);
    std::string_view body = spaced;
    while (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
    if (const auto num = number_with_unit(body)) v = parse_plain(std::string(*num));
  }
  if (!v) return std::nullopt;
  return sign * *v;
}

std::string normalize_answer(std::string_view in) {
  if (in.size() > kMaxAnswerBytes) return std::string(in);
  std::string s = remove_spaces(strip_wrappers(in));
  s = brace_short_frac(s);
  s = brace_short_sqrt(s);
  s = unbrace_scripts(s);
  while (s.size() >= 2 && s.front() == '{' && matching_brace(s, 0) == s.size() - 1) s = s.substr(1, s.size() - 2);
  if (s.find('\\') == std::string::npos)
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string vote_key(std::string_view s) {
  if (auto v = parse_number(s)) return fmt::format("{:.12g}", *v == 0 ? 0.0 : *v);
  return normalize_answer(s);
}

bool answers_equal(std::string_view given_in, std::string_view ref_in) {
  const std::string ref_raw = ref_in.find("####") != std::string_view::npos ? gsm8k_reference(ref_in) : std::string(ref_in);
  if (given_in.size() > kMaxAnswerBytes || ref_raw.size() > kMaxAnswerBytes) return false;
  const std::string ref = strip_wrappers(ref_raw), given = strip_wrappers(given_in);
  if (ref.empty() || given.empty()) return false;
  if (const char key = choice_key(ref)) return choice_given(given) == key;
  const auto a = parse_number(given), b = parse_number(ref);
  if (a && b) return std::fabs(*a - *b) <= 1e-9 * std::max(1.0, std::fabs(*b));
  return normalize_answer(given) == normalize_answer(ref);
}

// ------------------------------------------------------------------ countdown

namespace {

struct Rational {
  __int128 num = 0, den = 1;
};

constexpr __int128 kLimit = static_cast<__int128>(1) << 62;

bool normalize(Rational& r) {
  if (r.den == 0) return false;
  if (r.den < 0) r.num = -r.num, r.den = -r.den;
  __int128 a = r.num < 0 ? -r.num : r.num, b = r.den;
  while (b) {
    const __int128 t = a % b;
    a = b;
    b = t;
  }
  if (a > 1) r.num /= a, r.den /= a;
  return r.num < kLimit && r.num > -kLimit && r.den < kLimit;
}

class ExprParser {
 public:
  explicit ExprParser(std::string s) : s_(std::move(s)) {}
  bool parse(Rational* out) {
    if (!expr(out)) return false;
    skip();
    return i_ == s_.size();
  }
  std::vector<int64_t> numbers;

 private:
  void skip() {
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
  }
  bool expr(Rational* out) {
    if (!term(out)) return false;
    for (;;) {
      skip();
      if (i_ >= s_.size() || (s_[i_] != '+' && s_[i_] != '-')) return true;
      const char op = s_[i_++];
      Rational r;
      if (!term(&r)) return false;
      out->num = op == '+' ? out->num * r.den + r.num * out->den : out->num * r.den - r.num * out->den;
      out->den *= r.den;
      if (!normalize(*out)) return false;
    }
  }
  bool term(Rational* out) {
    if (!factor(out)) return false;
    for (;;) {
      skip();
      if (i_ >= s_.size() || (s_[i_] != '*' && s_[i_] != '/')) return true;
      const char op = s_[i_++];
      Rational r;
      if (!factor(&r)) return false;
      if (op == '*') {
        out->num *= r.num;
        out->den *= r.den;
      } else {
        if (r.num == 0) return false;
        out->num *= r.den;
        out->den *= r.num;
      }
      if (!normalize(*out)) return false;
    }
  }
  bool factor(Rational* out) {
    skip();
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '(') {
      if (++depth_ > kMaxCountdownNesting) return false;
      ++i_;
      if (!expr(out)) return false;
      --depth_;
      skip();
      if (i_ >= s_.size() || s_[i_] != ')') return false;
      ++i_;
      return true;
    }
    if (!std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
    int64_t v = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      if (v > 100000000000LL) return false;
      v = v * 10 + (s_[i_++] - '0');
    }
    numbers.push_back(v);
    out->num = v;
    out->den = 1;
    return true;
  }
  std::string s_;
  size_t i_ = 0;
  int depth_ = 0;  // parentheses open at i_
};

}  // namespace

bool verify_countdown(std::string_view expr_in, const std::vector<int64_t>& given, int64_t target) {
  if (expr_in.size() > kMaxAnswerBytes) return false;
  std::string s = strip_wrappers(expr_in);
  for (auto [from, to] : {std::pair{"\\times", "*"}, {"\\cdot", "*"}, {"\\div", "/"}, {"×", "*"}, {"÷", "/"},
                          {"x", "*"}, {"{", "("}, {"}", ")"}})
    replace_all(s, from, to);
  const size_t eq = s.find('=');
  if (eq != std::string::npos) s = s.substr(0, eq);
  for (char& c : s)
    if (std::isspace(static_cast<unsigned char>(c))) c = ' ';
  ExprParser p(s);
  Rational v;
  if (!p.parse(&v)) return false;
  std::vector<int64_t> a = p.numbers, b = given;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b && v.den == 1 && v.num == target;
}

Verdict score_answer(const Reference& ref, std::string_view answer_text) {
  Verdict v;
  const auto got = extract_answer(answer_text);
  if (!got) return v;
  v.has_answer = true;
  v.extracted = *got;
  v.correct = ref.verifier == "countdown" ? verify_countdown(*got, ref.numbers, ref.target)
                                          : answers_equal(*got, ref.answer);
  return v;
}

}  // namespace r1::eval
