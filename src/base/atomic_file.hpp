// Files that are never seen half written, and logs that never keep a torn line.
//
// AtomicFile contract: the constructor creates a temporary file with a unique name
// (mkostemp: O_CREAT | O_EXCL, ".<name>.tmp<6 random chars>") in the directory of
// `path`, so writers of the same path at once never share one; write() appends to
// it; commit() fsyncs it, gives it the mode of the file it replaces (a new file:
// 0666 less the umask), renames it over `path` and fsyncs the directory. `path` is
// untouched until commit() renames, and then holds the whole new content (readers
// see the old file or the new one, never a mix). An AtomicFile destroyed before
// commit() (an error, an exception in the code filling it) removes its temporary
// file. Every failure throws r1::Error naming the path and the errno text.
//
// AppendFile contract (JSONL logs written record by record): append_line() writes
// one line and its '\n' with write(2) calls retried until complete, so a crash can
// tear at most the last line; sync() fsyncs (call it at each checkpoint of the
// run). Readers resuming from such a log must skip (or cut away) a last line
// without its '\n'.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace r1 {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view data);
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  // The temporary file's descriptor, for writers that stream with their own
  // write(2) calls (the GGUF writer); -1 after commit().
  int fd() const { return fd_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// AtomicFile(path) + write(data) + commit().
void write_file_atomic(const std::string& path, std::string_view data);
// The content written by fill(file); if fill throws, `path` is untouched, the
// temporary file is removed and the exception propagates.
void write_file_atomic(const std::string& path, const std::function<void(AtomicFile&)>& fill);

class AppendFile {
 public:
  explicit AppendFile(std::string path);  // created if missing (0666 less the umask)
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append_line(std::string_view line);  // `line` holds no '\n'; one is added
  void sync();

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace r1
