#include "eval/verifier.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <regex>

namespace r1::eval {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
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
  static const std::regex var_eq(R"(^[A-Za-z]\s*=\s*(.+)$)");
  std::smatch m;
  if (std::regex_match(s, m, var_eq)) s = trim(m[1].str());
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

// A plain unsigned decimal: "12", "12.5", ".5", "1,234,567.8".
std::optional<double> parse_plain(const std::string& s) {
  static const std::regex plain(R"(^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$)");
  static const std::regex grouped(R"(^\d{1,3}(,\d{3})+(\.\d+)?$)");
  if (std::regex_match(s, plain)) return std::stod(s);
  if (std::regex_match(s, grouped)) {
    std::string t = s;
    t.erase(std::remove(t.begin(), t.end(), ','), t.end());
    return std::stod(t);
  }
  return std::nullopt;
}

// Letter of a multiple-choice key "B" / "(B)", or 0.
char choice_key(const std::string& ref) {
  static const std::regex key(R"(^\(?([A-J])\)?$)");
  std::smatch m;
  return std::regex_match(ref, m, key) ? m[1].str()[0] : 0;
}

char choice_given(const std::string& given) {
  static const std::regex lead(R"(^\(?([A-J])\)?(?:[.:)\s]|$))");
  static const std::regex named(R"(^(?:option|choice|answer)\s*(?:is)?\s*:?\s*\(?([A-J])\)?(?:[.:)\s]|$))",
                                std::regex::icase);
  std::smatch m;
  if (std::regex_search(given, m, lead)) return m[1].str()[0];
  if (std::regex_search(given, m, named)) return static_cast<char>(std::toupper(m[1].str()[0]));
  return 0;
}

}  // namespace

std::optional<std::string> extract_boxed(std::string_view text) {
  std::optional<std::string> last;
  size_t last_pos = 0;
  for (const char* cmd : {"\\boxed", "\\fbox"}) {
    const size_t len = std::char_traits<char>::length(cmd);
    for (size_t p = text.find(cmd); p != std::string_view::npos; p = text.find(cmd, p + 1)) {
      size_t q = p + len;
      std::optional<std::string> got;
      if (q < text.size() && text[q] == '{') {
        const size_t close = matching_brace(text, q);
        if (close != std::string_view::npos) got = std::string(text.substr(q + 1, close - q - 1));
      } else if (q < text.size() && text[q] == ' ') {
        while (q < text.size() && text[q] == ' ') ++q;
        size_t e = q;
        while (e < text.size() && !std::isspace(static_cast<unsigned char>(text[e])) && text[e] != '$') ++e;
        if (e > q) got = std::string(text.substr(q, e - q));
      }
      if (got && (!last || p > last_pos)) {  // the one that starts last in the text
        last = std::move(got);
        last_pos = p;
      }
    }
  }
  return last;
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
    static const std::regex with_unit(R"(^([\d.,]+)\s+[A-Za-z][A-Za-z ]*$)");
    std::smatch m;
    const std::string spaced = strip_wrappers(in);
    std::string body = spaced;
    while (!body.empty() && (body[0] == '+' || body[0] == '-')) body.erase(0, 1);
    if (std::regex_match(body, m, with_unit)) v = parse_plain(m[1].str());
  }
  if (!v) return std::nullopt;
  return sign * *v;
}

std::string normalize_answer(std::string_view in) {
  std::string s = remove_spaces(strip_wrappers(in));
  static const std::regex frac_short(R"(\\frac(\d)(\d))");
  static const std::regex sqrt_short(R"(\\sqrt(\d+|[a-zA-Z]))");
  s = std::regex_replace(s, frac_short, "\\frac{$1}{$2}");
  s = std::regex_replace(s, sqrt_short, "\\sqrt{$1}");
  static const std::regex script_brace(R"(([\^_])\{(\w)\})");
  s = std::regex_replace(s, script_brace, "$1$2");
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
      ++i_;
      if (!expr(out)) return false;
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
};

}  // namespace

bool verify_countdown(std::string_view expr_in, const std::vector<int64_t>& given, int64_t target) {
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
