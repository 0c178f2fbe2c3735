#include "serve/http_framing.hpp"

#include <cstdint>
#include <optional>

#include <fmt/format.h>

namespace r1::serve {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

RequestFrame failure(int status, std::string message) {
  RequestFrame f;
  f.state = RequestFrame::State::error;
  f.status = status;
  f.message = std::move(message);
  return f;
}

// Parses a run of digits (base 10 or 16) into a value no larger than limit;
// nullopt for an empty run, another character, or a value over the limit.
std::optional<uint64_t> parse_number(std::string_view s, int base, uint64_t limit) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (v > (limit - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

// The line starting at pos (up to and including '\n'), or empty when no '\n' yet.
std::string_view line_at(std::string_view buf, size_t pos) {
  const size_t nl = buf.find('\n', pos);
  if (nl == std::string_view::npos) return {};
  return buf.substr(pos, nl + 1 - pos);
}

bool ends_crlf(std::string_view line) { return line.size() >= 2 && line[line.size() - 2] == '\r'; }

// Finds the end of a chunked body starting at pos. Returns the request frame
// (complete with end set, incomplete, or an error).
RequestFrame frame_chunked(std::string_view buf, size_t pos, size_t max_body, RequestFrame f) {
  uint64_t total = 0;
  for (;;) {
    const std::string_view size_line = line_at(buf, pos);
    if (size_line.empty()) return f;  // incomplete
    if (!ends_crlf(size_line)) return failure(400, "a chunk-size line of the chunked body does not end in CRLF");
    std::string_view digits = size_line.substr(0, size_line.size() - 2);
    if (const size_t semi = digits.find(';'); semi != std::string_view::npos) digits = digits.substr(0, semi);
    const auto size = parse_number(trim(digits), 16, UINT64_MAX);
    if (!size) return failure(400, "a chunk size of the chunked body is not a hexadecimal number");
    pos += size_line.size();
    if (*size == 0) break;
    if (*size > max_body || total + *size > max_body)
      return failure(413, "the request body is larger than the server accepts (--max-body)");
    total += *size;
    if (buf.size() < pos + *size + 2) return f;  // incomplete
    pos += static_cast<size_t>(*size);
    if (buf[pos] != '\r' || buf[pos + 1] != '\n') return failure(400, "a chunk of the chunked body is not followed by CRLF");
    pos += 2;
  }
  // Trailer lines up to a blank line.
  for (;;) {
    const std::string_view line = line_at(buf, pos);
    if (line.empty()) return f;
    pos += line.size();
    if (line == "\r\n") break;
    if (pos - f.head_end > max_body + 65536) return failure(413, "the chunked body's trailers are too long");
  }
  f.state = RequestFrame::State::complete;
  f.end = pos;
  return f;
}

}  // namespace

size_t leading_empty_lines(std::string_view buf) {
  size_t n = 0;
  for (;;) {
    if (buf.substr(n, 2) == "\r\n") n += 2;
    else if (buf.substr(n, 1) == "\n") n += 1;
    else return n;
  }
}

RequestFrame frame_request(std::string_view buf, size_t max_head, size_t max_body) {
  RequestFrame f;
  // The head: lines up to the first line that is exactly "\r\n".
  size_t pos = 0;
  bool first = true;
  std::optional<uint64_t> length;
  bool has_length = false, has_coding = false, chunked = false;
  for (;;) {
    const std::string_view line = line_at(buf, pos);
    if (line.empty()) {
      if (buf.size() > max_head) return failure(431, fmt::format("the request head is larger than {} bytes", max_head));
      return f;  // incomplete
    }
    if (pos + line.size() > max_head) return failure(431, fmt::format("the request head is larger than {} bytes", max_head));
    const size_t line_pos = pos;
    pos += line.size();
    if (first) {
      first = false;
      continue;  // the request line (httplib parses it)
    }
    if (line == "\r\n") break;
    if (!ends_crlf(line)) continue;  // ignored, as httplib ignores it
    const std::string_view text = line.substr(0, line.size() - 2);
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, colon), value = trim(text.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      const auto v = parse_number(value, 10, UINT64_MAX);
      if (!v) return failure(400, "the Content-Length header is not a number");
      if (has_length && *length != *v) return failure(400, "two Content-Length headers disagree");
      has_length = true;
      length = v;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (has_coding) return failure(400, "more than one Transfer-Encoding header");
      has_coding = true;
      if (!iequals(value, "chunked")) return failure(501, fmt::format("the transfer coding '{}' is not supported (only chunked)", value));
      chunked = true;
    } else if (iequals(name, "Expect") && iequals(value, "100-continue")) {
      f.expect_begin = line_pos;
      f.expect_end = pos;
    }
  }
  f.head_end = pos;
  if (chunked && has_length) return failure(400, "the request has both Content-Length and Transfer-Encoding");
  if (chunked) return frame_chunked(buf, pos, max_body, f);
  const uint64_t body = has_length ? *length : 0;
  if (body > max_body) return failure(413, "the request body is larger than the server accepts (--max-body)");
  if (buf.size() - pos < body) return f;  // incomplete
  f.state = RequestFrame::State::complete;
  f.end = pos + static_cast<size_t>(body);
  return f;
}

}  // namespace r1::serve
