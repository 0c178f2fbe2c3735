// Parsing of pull names; grammar in model_ref.hpp.
#include "pull/model_ref.hpp"

#include <filesystem>
#include <vector>

#include "base/error.hpp"
#include "pull/safe_names.hpp"

namespace r1::pull {

namespace {

constexpr std::string_view kHf = "hf://";

bool ends_with(const std::string& s, std::string_view e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

}  // namespace

std::string ModelRef::text() const {
  if (kind == Kind::hf)
    return "hf://" + repo + (selector.empty() ? "" : ":" + selector) + (revision == "main" ? "" : "@" + revision);
  return host + "/" + ns + "/" + name + ":" + tag;
}

ModelRef parse_model_ref(const std::string& s) {
  ModelRef r;
  if (s.rfind(kHf, 0) == 0) {
    std::string rest = s.substr(kHf.size());
    if (const size_t at = rest.rfind('@'); at != std::string::npos) {
      r.revision = rest.substr(at + 1);
      rest.resize(at);
      check_relative_path(r.revision, "revision");
    }
    if (const size_t colon = rest.find(':'); colon != std::string::npos) {
      r.selector = rest.substr(colon + 1);
      rest.resize(colon);
      if (r.selector.empty()) fail("'{}': empty quant or file after ':'", s);
      check_relative_path(r.selector, "file or quant tag");
    }
    r.repo = rest;
    if (!is_valid_hf_repo_id(r.repo) || r.repo.find('/') == std::string::npos)
      fail("'{}': not a Hugging Face repository (expected hf://ORG/REPO[:QUANT or FILE][@REVISION])", s);
    return r;
  }
  r.kind = ModelRef::Kind::ollama;
  std::string rest = s;
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    r.tag = rest.substr(colon + 1);
    rest.resize(colon);
  }
  const std::vector<std::string> parts = split(rest, '/');
  if (parts.size() > 3) fail("'{}': not a model name (expected [HOST/][NAMESPACE/]NAME[:TAG] or hf://ORG/REPO)", s);
  r.name = parts.back();
  if (parts.size() >= 2) r.ns = parts[parts.size() - 2];
  if (parts.size() == 3) r.host = parts[0];
  // a registry host may carry a port (host:5000)
  const size_t port = r.host.find(':');
  const bool host_ok = port == std::string::npos
                           ? is_safe_component(r.host)
                           : is_safe_component(r.host.substr(0, port)) && port + 1 < r.host.size() &&
                                 r.host.find_first_not_of("0123456789", port + 1) == std::string::npos;
  for (const auto* part : {&r.ns, &r.name, &r.tag})
    if (!host_ok || !is_safe_component(*part))
      fail("'{}': not a model name (expected [HOST/][NAMESPACE/]NAME[:TAG] or hf://ORG/REPO)", s);
  return r;
}

bool is_pulled_model_name(const std::string& s) {
  if (s.rfind(kHf, 0) == 0) return true;
  std::error_code ec;
  if (s.empty() || std::filesystem::exists(s, ec) || ends_with(s, ".gguf") || ends_with(s, ".json")) return false;
  if (s.find(':') == std::string::npos) return false;  // a bare word is a (missing) file, not a model name
  try {
    parse_model_ref(s);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace r1::pull
