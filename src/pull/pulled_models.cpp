// pull(), resolve_pulled(), list_pulled(), remove_pulled(): the registry-independent entry
// points of pull.hpp, and the cache walks behind `r1 list` / `r1 rm` for Hugging Face.
#include <algorithm>
#include <set>
#include <system_error>

#include "base/error.hpp"
#include "pull/hf_cache.hpp"
#include "pull/pull_env.hpp"

namespace r1::pull {

namespace fs = std::filesystem;

std::vector<fs::path> pull(const ModelRef& ref, const PullOptions& opts) {
  return ref.kind == ModelRef::Kind::hf ? pull_hf(ref, opts) : pull_ollama(ref, opts);
}

fs::path resolve_pulled(const std::string& name) {
  const ModelRef ref = parse_model_ref(name);
  PullOptions o;
  o.offline = true;
  return pull(ref, o).front();
}

std::vector<PulledModel> list_pulled() {
  std::vector<PulledModel> all = list_hf();
  for (PulledModel& m : list_ollama()) all.push_back(std::move(m));
  return all;
}

std::vector<fs::path> remove_pulled(const ModelRef& ref) {
  return ref.kind == ModelRef::Kind::hf ? remove_hf(ref) : remove_ollama(ref);
}

namespace {

// models--org--repo -> org/repo
std::string repo_of(const std::string& dir) {
  std::string r = dir.substr(std::string("models--").size());
  const size_t p = r.find("--");
  if (p != std::string::npos) r.replace(p, 2, "/");
  return r;
}

}  // namespace

std::vector<PulledModel> list_hf() {
  std::vector<PulledModel> out;
  std::error_code ec;
  const fs::path cache = hf_hub_cache_dir();
  if (!fs::is_directory(cache, ec)) return out;
  for (const auto& repo : fs::directory_iterator(cache, ec)) {
    const std::string dn = repo.path().filename().string();
    if (dn.rfind("models--", 0) != 0) continue;
    for (const auto& snap : fs::directory_iterator(repo.path() / "snapshots", ec))
      for (const auto& f : fs::recursive_directory_iterator(snap.path(), ec)) {
        const std::string rel = f.path().lexically_relative(snap.path()).generic_string();
        if (f.path().extension() != ".gguf" || !fs::is_regular_file(f.path(), ec)) continue;
        out.push_back({"hf://" + repo_of(dn) + ":" + rel, f.path(), fs::file_size(f.path(), ec)});
      }
  }
  std::sort(out.begin(), out.end(), [](const PulledModel& a, const PulledModel& b) { return a.name < b.name; });
  return out;
}

std::vector<fs::path> remove_hf(const ModelRef& ref) {
  const fs::path dir = hf_repo_dir(ref.repo);
  std::error_code ec;
  if (!fs::is_directory(dir / "snapshots", ec)) fail("{} is not in the cache ({})", ref.text(), dir.string());
  std::vector<fs::path> removed;
  // The snapshot files to drop: all, or those the selector picks in each snapshot.
  for (const auto& snap : fs::directory_iterator(dir / "snapshots", ec)) {
    std::vector<std::string> names;
    for (const auto& f : fs::recursive_directory_iterator(snap.path(), ec))
      if (!fs::is_directory(f.path(), ec)) names.push_back(f.path().lexically_relative(snap.path()).generic_string());
    std::vector<std::string> drop = names;
    if (!ref.selector.empty()) {
      try {
        drop = select_gguf_files(names, ref.selector, ref.repo);
      } catch (const Error&) {
        drop.clear();
      }
    }
    for (const std::string& n : drop)
      if (fs::remove(snap.path() / n, ec)) removed.push_back(snap.path() / n);
  }
  if (removed.empty()) fail("{}: no pulled file matches in {}", ref.text(), dir.string());
  // Blobs no remaining snapshot link points at.
  std::set<fs::path> used;
  for (const auto& f : fs::recursive_directory_iterator(dir / "snapshots", ec))
    if (fs::is_symlink(f.symlink_status(ec))) used.insert(fs::weakly_canonical(f.path(), ec));
  for (const auto& b : fs::directory_iterator(dir / "blobs", ec))
    if (!used.count(fs::weakly_canonical(b.path(), ec)) && fs::remove(b.path(), ec)) removed.push_back(b.path());
  if (used.empty()) fs::remove_all(dir, ec);  // nothing left: the whole repository folder
  return removed;
}

}  // namespace r1::pull
