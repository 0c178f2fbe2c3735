// libcurl behind fetch() and download(); contracts in http.hpp.
#include "pull/http.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <memory>
#include <mutex>

#include "base/error.hpp"
#include "pull/cancel.hpp"

namespace r1::pull {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("libcurl could not be initialised");
  });
}

struct Easy {
  CURL* h = nullptr;
  curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
  Easy() {
    global_init();
    h = curl_easy_init();
    if (!h) fail("libcurl: cannot create a transfer");
  }
  ~Easy() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Response headers; a new status line (a redirect's next response) starts over.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) h->clear();
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    (*h)[lower(line.substr(0, colon))] = line.substr(v);
  }
  return size * n;
}

void common_options(Easy& e, const std::string& url, const std::vector<std::string>& headers, bool follow) {
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, e.errbuf);
  curl_easy_setopt(e.h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(e.h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(e.h, CURLOPT_USERAGENT, "r1.cpp/pull");
  curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
  for (const std::string& h : headers) e.headers = curl_slist_append(e.headers, h.c_str());
  if (e.headers) curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, e.headers);
}

[[noreturn]] void transfer_failed(const Easy& e, CURLcode rc, const std::string& url) {
  if (cancel_requested()) fail("interrupted while fetching {} (the partial download is kept for a resume)", url);
  fail("cannot fetch {}: {}", url, e.errbuf[0] ? e.errbuf : curl_easy_strerror(rc));
}

struct BodySink {
  std::string* out;
  size_t max;
  bool too_big = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<BodySink*>(user);
  if (s->out->size() + size * n > s->max) {
    s->too_big = true;
    return 0;
  }
  s->out->append(data, size * n);
  return size * n;
}

int on_xfer(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return cancel_requested() ? 1 : 0; }

}  // namespace

HttpResponse fetch(const HttpRequest& req) {
  Easy e;
  HttpResponse r;
  common_options(e, req.url, req.headers, req.follow);
  BodySink sink{&r.body, req.max_body};
  if (req.head) curl_easy_setopt(e.h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, on_xfer);
  curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
  const CURLcode rc = curl_easy_perform(e.h);
  if (sink.too_big) fail("{}: the answer is larger than {} bytes", req.url, req.max_body);
  if (rc != CURLE_OK) transfer_failed(e, rc, req.url);
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &r.status);
  char* eff = nullptr;
  curl_easy_getinfo(e.h, CURLINFO_EFFECTIVE_URL, &eff);
  r.final_url = eff ? eff : req.url;
  return r;
}

namespace {

struct FileSink {
  std::FILE* f = nullptr;
  const std::string* path = nullptr;
  Easy* e = nullptr;
  uint64_t start = 0, done = 0, total = 0;
  long checked_status = 0;  // the response whose status the sink last looked at
  bool write_error = false;
  const ProgressFn* progress = nullptr;
  std::chrono::steady_clock::time_point last{};
};

size_t on_file(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<FileSink*>(user);
  long status = 0;
  curl_easy_getinfo(s->e->h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return size * n;  // an error page or a redirect's body: not written
  if (s->checked_status != status) {  // the first body bytes of this answer
    s->checked_status = status;
    if (status == 200 && s->start > 0) {  // the range was ignored: start over
      if (std::fflush(s->f) != 0 || ::ftruncate(fileno(s->f), 0) != 0 || std::fseek(s->f, 0, SEEK_SET) != 0) {
        s->write_error = true;
        return 0;
      }
      s->start = s->done = 0;
    }
    curl_off_t len = -1;
    curl_easy_getinfo(s->e->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (len >= 0) s->total = s->start + static_cast<uint64_t>(len);
  }
  if (std::fwrite(data, 1, size * n, s->f) != size * n) {
    s->write_error = true;
    return 0;
  }
  s->done += size * n;
  const auto now = std::chrono::steady_clock::now();
  if (*s->progress && now - s->last > std::chrono::milliseconds(200)) {
    s->last = now;
    (*s->progress)(s->start + s->done, s->total);
  }
  return size * n;
}

}  // namespace

long download(const std::string& url, const std::vector<std::string>& headers, const std::string& path,
              const ProgressFn& on_bytes) {
  std::error_code ec;
  const uint64_t have = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) fail("cannot write '{}': {}", path, std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, std::fclose);
  Easy e;
  std::vector<std::string> hs = headers;
  if (have > 0) hs.push_back("Range: bytes=" + std::to_string(have) + "-");  // checked by the status, not by curl
  common_options(e, url, hs, true);
  FileSink sink;
  sink.f = f;
  sink.path = &path;
  sink.e = &e;
  sink.start = have;
  sink.progress = &on_bytes;
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, on_file);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, on_xfer);
  curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
  const CURLcode rc = curl_easy_perform(e.h);
  long status = 0;
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &status);
  if (sink.write_error) fail("cannot write '{}': {}", path, std::strerror(errno));
  if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) fail("cannot write '{}': {}", path, std::strerror(errno));
  if (rc != CURLE_OK) transfer_failed(e, rc, url);
  if (on_bytes) on_bytes(sink.start + sink.done, sink.total);
  return status;
}

}  // namespace r1::pull
