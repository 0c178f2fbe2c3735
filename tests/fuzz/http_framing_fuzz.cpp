// Differential fuzzer for the connection layer's request framing: when
// frame_request() says a request is complete, cpp-httplib (the parser that will
// really serve it) must find the same request in exactly those bytes: it never
// needs a byte past `end`, and a POST it answers through a handler read its whole
// body, no more. Invariants on every input: offsets inside the buffer, errors with
// a status and a message, and a complete frame stays complete when more bytes
// follow (pipelining).
#include <httplib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "serve/http_framing.hpp"

namespace {

using r1::serve::frame_request;
using r1::serve::RequestFrame;

constexpr size_t kMaxHead = 2048, kMaxBody = 2048;

// The request bytes as httplib's input; records how far it read and what it wrote.
class ViewStream final : public httplib::Stream {
 public:
  explicit ViewStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* p, size_t n) override {
    n = std::min(n, in_.size() - pos_);
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    if (n == 0) wanted_more_ = true;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* p, size_t n) override {
    out_.append(p, n);
    return static_cast<ssize_t>(n);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = "127.0.0.1", port = 1; }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip = "127.0.0.1", port = 2; }
  socket_t socket() const override { return 0; }
  size_t pos_ = 0;
  bool wanted_more_ = false;
  std::string out_;

 private:
  std::string_view in_;
};

class Harness : public httplib::Server {
 public:
  Harness() {
    Post("/p", [this](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
      body_.clear();
      handled_ = reader([&](const char* d, size_t n) {
        body_.append(d, n);
        return true;
      });
      res.set_content("ok", "text/plain");
    });
    Get("/g", [this](const httplib::Request&, httplib::Response& res) {
      handled_ = true;
      res.set_content("ok", "text/plain");
    });
  }
  bool run(ViewStream& s) {
    handled_ = false;
    bool closed = false;
    return process_request(s, true, closed, nullptr);
  }
  bool handled_ = false;
  std::string body_;
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "framing invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();
  const std::string_view buf(reinterpret_cast<const char*>(data), size);
  const RequestFrame f = frame_request(buf, kMaxHead, kMaxBody);
  if (f.state == RequestFrame::State::error) {
    check(f.status >= 400 && f.status < 600 && !f.message.empty(), "error without status or message");
    return 0;
  }
  check(f.expect_begin <= f.expect_end && f.expect_end <= buf.size(), "Expect line outside the buffer");
  if (f.state == RequestFrame::State::incomplete) return 0;
  check(f.head_end > 0 && f.head_end <= f.end && f.end <= buf.size(), "complete frame offsets");
  const RequestFrame again = frame_request(std::string(buf) + "GET / HTTP/1.1\r\n", kMaxHead, kMaxBody);
  check(again.state == RequestFrame::State::complete && again.end == f.end, "pipelined bytes changed the frame");
  // The httplib side: only requests it routes to a handler are compared (a request
  // line it rejects ends the request early, which is fine: the front closes).
  if (f.expect_end > f.expect_begin) return 0;  // the front strips that line first
  ViewStream s(buf.substr(0, f.end));
  harness->run(s);
  static const bool verbose = std::getenv("R1_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "frame end %zu, httplib read %zu, handled %d, body %zu bytes\n", f.end, s.pos_,
                 harness->handled_, harness->body_.size());
  if (harness->handled_) {
    check(!s.wanted_more_ || s.pos_ == f.end, "httplib needed bytes past the frame's end");
    if (buf.substr(0, 7) == "POST /p") check(s.pos_ == f.end, "httplib did not read the whole framed body");
  }
  return 0;
}
