// `r1 pull`, `r1 list`, `r1 rm` and `-m NAME`: models fetched from Hugging Face or an ollama
// registry into the caches those tools use, so that files are shared with them.
//
// Where things go:
//   Hugging Face  $HF_HUB_CACHE (pull_env.hpp) / models--ORG--REPO /
//                 blobs/<etag>                  the file (its sha256 for LFS files)
//                 snapshots/<commit>/<file>     relative symlink to ../../blobs/<etag>
//                 refs/<revision>               the commit the revision pointed at
//   ollama        $OLLAMA_MODELS (~/.ollama/models) /
//                 blobs/sha256-<hex>            every layer; existing blobs are reused
//                 manifests/<host>/<ns>/<name>/<tag>   the manifest as the registry sent it
//
// Contracts:
// - pull() downloads what is missing, resuming a partial download (<blob>.incomplete /
//   <blob>-partial) with an HTTP Range request, verifies it (sha256 or git blob sha1 from
//   the ETag for Hugging Face, the layer digest for ollama; a mismatch removes the file and
//   fetches it once more, a second mismatch is an error), fsyncs and renames it into place,
//   then writes the snapshot link / ref / manifest (atomically). A blob already in place is
//   not fetched again (a second pull only asks for the file list and headers). Offline
//   (opts.offline or HF_HUB_OFFLINE=1) it only resolves from the cache. Returns the model
//   files (the GGUF parts, first part first).
// - Errors (r1::Error) name the repository / file / tag: 401 and 403 mention HF_TOKEN,
//   404 names what was not found, no network gives curl's message and the URL. Nothing is
//   left in snapshots/ or manifests/ for a failed pull.
// - resolve_pulled() is pull() with offline = true and no output: what `-m NAME` loads.
// - remove_pulled() deletes the snapshot files (or manifest) and every blob no other
//   snapshot (manifest) refers to; returns the paths removed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pull/model_ref.hpp"

namespace r1::pull {

struct PullOptions {
  bool offline = false;
  bool quiet = false;
  // progress(file, bytes done, bytes total (0 = unknown)); called often during a download
  std::function<void(const std::string&, uint64_t, uint64_t)> progress;
  std::function<void(const std::string&)> note;  // one-line messages ("already here", ...)
};

std::vector<std::filesystem::path> pull(const ModelRef& ref, const PullOptions& opts);
std::filesystem::path resolve_pulled(const std::string& name);

struct PulledModel {
  std::string name;                 // hf://org/repo:file or host/ns/name:tag
  std::filesystem::path file;       // the GGUF (first part)
  uint64_t bytes = 0;               // all parts / layers
};
std::vector<PulledModel> list_pulled();
std::vector<std::filesystem::path> remove_pulled(const ModelRef& ref);

// Internals shared by the two registries (transfer.cpp).
enum class Verify { none, sha256, git_blob_sha1 };
// Downloads `url` into `dest` through `dest + partial_suffix` (resumed), verifies against
// `expected` (hex) with `how`, retries once from scratch on a mismatch, renames into place.
void fetch_blob(const std::string& url, const std::vector<std::string>& headers, const std::filesystem::path& dest,
                const std::string& partial_suffix, Verify how, const std::string& expected, uint64_t size,
                const std::string& label, const PullOptions& opts);
// "HTTP <status>" errors with the registries' meanings.
[[noreturn]] void http_error(long status, const std::string& what, const std::string& url, bool hf);

}  // namespace r1::pull
