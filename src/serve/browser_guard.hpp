// Refusing what a web browser sends to the server on behalf of another site.
//
// With no API key (the default) any page the user opens could otherwise POST to
// http://127.0.0.1:8080 (a text/plain "simple" request needs no CORS preflight)
// or, by DNS rebinding (a name of the attacker's resolving to 127.0.0.1), read
// the answers. Two checks close that:
// - Host: the Host header must be an IP literal (a rebinding attack needs a DNS
//   name), "localhost" or a name under ".localhost", or a name given with
//   --host-allow ("*" allows any). A missing Host (HTTP/1.0 clients) passes:
//   browsers always send one.
// - Origin: a request carrying an Origin header must come from this server's own
//   origin (the Origin's host[:port] equals the Host header) or from the --cors
//   origin ("*" allows any). Browsers send Origin on every cross-site request
//   that could change state; non-browser clients send none and pass.
// Contract: check() returns an empty string when the request may proceed, else
// the message of the 403 to answer. Pure: no I/O, no state.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace r1::serve {

struct BrowserGuard {
  bool check_host = true;
  bool check_origin = true;
  std::vector<std::string> host_allow;  // extra names for Host (lowercase); "*": any
  std::string cors_origin;              // the origin --cors allows ("*": any; "": none)

  std::string check(std::string_view host_header, std::string_view origin_header) const;
};

// The name part of a Host header value ("[::1]:8080" -> "::1", "A.b.:80" -> "a.b"),
// lowercased, without a trailing dot; empty when it cannot be parsed.
std::string host_name_of(std::string_view host_header);

}  // namespace r1::serve
