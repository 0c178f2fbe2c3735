#include "serve/http_front.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/log.hpp"
#include "serve/api_error.hpp"
#include "serve/http_framing.hpp"

namespace r1::serve {

namespace {

thread_local int t_connection_fd = -1;

// Reason phrases of the statuses the front answers itself.
const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Numeric address and port of a socket address.
void describe(const sockaddr_storage& ss, std::string& addr, int& port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  addr = buf;
}

// A send that waits (up to timeout_s in all) while the socket buffer is full.
// Returns the bytes sent, or -1 when the peer is gone or the time is up.
ssize_t send_all(int fd, const char* data, size_t n, double timeout_s) {
  const auto start = Clock::now();
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::send(fd, data + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const double left = timeout_s - seconds_since(start);
      if (left <= 0) return -1;
      pollfd p{fd, POLLOUT, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
      if (r < 0 && errno != EINTR) return -1;
      if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return -1;
      continue;
    }
    return -1;
  }
  return static_cast<ssize_t>(done);
}

// One request's bytes as cpp-httplib's input; its output goes to the socket.
class RequestStream final : public httplib::Stream {
 public:
  RequestStream(int fd, std::string_view request, const std::string& remote, int remote_port, const std::string& local,
                int local_port, double write_timeout_s)
      : fd_(fd), in_(request), remote_(remote), local_(local), remote_port_(remote_port), local_port_(local_port),
        write_timeout_s_(write_timeout_s) {}

  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override {
    pollfd p{fd_, POLLOUT, 0};
    const int r = ::poll(&p, 1, static_cast<int>(write_timeout_s_ * 1000));
    return r > 0 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL));
  }
  // The request's bytes, then end of input (0): the handler never reads past
  // its own request.
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    const ssize_t w = send_all(fd_, ptr, size, write_timeout_s_);
    if (w < 0) failed_ = true;
    return w;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_;
    port = local_port_;
  }
  // httplib 0.11 refuses descriptors >= FD_SETSIZE when built for select(); it uses
  // this value for nothing else, and no I/O here goes through select.
  socket_t socket() const override { return 0; }
  bool failed() const { return failed_; }

 private:
  int fd_;
  std::string_view in_;
  size_t pos_ = 0;
  const std::string& remote_;
  const std::string& local_;
  int remote_port_, local_port_;
  double write_timeout_s_;
  bool failed_ = false;
};

// Exposes httplib's per-request processing (protected) to the front.
class Processor : public httplib::Server {
 public:
  static bool process(httplib::Server& s, httplib::Stream& strm, bool close_connection, bool& connection_closed) {
    return (s.*(&Processor::process_request))(strm, close_connection, connection_closed, nullptr);
  }
  // httplib ends chunked (SSE) responses early while its listening socket is
  // invalid ("shutting down"); it never listens here, so it is given the front's
  // descriptor, which it only compares with INVALID_SOCKET (its stop() is never
  // called).
  static void mark_listening(httplib::Server& s, int fd) { (s.*(&Processor::svr_sock_)) = fd; }
};

}  // namespace

int current_connection_fd() { return t_connection_fd; }

struct HttpFront::Impl {
  enum class Phase { idle, reading, serving };

  struct Conn {
    int fd = -1;
    std::string remote, local;
    int remote_port = 0, local_port = 0;
    std::string buf;
    Phase phase = Phase::idle;
    bool fresh = true;             // no request served yet
    bool continue_sent = false;    // "100 Continue" written for the request being read
    int served = 0;
    uint64_t order = 0;            // accept order (eviction: oldest first)
    Clock::time_point since;       // idle: when it went idle; reading: the request's first byte
    // Set by the worker:
    size_t request_end = 0;
    bool close_after = false;
  };

  httplib::Server& handler;
  FrontOptions opts;
  int listen_fd = -1, epoll_fd = -1, wake_fd = -1;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, int> per_client;
  uint64_t next_order = 0;
  bool listener_paused = false;
  Clock::time_point listener_resume;

  // Workers: complete requests in, finished connections back.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Conn*> waiting;
  std::vector<Conn*> returned;
  std::vector<std::thread> workers;
  bool workers_stop = false;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;

  mutable std::mutex stats_mu;
  FrontStats st;

  Impl(httplib::Server& h, FrontOptions o) : handler(h), opts(std::move(o)) {}

