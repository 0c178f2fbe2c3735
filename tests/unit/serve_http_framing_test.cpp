// frame_request(): where a request ends, as cpp-httplib will parse it.
#include <gtest/gtest.h>

#include <string>

#include "serve/http_framing.hpp"

namespace r1::serve {
namespace {

using State = RequestFrame::State;
constexpr size_t kHead = 1024, kBody = 100;

TEST(HttpFraming, GetWithoutBodyEndsAfterBlankLine) {
  const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const RequestFrame f = frame_request(head + "GET /next", kHead, kBody);
  ASSERT_EQ(f.state, State::complete);
  EXPECT_EQ(f.head_end, head.size());
  EXPECT_EQ(f.end, head.size());  // the pipelined next request is not part of it
}

TEST(HttpFraming, HeadArrivingByteByByteIsIncompleteUntilTheBlankLine) {
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < req.size(); ++n)
    EXPECT_EQ(frame_request(req.substr(0, n), kHead, kBody).state, State::incomplete) << n;
  EXPECT_EQ(frame_request(req, kHead, kBody).state, State::complete);
}

TEST(HttpFraming, ContentLengthBody) {
  const std::string head = "POST /v1/completions HTTP/1.1\r\ncontent-length: 5\r\n\r\n";
  EXPECT_EQ(frame_request(head + "abcd", kHead, kBody).state, State::incomplete);
  const RequestFrame f = frame_request(head + "abcdeXYZ", kHead, kBody);
  ASSERT_EQ(f.state, State::complete);
  EXPECT_EQ(f.end, head.size() + 5);
}

TEST(HttpFraming, BareLfLinesAreIgnoredLikeHttplibDoes) {
  // "\n\n" does not end the head for httplib (only a line that is exactly CRLF).
  const std::string req = "GET / HTTP/1.1\r\nX: 1\n\nContent-Length: 2\r\n\r\nab";
  const RequestFrame f = frame_request(req, kHead, kBody);
  ASSERT_EQ(f.state, State::complete);
  EXPECT_EQ(f.end, req.size());
}

TEST(HttpFraming, ChunkedBodyWithExtensionAndTrailer) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
  const std::string body = "3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n";
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_EQ(frame_request(head + body.substr(0, n), kHead, kBody).state, State::incomplete) << n;
  const RequestFrame f = frame_request(head + body + "NEXT", kHead, kBody);
  ASSERT_EQ(f.state, State::complete);
  EXPECT_EQ(f.end, head.size() + body.size());
}

TEST(HttpFraming, Errors) {
  auto status = [](const std::string& s) {
    const RequestFrame f = frame_request(s, kHead, kBody);
    EXPECT_EQ(f.state, State::error) << s;
    EXPECT_FALSE(f.message.empty());
    return f.status;
  };
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"), 413);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n"), 413);  // 0x65 = 101
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nX: " + std::string(kHead, 'a') + "\r\n\r\n"), 431);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nX: " + std::string(kHead + 10, 'a')), 431);  // no line end yet
}

TEST(HttpFraming, ContentLengthEqualToTheLimitIsAccepted) {
  const std::string req = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b');
  EXPECT_EQ(frame_request(req, kHead, kBody).state, State::complete);
}

TEST(HttpFraming, ExpectContinueLineIsLocated) {
  const std::string line = "Expect: 100-Continue\r\n";
  const std::string req = "POST / HTTP/1.1\r\nHost: h\r\n" + line + "Content-Length: 3\r\n\r\n";
  const RequestFrame f = frame_request(req, kHead, kBody);
  EXPECT_EQ(f.state, State::incomplete);
  EXPECT_EQ(req.substr(f.expect_begin, f.expect_end - f.expect_begin), line);
}

TEST(HttpFraming, LeadingEmptyLines) {
  EXPECT_EQ(leading_empty_lines("\r\n\n\r\nGET"), 5u);
  EXPECT_EQ(leading_empty_lines("GET"), 0u);
  EXPECT_EQ(leading_empty_lines("\r"), 0u);
}

}  // namespace
}  // namespace r1::serve
