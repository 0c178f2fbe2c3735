// Verified, resumable blob downloads; contract in pull.hpp.
#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/error.hpp"
#include "pull/digest.hpp"
#include "pull/http.hpp"
#include "pull/pull.hpp"

namespace r1::pull {

namespace fs = std::filesystem;

void http_error(long status, const std::string& what, const std::string& url, bool hf) {
  if (status == 401 || status == 403)
    fail("{}: access denied (HTTP {}){} ({})", what, status,
         hf ? ": the repository is private or gated; set HF_TOKEN to a token that may read it" : "", url);
  if (status == 404) fail("{}: not found (HTTP 404, {})", what, url);
  fail("{}: the server answered HTTP {} ({})", what, status, url);
}

namespace {

std::string digest_of(const fs::path& p, Verify how) {
  return how == Verify::sha256 ? file_digest(p.string(), DigestKind::sha256)
                               : file_digest(p.string(), DigestKind::git_blob_sha1);
}

}  // namespace

void fetch_blob(const std::string& url, const std::vector<std::string>& headers, const fs::path& dest,
                const std::string& partial_suffix, Verify how, const std::string& expected, uint64_t size,
                const std::string& label, const PullOptions& opts) {
  const fs::path part = dest.string() + partial_suffix;
  fs::create_directories(dest.parent_path());
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::error_code ec;
    const uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
    if (opts.note && have > 0 && attempt == 0) opts.note(fmt::format("{}: resuming at {} bytes", label, have));
    bool complete = size > 0 && have == size;  // a finished download whose rename was interrupted
    if (!complete) {
      const long status = download(url, headers, part.string(), [&](uint64_t done, uint64_t total) {
        if (opts.progress) opts.progress(label, done, total ? total : size);
      });
      if (status == 416 && size > 0 && fs::file_size(part, ec) == size) complete = true;
      else if (status < 200 || status >= 300) {
        if (status == 416) fs::remove(part, ec);  // the partial file is not a prefix of this blob
        http_error(status, label, url, partial_suffix == ".incomplete");
      }
    }
    const uint64_t got = fs::file_size(part, ec);
    bool ok = size == 0 || got == size;
    if (ok && how != Verify::none) ok = digest_of(part, how) == expected;
    if (ok) {
      fs::rename(part, dest, ec);
      if (ec) fail("cannot move '{}' into place: {}", part.string(), ec.message());
      return;
    }
    fs::remove(part, ec);
    if (attempt == 0 && opts.note)
      opts.note(fmt::format("{}: the download does not match its {} ({} bytes); fetching it again", label,
                            how == Verify::none ? "size" : "digest", got));
  }
  fail("{}: the downloaded file does not match its {} twice ({}); nothing was kept", label,
       how == Verify::none ? "size" : "digest", url);
}

}  // namespace r1::pull