  ~Impl() {
    for (auto& [fd, c] : conns) ::close(fd);
    for (int fd : {listen_fd, epoll_fd, wake_fd})
      if (fd >= 0) ::close(fd);
  }

  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(wake_fd, &one, sizeof one);
  }

  // --- limits -------------------------------------------------------------

  // Raises the descriptor limit to its hard maximum and caps max_connections
  // below it (descriptors for the model file, logs, the epoll set and workers).
  void fit_descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
      }
      const long usable = static_cast<long>(std::min<rlim_t>(rl.rlim_cur, 1 << 20)) - 64;
      if (usable < opts.max_connections) {
        log(LogLevel::warn, "serve: only {} connections fit the descriptor limit ({}); --max-connections lowered",
            std::max(usable, 1L), rl.rlim_cur);
        opts.max_connections = static_cast<int>(std::max(usable, 1L));
      }
    }
  }

  // --- binding ------------------------------------------------------------

  int bind() {
    fit_descriptor_limit();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(opts.port);
    if (int rc = getaddrinfo(opts.host.c_str(), port.c_str(), &hints, &res); rc != 0)
      fail("cannot listen on {}:{}: {}", opts.host, opts.port, gai_strerror(rc));
    std::string last_error = "no address";
    for (addrinfo* a = res; a && listen_fd < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      const int yes = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
        listen_fd = fd;
      } else {
        last_error = std::strerror(errno);
        ::close(fd);
      }
    }
    freeaddrinfo(res);
    if (listen_fd < 0)
      fail("cannot listen on {}:{} ({}: in use, or not an address of this machine)", opts.host, opts.port, last_error);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len);
    std::string addr;
    int bound = 0;
    describe(ss, addr, bound);

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0) fail("serve: cannot create the event loop: {}", std::strerror(errno));
    add_watch(listen_fd, nullptr, EPOLLIN);
    add_watch(wake_fd, this, EPOLLIN);
    Processor::mark_listening(handler, listen_fd);
    return bound;
  }

  void add_watch(int fd, void* tag, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) fail("serve: epoll_ctl: {}", std::strerror(errno));
  }

  // --- connections --------------------------------------------------------

  void count(int64_t FrontStats::*field, int64_t by = 1) {
    std::lock_guard lk(stats_mu);
    st.*field += by;
  }

  void close_conn(Conn* c) {
    if (c->phase != Phase::serving) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    if (auto it = per_client.find(c->remote); it != per_client.end() && --it->second <= 0) per_client.erase(it);
    conns.erase(c->fd);  // destroys c
    count(&FrontStats::open, -1);
  }

  // Answers an error the front found itself and closes the connection.
  void refuse(Conn* c, int status, const std::string& message, const char* code) {
    const std::string body = ApiError(status, message, status >= 500 ? "server_error" : "invalid_request_error", "",
                                      code).to_json().dump();
    const std::string resp = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
        reason_phrase(status), body.size(), body);
    // Best effort, without waiting: the peer may be the reason for the refusal.
    [[maybe_unused]] ssize_t w = ::send(c->fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(c->fd, SHUT_WR);
    count(&FrontStats::refused);
    close_conn(c);
  }

  // The oldest connection not being served (of one client when remote is given).
  Conn* oldest_unserved(const std::string* remote) {
    Conn* best = nullptr;
    for (auto& [fd, c] : conns)
      if (c->phase != Phase::serving && (!remote || c->remote == *remote) && (!best || c->order < best->order))
        best = c.get();
    return best;
  }

  void accept_all() {
    for (;;) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: make room by evicting, else pause the listener a moment.
          if (Conn* victim = oldest_unserved(nullptr)) {
            count(&FrontStats::evicted);
            close_conn(victim);
            continue;
          }
          pause_listener();
        }
        return;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      describe(peer, c->remote, c->remote_port);
      sockaddr_storage self{};
      socklen_t sl = sizeof self;
      getsockname(fd, reinterpret_cast<sockaddr*>(&self), &sl);
      describe(self, c->local, c->local_port);
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c->order = next_order++;
      c->since = Clock::now();
      Conn* raw = c.get();
      admit(std::move(c));
      (void)raw;
    }
  }

  void admit(std::unique_ptr<Conn> c) {
    count(&FrontStats::accepted);
    if (stopping) {
      ::close(c->fd);
      return;
    }
    // Over a limit: evict the oldest unserved connection of this client, else of
    // anyone; when all are being served, the new one is refused.
    const bool client_full = per_client[c->remote] >= opts.max_client_connections;
    if (client_full || static_cast<int>(conns.size()) >= opts.max_connections) {
      Conn* victim = oldest_unserved(client_full ? &c->remote : nullptr);
      if (victim) {
        count(&FrontStats::evicted);
        close_conn(victim);
      } else {
        const int fd = c->fd;
        Conn* raw = c.get();
        conns.emplace(fd, std::move(c));
        ++per_client[raw->remote];
        count(&FrontStats::open);
        raw->phase = Phase::reading;  // so close_conn removes it from epoll (never added: harmless)
        refuse(raw, 503,
               client_full ? "too many connections from this address; try again later"
                           : "the server has too many connections; try again later",
               "too_many_connections");
        return;
      }
    }
    Conn* raw = c.get();
    ++per_client[raw->remote];
    conns.emplace(raw->fd, std::move(c));
    count(&FrontStats::open);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = raw;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, raw->fd, &ev) != 0) {
      raw->phase = Phase::serving;  // not in the epoll set
      close_conn(raw);
    }
  }

  void pause_listener() {
    if (listener_paused) return;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
    listener_paused = true;
    listener_resume = Clock::now() + std::chrono::milliseconds(100);
  }

  void resume_listener() {
    if (!listener_paused || stopping || Clock::now() < listener_resume) return;
    listener_paused = false;
    add_watch(listen_fd, nullptr, EPOLLIN);
  }

  // Reads what the socket has; then frames and maybe dispatches.
  void on_readable(Conn* c) {
    char chunk[16384];
    bool eof = false;
    for (;;) {
      const ssize_t n = ::recv(c->fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        if (c->buf.empty() && c->phase == Phase::idle) {
          c->phase = Phase::reading;
          c->since = Clock::now();
        }
        c->buf.append(chunk, static_cast<size_t>(n));
        if (c->buf.size() > opts.max_head + opts.max_body + 2 * 65536) break;  // framing will refuse it
        continue;
      }
      if (n == 0) eof = true;
      else if (errno == EINTR) continue;
      else if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
      break;
    }
    if (!frame_and_dispatch(c) && eof) close_conn(c);
  }

  // Returns true when the connection was dispatched or closed.
  bool frame_and_dispatch(Conn* c) {
    if (const size_t skip = leading_empty_lines(c->buf); skip > 0) c->buf.erase(0, skip);
    if (c->buf.empty()) {
      if (c->phase == Phase::reading) c->phase = Phase::idle;
      return false;
    }
    if (c->phase == Phase::idle) {
      c->phase = Phase::reading;
      c->since = Clock::now();
    }
    RequestFrame f = frame_request(c->buf, opts.max_head, opts.max_body);
    if (f.state == RequestFrame::State::error) {
      refuse(c, f.status, f.message, f.status == 413 ? "request_too_large" : "bad_request_framing");
      return true;
    }
    if (f.expect_end > f.expect_begin) {
      // The front answers "100 Continue" itself; httplib must not answer it again.
      c->buf.erase(f.expect_begin, f.expect_end - f.expect_begin);
      f = frame_request(c->buf, opts.max_head, opts.max_body);
      if (f.state == RequestFrame::State::incomplete && !c->continue_sent) {
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        [[maybe_unused]] ssize_t w = ::send(c->fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        c->continue_sent = true;
      }
    }
    if (f.state != RequestFrame::State::complete) return false;
    c->request_end = f.end;
    dispatch(c);
    return true;
  }

  void dispatch(Conn* c) {
    {
      std::lock_guard lk(mu);
      if (waiting.size() >= opts.max_waiting) {
        // Refused below, outside the lock.
      } else {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
        c->phase = Phase::serving;
        waiting.push_back(c);
        cv.notify_one();
        count(&FrontStats::serving);
        return;
      }
    }
    refuse(c, 503, "the server is overloaded (too many requests waiting); try again later", "server_overloaded");
  }

  // Connections the workers finished with: closed, or watched for the next request.
  void take_back() {
    std::vector<Conn*> back;
    {
      std::lock_guard lk(mu);
      back.swap(returned);
    }
    for (Conn* c : back) {
      count(&FrontStats::serving, -1);
      if (c->close_after || stopping) {
        ::shutdown(c->fd, SHUT_WR);
        close_conn(c);  // phase is serving: not in the epoll set
        continue;
      }
      c->phase = Phase::idle;
      c->fresh = false;
      c->continue_sent = false;
      c->since = Clock::now();
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.ptr = c;
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        c->phase = Phase::serving;
        close_conn(c);
        continue;
      }
      frame_and_dispatch(c);  // a pipelined request may be complete already
    }
  }

  // Closes connections past their deadlines.
  void sweep() {
    std::vector<std::pair<Conn*, bool>> late;  // bool: part of a request came (408)
    for (auto& [fd, c] : conns) {
      if (c->phase == Phase::serving) continue;
      const double age = seconds_since(c->since);
      if (c->phase == Phase::idle) {
        const double limit = c->fresh ? opts.header_timeout_s : opts.idle_timeout_s;
        if (age > limit) late.emplace_back(c.get(), false);
      } else {
        const bool head_done = frame_request(c->buf, opts.max_head, opts.max_body).head_end > 0;
        if ((!head_done && age > opts.header_timeout_s) || age > opts.read_timeout_s) late.emplace_back(c.get(), true);
      }
    }
    for (auto [c, partial] : late) {
      count(&FrontStats::timed_out);
      if (partial) refuse(c, 408, "the request did not arrive in time", "request_timeout");
      else close_conn(c);
    }
  }

  // --- workers ------------------------------------------------------------

  void worker_loop() {
    for (;;) {
      Conn* c = nullptr;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return workers_stop || !waiting.empty(); });
        if (waiting.empty()) return;
        c = waiting.front();
        waiting.pop_front();
      }
      serve_one(c);
      {
        std::lock_guard lk(mu);
        returned.push_back(c);
      }
      wake();
    }
  }

  void serve_one(Conn* c) {
    const std::string_view request(c->buf.data(), c->request_end);
    RequestStream strm(c->fd, request, c->remote, c->remote_port, c->local, c->local_port, opts.write_timeout_s);
    ++c->served;
    const bool close_connection = stopping || c->served >= opts.keep_alive_max;
    bool connection_closed = false;
    bool ok = false;
    t_connection_fd = c->fd;
    try {
      ok = Processor::process(handler, strm, close_connection, connection_closed);
    } catch (const std::exception& e) {
      log(LogLevel::error, "serve: a request ended with an exception outside its handler: {}", e.what());
    } catch (...) {
      log(LogLevel::error, "serve: a request ended with an unknown exception outside its handler");
    }
    t_connection_fd = -1;
    c->buf.erase(0, c->request_end);
    c->close_after = !ok || connection_closed || close_connection || strm.failed();
  }

  // --- the loop -----------------------------------------------------------

  void run() {
    const int n_workers = std::max(1, opts.workers);
    for (int i = 0; i < n_workers; ++i) workers.emplace_back([this] { worker_loop(); });
    std::vector<epoll_event> events(256);
    auto last_sweep = Clock::now();
    for (;;) {
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        void* tag = events[static_cast<size_t>(i)].data.ptr;
        if (tag == nullptr) {
          accept_all();
        } else if (tag == this) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wake_fd, &v, sizeof v);
        } else {
          Conn* c = static_cast<Conn*>(tag);
          // A connection closed earlier in this batch may still have an event here:
          // only act on live ones that are watched.
          if (auto it = conns.find(c->fd); it != conns.end() && it->second.get() == c && c->phase != Phase::serving)
            on_readable(c);
        }
      }
      take_back();
      resume_listener();
      if (seconds_since(last_sweep) >= 0.1) {
        sweep();
        last_sweep = Clock::now();
      }
      if (stopping) {
        close_unserved();
        std::lock_guard lk(mu);
        if (waiting.empty() && returned.empty() && serving_now() == 0) break;
      }
    }
    {
      std::lock_guard lk(mu);
      workers_stop = true;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    take_back();
    close_unserved();
    {
      std::lock_guard lk(stop_mu);
      stopped = true;
    }
    stop_cv.notify_all();
  }

  int64_t serving_now() {
    int64_t n = 0;
    for (auto& [fd, c] : conns) n += c->phase == Phase::serving;
    return n;
  }

  void close_unserved() {
    if (!listener_paused && listen_fd >= 0) {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
      listener_paused = true;
    }
    std::vector<Conn*> idle;
    for (auto& [fd, c] : conns)
      if (c->phase != Phase::serving) idle.push_back(c.get());
    for (Conn* c : idle) close_conn(c);
  }

  void stop() {
    stopping = true;
    if (wake_fd >= 0) wake();
  }
};

HttpFront::HttpFront(httplib::Server& handler, FrontOptions opts)
    : impl_(std::make_unique<Impl>(handler, std::move(opts))) {}
HttpFront::~HttpFront() = default;
int HttpFront::bind() { return impl_->bind(); }
void HttpFront::run() { impl_->run(); }
void HttpFront::stop() { impl_->stop(); }
FrontStats HttpFront::stats() const {
  std::lock_guard lk(impl_->stats_mu);
  return impl_->st;
}

}  // namespace r1::serve
