// HTTP for `r1 pull`, through libcurl (the Debian package libcurl4-openssl-dev): what the
// registries need and nothing more.
//
// Contracts:
// - Only http:// and https:// URLs, also after redirects (at most 10 followed); TLS
//   peers verified (curl's defaults); connect timeout 30 s, a transfer that moves no
//   byte for 60 s is abandoned.
// - fetch() returns the status, the headers of the LAST response (names lower-cased; of
//   the first response when follow is false) and at most max_body bytes of body; it
//   throws r1::Error naming the URL and curl's message when no HTTP response came
//   (refused, DNS, TLS, timeout) or the body is larger than max_body.
// - download() appends the body of a GET to `path` (opened for append; a Range header
//   asks for the bytes from the file's current size on), calls on_bytes(total so far,
//   expected total or 0) at least once a second, and stops with r1::Error when
//   cancel_requested() (the partial file stays for a resume). A 200 answer to a Range
//   request truncates the file first (the server ignored the range). Returns the status
//   of the last response; bodies of non-2xx answers are not written.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace r1::pull {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string final_url;
};

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool head = false;                 // HEAD instead of GET
  bool follow = true;                // follow redirects
  size_t max_body = 16u << 20;
};

HttpResponse fetch(const HttpRequest& req);

using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
long download(const std::string& url, const std::vector<std::string>& headers, const std::string& path,
              const ProgressFn& on_bytes);

}  // namespace r1::pull
