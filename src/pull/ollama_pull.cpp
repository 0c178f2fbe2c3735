// `r1 pull NAME:TAG` from an ollama registry: GET /v2/NS/NAME/manifests/TAG, then every
// layer blob (and the config blob) by digest into ollama's own store, reusing blobs that
// are already there; the manifest is written last, atomically.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "pull/hf_cache.hpp"
#include "pull/http.hpp"
#include "pull/pull_env.hpp"
#include "pull/safe_names.hpp"

namespace r1::pull {

namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestAccept = "Accept: application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kModelLayer = "application/vnd.ollama.image.model";

struct Layer {
  std::string media_type, hex;
  uint64_t size = 0;
};

// Every blob of a manifest (layers, then the config); throws naming `what` on a bad one.
std::vector<Layer> manifest_layers(const std::string& text, const std::string& what) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_array())
    fail("{}: the manifest is not a registry manifest (no layers)", what);
  std::vector<Layer> out;
  auto add = [&](const nlohmann::json& l) {
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string())
      fail("{}: a manifest layer has no digest", what);
    Layer x;
    x.media_type = l.value("mediaType", std::string());
    x.hex = std::string(check_sha256_digest(l["digest"].get<std::string>(), what + ": layer"));
    if (l.contains("size") && l["size"].is_number_unsigned()) x.size = l["size"].get<uint64_t>();
    out.push_back(x);
  };
  for (const auto& l : j["layers"]) add(l);
  if (j.contains("config") && j["config"].is_object()) add(j["config"]);
  return out;
}

fs::path manifest_path(const ModelRef& r) { return ollama_models_dir() / "manifests" / r.host / r.ns / r.name / r.tag; }
fs::path blob_path(const std::string& hex) { return ollama_models_dir() / "blobs" / ("sha256-" + hex); }

fs::path model_blob(const ModelRef& r, const std::string& text) {
  for (const Layer& l : manifest_layers(text, r.text()))
    if (l.media_type == kModelLayer) return blob_path(l.hex);
  fail("{}: the manifest has no model layer ({})", r.text(), kModelLayer);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<fs::path> pull_ollama(const ModelRef& ref, const PullOptions& opts) {
  const fs::path mpath = manifest_path(ref);
  if (opts.offline || offline_from_env()) {
    if (!fs::is_regular_file(mpath))
      fail("{} is not in the ollama store ({}); run `r1 pull {}` with network", ref.text(), mpath.string(), ref.text());
    const fs::path blob = model_blob(ref, read_all(mpath));
    if (!fs::is_regular_file(blob)) fail("{}: the model blob {} is missing", ref.text(), blob.string());
    return {blob};
  }
  const std::string base = ollama_registry_base(ref.host);
  const std::string murl = base + "/v2/" + ref.ns + "/" + ref.name + "/manifests/" + ref.tag;
  const HttpResponse m = fetch({.url = murl, .headers = {kManifestAccept}});
  if (m.status != 200) http_error(m.status, ref.text(), murl, false);
  const std::vector<Layer> layers = manifest_layers(m.body, ref.text());
  for (const Layer& l : layers) {
    const fs::path blob = blob_path(l.hex);
    std::error_code ec;
    const std::string label = ref.name + ":" + ref.tag + " " + l.hex.substr(0, 12);
    if (fs::exists(blob, ec) && (l.size == 0 || fs::file_size(blob, ec) == l.size)) {
      if (opts.note) opts.note(fmt::format("{}: already in {}", label, (ollama_models_dir() / "blobs").string()));
      continue;
    }
    const std::string burl = base + "/v2/" + ref.ns + "/" + ref.name + "/blobs/sha256:" + l.hex;
    fetch_blob(burl, {}, blob, "-partial", Verify::sha256, l.hex, l.size, label, opts);
  }
  fs::create_directories(mpath.parent_path());
  write_file_atomic(mpath.string(), m.body);
  return {model_blob(ref, m.body)};
}

}  // namespace r1::pull

namespace r1::pull {

std::vector<PulledModel> list_ollama() {
  std::vector<PulledModel> out;
  std::error_code ec;
  const fs::path root = ollama_models_dir() / "manifests";
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& f : fs::recursive_directory_iterator(root, ec)) {
    if (!fs::is_regular_file(f.path(), ec)) continue;
    const fs::path rel = f.path().lexically_relative(root);
    std::vector<std::string> parts;
    for (const auto& p : rel) parts.push_back(p.string());
    if (parts.size() != 4) continue;
    ModelRef r;
    r.kind = ModelRef::Kind::ollama;
    r.host = parts[0], r.ns = parts[1], r.name = parts[2], r.tag = parts[3];
    try {
      const std::string text = read_all(f.path());
      uint64_t bytes = 0;
      for (const Layer& l : manifest_layers(text, r.text())) bytes += l.size;
      out.push_back({r.text(), model_blob(r, text), bytes});
    } catch (const Error&) {
      continue;  // not a model manifest r1 can use
    }
  }
  return out;
}

std::vector<fs::path> remove_ollama(const ModelRef& ref) {
  const fs::path mpath = manifest_path(ref);
  std::error_code ec;
  if (!fs::is_regular_file(mpath, ec)) fail("{} is not in the ollama store ({})", ref.text(), mpath.string());
  const std::vector<Layer> mine = manifest_layers(read_all(mpath), ref.text());
  std::vector<fs::path> removed{mpath};
  fs::remove(mpath, ec);
  std::set<std::string> used;  // blobs of every remaining manifest
  for (const auto& f : fs::recursive_directory_iterator(ollama_models_dir() / "manifests", ec)) {
    if (!fs::is_regular_file(f.path(), ec)) continue;
    try {
      for (const Layer& l : manifest_layers(read_all(f.path()), f.path().string())) used.insert(l.hex);
    } catch (const Error&) {
      return removed;  // a manifest r1 cannot read: keep every blob (it may need them)
    }
  }
  for (const Layer& l : mine)
    if (!used.count(l.hex) && fs::remove(blob_path(l.hex), ec)) removed.push_back(blob_path(l.hex));
  return removed;
}

}  // namespace r1::pull
