// Where one HTTP/1.1 request ends in the bytes a connection has received so far.
//
// The connection layer (http_front.cpp) reads requests in full before a worker
// sees them, so it must find their ends exactly as cpp-httplib will parse them:
// - the head is the request line plus header lines, split at '\n'; it ends at the
//   first line that is exactly "\r\n" (lines not ending in "\r\n" are ignored, as
//   httplib ignores them);
// - the body is "Content-Length" bytes (digits only; several must agree), or a
//   chunked body when "Transfer-Encoding" is "chunked" (any case), up to and
//   including the blank line after the last chunk's trailers; else empty.
// Header names match case-insensitively and exactly (no space before ':').
//
// Contract: frame_request() looks at buf only (no allocation beyond the result);
// leading empty lines must have been removed by the caller. An error names the
// problem and the status the front answers with: 400 (bad framing, both length
// kinds, bad chunk), 413 (body over max_body), 431 (head over max_head),
// 501 (a transfer coding other than chunked).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace r1::serve {

struct RequestFrame {
  enum class State { incomplete, complete, error };
  State state = State::incomplete;
  size_t head_end = 0;        // offset just after the head (0: head not complete)
  size_t end = 0;             // complete: offset just after the request
  size_t expect_begin = 0;    // the "Expect: 100-continue" line, [begin, end); empty if none
  size_t expect_end = 0;
  int status = 0;             // error: HTTP status to answer
  std::string message;        // error: what is wrong
};

RequestFrame frame_request(std::string_view buf, size_t max_head, size_t max_body);

// Number of bytes of leading "\r\n" / "\n" lines before a request line.
size_t leading_empty_lines(std::string_view buf);

}  // namespace r1::serve
