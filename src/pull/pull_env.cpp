#include "pull/pull_env.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "base/error.hpp"

namespace r1::pull {

namespace fs = std::filesystem;

static std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// "~" and "~/x" expanded as Python's os.path.expanduser does.
static fs::path expand_user(const std::string& p) {
  if (p == "~") return home_dir();
  if (p.rfind("~/", 0) == 0) return home_dir() / p.substr(2);
  return p;
}

fs::path home_dir() {
  if (std::string h = env("HOME"); !h.empty()) return h;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  fail("cannot find the home directory (set HOME)");
}

static fs::path hf_home() {
  if (std::string h = env("HF_HOME"); !h.empty()) return expand_user(h);
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty()) return expand_user(x) / "huggingface";
  return home_dir() / ".cache" / "huggingface";
}

fs::path hf_hub_cache_dir() {
  if (std::string c = env("HF_HUB_CACHE"); !c.empty()) return expand_user(c);
  if (std::string c = env("HUGGINGFACE_HUB_CACHE"); !c.empty()) return expand_user(c);
  return hf_home() / "hub";
}

std::string hf_endpoint() {
  std::string e = env("HF_ENDPOINT");
  if (e.empty()) e = "https://huggingface.co";
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

static std::string trimmed(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string hf_token() {
  if (std::string t = trimmed(env("HF_TOKEN")); !t.empty()) return t;
  std::string file = env("HF_TOKEN_PATH");
  const fs::path path = file.empty() ? hf_home() / "token" : expand_user(file);
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line)) return trimmed(line);
  return "";
}

bool offline_from_env() {
  for (const char* name : {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}) {
    std::string v = env(name);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::toupper(c); });
    if (v == "1" || v == "ON" || v == "YES" || v == "TRUE") return true;
  }
  return false;
}

fs::path ollama_models_dir() {
  if (std::string m = env("OLLAMA_MODELS"); !m.empty()) return expand_user(m);
  return home_dir() / ".ollama" / "models";
}

std::string ollama_registry_base(const std::string& host) {
  if (host == "registry.ollama.ai") {
    std::string base = env("R1_OLLAMA_REGISTRY");
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!base.empty()) return base;
  }
  return "https://" + host;
}

}  // namespace r1::pull
