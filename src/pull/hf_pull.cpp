// `r1 pull hf://...`: the file list from /api/models/REPO/revision/REV, each file's ETag and
// commit from a HEAD on /REPO/resolve/COMMIT/FILE, blobs into the hub cache (hf_cache.hpp).
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "pull/hf_cache.hpp"
#include "pull/http.hpp"
#include "pull/pull_env.hpp"
#include "pull/safe_names.hpp"

namespace r1::pull {

namespace fs = std::filesystem;

fs::path hf_repo_dir(const std::string& repo) {
  std::string d = "models--" + repo;
  for (size_t p; (p = d.find('/')) != std::string::npos;) d.replace(p, 1, "--");
  return hf_hub_cache_dir() / d;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_gguf(const std::string& n) { return n.size() > 5 && lower(n.substr(n.size() - 5)) == ".gguf"; }

// "NAME-00001-of-00003.gguf" -> ("NAME", 1, 3); false when not a split name.
bool split_part(const std::string& n, std::string* stem, int* part, int* count) {
  const size_t of = n.rfind("-of-");
  if (of == std::string::npos || of < 6 || n.size() != of + 4 + 5 + 5) return false;
  const std::string a = n.substr(of - 5, 5), b = n.substr(of + 4, 5);
  if (n[of - 6] != '-' || !std::all_of(a.begin(), a.end(), ::isdigit) || !std::all_of(b.begin(), b.end(), ::isdigit))
    return false;
  *stem = n.substr(0, of - 6);
  *part = std::stoi(a);
  *count = std::stoi(b);
  return true;
}

std::vector<std::string> auth_headers() {
  const std::string token = hf_token();
  if (token.empty()) return {};
  return {"Authorization: Bearer " + token};
}

std::string unquote_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

std::string relative_blob_link(const std::string& file, const std::string& etag) {
  std::string up = "../../";
  for (char c : file)
    if (c == '/') up += "../";
  return up + "blobs/" + etag;
}

// The snapshot's files that the selector picks, from the cache alone.
std::vector<fs::path> from_cache(const ModelRef& ref) {
  const fs::path dir = hf_repo_dir(ref.repo);
  std::string commit = ref.revision;
  std::ifstream in(dir / "refs" / ref.revision);
  if (in) std::getline(in, commit);
  if (!is_git_sha1_hex(commit) || !fs::is_directory(dir / "snapshots" / commit))
    fail("{} is not in the cache ({}); run `r1 pull {}` with network", ref.text(), dir.string(), ref.text());
  std::vector<std::string> names;
  const fs::path snap = dir / "snapshots" / commit;
  for (const auto& e : fs::recursive_directory_iterator(snap)) {
    std::error_code ec;
    if (fs::is_regular_file(e.path(), ec)) names.push_back(e.path().lexically_relative(snap).generic_string());
  }
  std::sort(names.begin(), names.end());
  std::vector<fs::path> out;
  for (const std::string& n : select_gguf_files(names, ref.selector, ref.repo)) out.push_back(snap / n);
  return out;
}

}  // namespace

std::vector<std::string> select_gguf_files(const std::vector<std::string>& names, const std::string& selector,
                                           const std::string& repo) {
  std::vector<std::string> ggufs;
  for (const std::string& n : names)
    if (is_gguf(n)) ggufs.push_back(n);
  auto listing = [&] {
    std::string s;
    for (size_t i = 0; i < ggufs.size() && i < 20; ++i) s += (i ? ", " : "") + ggufs[i];
    return ggufs.empty() ? std::string("none") : s + (ggufs.size() > 20 ? ", ..." : "");
  };
  std::vector<std::string> match;
  if (is_gguf(selector)) {
    if (std::find(ggufs.begin(), ggufs.end(), selector) != ggufs.end()) match.push_back(selector);
  } else {
    const std::string want = lower(selector.empty() ? "q4_k_m" : selector);
    for (const std::string& n : ggufs)
      if (lower(fs::path(n).filename().string()).find(want) != std::string::npos) match.push_back(n);
    if (match.empty() && selector.empty() && ggufs.size() == 1) match = ggufs;
  }
  if (match.empty())
    fail("hf://{}: no GGUF file matches '{}' (GGUF files: {})", repo, selector.empty() ? "Q4_K_M" : selector, listing());
  // One model: a single file, or every part of one split file.
  std::string stem;
  int part = 0, count = 0;
  if (split_part(match[0], &stem, &part, &count)) {
    std::vector<std::string> parts;
    for (const std::string& n : ggufs) {
      std::string s;
      int p = 0, c = 0;
      if (split_part(n, &s, &p, &c) && s == stem && c == count) parts.push_back(n);
    }
    std::sort(parts.begin(), parts.end());
    if (static_cast<int>(parts.size()) != count)
      fail("hf://{}: split file {} has {} of its {} parts in the repository", repo, stem, parts.size(), count);
    return parts;
  }
  std::sort(match.begin(), match.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return {match[0]};
}

std::vector<fs::path> pull_hf(const ModelRef& ref, const PullOptions& opts) {
  if (opts.offline || offline_from_env()) return from_cache(ref);
  const std::string ep = hf_endpoint();
  const std::vector<std::string> auth = auth_headers();
  const std::string api = ep + "/api/models/" + ref.repo + "/revision/" + ref.revision;
  const HttpResponse info = fetch({.url = api, .headers = auth});
  if (info.status != 200) http_error(info.status, "hf://" + ref.repo + "@" + ref.revision, api, true);
  const nlohmann::json j = nlohmann::json::parse(info.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("siblings") || !j["siblings"].is_array())
    fail("hf://{}: the file list from {} is not the hub's JSON", ref.repo, api);
  std::vector<std::string> names;
  for (const auto& s : j["siblings"])
    if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string()) {
      const std::string n = s["rfilename"].get<std::string>();
      if (is_gguf(n)) check_relative_path(n, "hf://" + ref.repo + ": file name from the server");
      names.push_back(n);
    }
  const std::vector<std::string> files = select_gguf_files(names, ref.selector, ref.repo);
  std::string commit = j.value("sha", std::string());

  const fs::path dir = hf_repo_dir(ref.repo);
  std::vector<fs::path> out;
  for (const std::string& file : files) {
    const std::string url = ep + "/" + ref.repo + "/resolve/" + (commit.empty() ? ref.revision : commit) + "/" + file;
    const HttpResponse head = fetch({.url = url, .headers = auth, .head = true, .follow = false});
    if (head.status >= 400) http_error(head.status, "hf://" + ref.repo + "/" + file, url, true);
    auto header = [&](const char* k) { auto it = head.headers.find(k); return it == head.headers.end() ? "" : it->second; };
    const std::string c = header("x-repo-commit");
    if (!c.empty()) commit = c;
    if (!is_git_sha1_hex(commit)) fail("hf://{}: the server gave no valid commit id for {} ({})", ref.repo, file, url);
    std::string etag = unquote_etag(header("x-linked-etag"));
    if (etag.empty()) etag = unquote_etag(header("etag"));
    check_component(etag, "hf://" + ref.repo + "/" + file + ": ETag from the server");
    std::string size_text = header("x-linked-size");
    if (size_text.empty() && head.status == 200) size_text = header("content-length");
    const uint64_t size = size_text.empty() ? 0 : std::stoull(size_text);
    const Verify how = is_sha256_hex(etag) ? Verify::sha256 : is_git_sha1_hex(etag) ? Verify::git_blob_sha1 : Verify::none;

    const fs::path blob = dir / "blobs" / etag;
    std::error_code ec;
    if (fs::exists(blob, ec) && (size == 0 || fs::file_size(blob, ec) == size)) {
      if (opts.note) opts.note(fmt::format("{}: already in the cache", file));
    } else {
      fetch_blob(url, auth, blob, ".incomplete", how, etag, size, file, opts);
    }
    const fs::path link = dir / "snapshots" / commit / file;
    fs::create_directories(link.parent_path());
    const std::string target = relative_blob_link(file, etag);
    if (fs::read_symlink(link, ec) != fs::path(target)) {
      const fs::path tmp = link.string() + ".r1-tmp";
      fs::remove(tmp, ec);
      fs::create_symlink(target, tmp);
      fs::rename(tmp, link);
    }
    out.push_back(link);
  }
  if (ref.revision != commit) {
    fs::create_directories(dir / "refs" / fs::path(ref.revision).parent_path());
    write_file_atomic((dir / "refs" / ref.revision).string(), commit);
  }
  return out;
}

}  // namespace r1::pull
