#include "base/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "base/error.hpp"

namespace r1 {

namespace {

std::string errno_text() { return std::strerror(errno); }

// Directory and file name of a path ("a/b" -> "a", "b"; "b" -> ".", "b"; "/b" -> "/", "b").
std::pair<std::string, std::string> split_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// The process umask, read without changing it (umask(2) would set it, racing other
// threads creating files); 022 when /proc is not there.
mode_t current_umask() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 022;
  char line[256];
  unsigned mask = 022;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "Umask: %o", &mask) == 1) break;
  std::fclose(f);
  return static_cast<mode_t>(mask);
}

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write '{}': {}", what, n < 0 ? errno_text() : "no progress");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_directory(const std::string& dir, const std::string& path) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail("cannot open the directory of '{}' to sync it: {}", path, errno_text());
  // Some file systems do not sync directories (EINVAL); the rename stands anyway.
  const bool ok = ::fsync(dfd) == 0 || errno == EINVAL;
  const std::string err = ok ? "" : errno_text();
  ::close(dfd);
  if (!ok) fail("cannot sync the directory of '{}': {}", path, err);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const auto [dir, name] = split_path(path_);
  if (name.empty()) fail("cannot write '{}': not a file name", path_);
  std::string tmpl = (dir == "/" ? "" : dir) + "/." + name + ".tmpXXXXXX";
  fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd_ < 0) fail("cannot write '{}': cannot create a temporary file in '{}': {}", path_, dir, errno_text());
  temp_ = std::move(tmpl);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  if (fd_ < 0) fail("cannot write '{}': already committed", path_);
  write_all(fd_, data, path_);
}

void AtomicFile::commit() {
  if (fd_ < 0) fail("cannot write '{}': already committed", path_);
  struct stat st {};
  const mode_t mode = ::stat(path_.c_str(), &st) == 0 ? (st.st_mode & 07777) : (0666 & ~current_umask());
  if (::fchmod(fd_, mode) != 0) fail("cannot write '{}': chmod of '{}': {}", path_, temp_, errno_text());
  if (::fsync(fd_) != 0) fail("cannot write '{}': fsync of '{}': {}", path_, temp_, errno_text());
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail("cannot write '{}': close of '{}': {}", path_, temp_, errno_text());
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    fail("cannot write '{}': rename from '{}': {}", path_, temp_, errno_text());
  committed_ = true;
  fsync_directory(split_path(path_).first, path_);
}

void write_file_atomic(const std::string& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

void write_file_atomic(const std::string& path, const std::function<void(AtomicFile&)>& fill) {
  AtomicFile f(path);
  fill(f);
  f.commit();
}

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) fail("cannot open '{}' for appending: {}", path_, errno_text());
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append_line(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) fail("'{}': a log line must not contain a newline", path_);
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line).push_back('\n');
  write_all(fd_, buf, path_);
}

void AppendFile::sync() {
  if (::fsync(fd_) != 0) fail("cannot sync '{}': {}", path_, errno_text());
}

}  // namespace r1
