#include "serve/browser_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

#include "tokenizer/tokenizer.hpp"

namespace r1::serve {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_ip_literal(const std::string& name) {
  in_addr a4;
  in6_addr a6;
  return inet_pton(AF_INET, name.c_str(), &a4) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// host[:port] lowercased, with an explicit default port (":80") removed.
std::string authority(std::string_view a) {
  std::string s = lower(a);
  if (ends_with(s, ":80")) s.resize(s.size() - 3);
  return s;
}

// Text of a header value for a message: printable, bounded, valid UTF-8.
std::string quoted(std::string_view v) {
  std::string s(v.substr(0, 200));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return sanitize_utf8(s);
}

}  // namespace

std::string host_name_of(std::string_view host) {
  std::string_view name;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    name = host.substr(1, close - 1);
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
  } else {
    const size_t colon = host.find(':');
    name = host.substr(0, colon);
    if (colon != std::string_view::npos && host.find(':', colon + 1) != std::string_view::npos) return {};
  }
  std::string out = lower(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string BrowserGuard::check(std::string_view host_header, std::string_view origin_header) const {
  if (check_host && !host_header.empty()) {
    const std::string name = host_name_of(host_header);
    const bool any = std::find(host_allow.begin(), host_allow.end(), "*") != host_allow.end();
    const bool allowed = any || is_ip_literal(name) || name == "localhost" || ends_with(name, ".localhost") ||
                         (!name.empty() && std::find(host_allow.begin(), host_allow.end(), name) != host_allow.end());
    if (!allowed)
      return fmt::format(
          "the Host header '{}' is not a name of this server (a guard against DNS rebinding); start the server "
          "with --host-allow NAME to accept it",
          quoted(host_header));
  }
  if (check_origin && !origin_header.empty()) {
    if (cors_origin == "*" || (!cors_origin.empty() && lower(cors_origin) == lower(origin_header))) return {};
    // Same origin: scheme://host[:port] whose authority is the Host header.
    const size_t sep = origin_header.find("://");
    const bool same = sep != std::string_view::npos && !host_header.empty() &&
                      authority(origin_header.substr(sep + 3)) == authority(host_header);
    if (!same)
      return fmt::format(
          "cross-site request refused: the page at origin '{}' may not use this server; start the server with "
          "--cors ORIGIN to allow that origin",
          quoted(origin_header));
  }
  return {};
}

}  // namespace r1::serve
