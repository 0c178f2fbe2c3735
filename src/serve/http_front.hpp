// The connection layer of `r1 serve`: accepts TCP connections, reads each request
// in full on one event-driven thread, and only then gives it to a worker thread,
// which runs cpp-httplib's request processing (parsing, routing, the handlers,
// the response and SSE streams) over the connection.
//
// Why not cpp-httplib's own accept loop: it gives every connection a worker thread
// from the moment it is accepted, with a timeout per read but none for the whole
// head, so a few dozen idle or slow clients hold every thread and starve every
// route, /health included. Here idle and slow connections cost a descriptor and a
// buffer; workers see only complete requests.
//
// Contracts:
// - A connection's request is dispatched once its head (at most max_head bytes)
//   and body (Content-Length or chunked, at most max_body bytes) have arrived.
//   Deadlines, each ending in a close (with 408 when part of a request came):
//   header_timeout_s from accept (first request) to the end of the head,
//   read_timeout_s from the request's first byte to the end of its body,
//   idle_timeout_s between keep-alive requests.
// - Malformed framing is answered by the front itself (400, 411, 413, 431, 501,
//   503), OpenAI-shaped, and the connection is closed.
// - At most max_connections connections are open, and at most
//   max_client_connections from one remote address. A new connection over a limit
//   evicts the oldest connection (of that client, else of anyone) that is not
//   being served; when every one is being served, the new one gets 503.
// - The handler sees exactly one request's bytes; pipelined requests that follow
//   stay buffered for the next dispatch. A connection goes back to the front
//   after its response unless either side asked to close, keep_alive_max
//   requests were served, or the front is stopping.
// - stop(): no new connections, idle ones closed, requests being served finish;
//   run() returns once they have. Safe from any thread, more than once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace r1::serve {

struct FrontOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port
  int workers = 16;                    // threads that run handlers
  int max_connections = 4096;          // capped by the descriptor limit
  int max_client_connections = 1024;   // per remote address
  double header_timeout_s = 10;
  double read_timeout_s = 30;
  double idle_timeout_s = 5;
  double write_timeout_s = 30;         // per write of a response (a client that reads nothing)
  int keep_alive_max = 1000;           // requests per connection
  size_t max_head = 64u << 10;         // request line + headers
  size_t max_body = 8u << 20;
  size_t max_waiting = 1024;           // complete requests waiting for a worker (503 above)
};

// What the front has done so far (for /metrics and tests).
struct FrontStats {
  int64_t open = 0;          // connections open now
  int64_t serving = 0;       // of them, with a worker now
  int64_t accepted = 0;      // totals since start:
  int64_t evicted = 0;       //   closed to make room for a new connection
  int64_t timed_out = 0;     //   closed by a deadline
  int64_t refused = 0;       //   answered by the front with an error status
};

class HttpFront {
 public:
  // handler: the cpp-httplib server whose routes and handlers serve the
  // requests; its own listen/bind functions are not used.
  HttpFront(httplib::Server& handler, FrontOptions opts);
  ~HttpFront();

  // Binds and listens; returns the port. Throws r1::Error when it cannot.
  int bind();
  // Serves until stop() has finished (see above).
  void run();
  void stop();
  FrontStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The socket of the connection whose request this thread is serving, or -1.
// Valid only inside a handler (and its content providers) run by HttpFront.
int current_connection_fd();

}  // namespace r1::serve
