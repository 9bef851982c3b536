#pragma once
// Opening files only where they really are. A path inside the repository may be a symbolic
// link, or pass through one, to any file of the CI machine; a check of the path followed by
// an open of it leaves a gap in which a link can be changed. So the check is made on the
// open descriptor, and nothing is looked up by path after it:
//   reading: open(path, O_PATH) follows links as any open does, but neither reads nor
//     wakes a device; the kernel says where that descriptor really is (/proc/self/fd/N);
//     only when that lies in an allowed directory is the same inode reopened for reading
//     through /proc/self/fd/N, which resolves no path again.
//   writing: the deepest existing ancestor of the directory is opened and checked where it
//     really is, the missing directories are made below it with mkdirat and opened with
//     openat(O_NOFOLLOW), and the final directory's real place is checked again. Files are
//     then made relative to that descriptor: a temporary file (O_CREAT | O_EXCL |
//     O_NOFOLLOW) renamed over the target with renameat, which replaces a link found there
//     instead of writing through it.
// It knows nothing of configs: callers pass the allowed directories.
#include <string>
#include <vector>

namespace ckpt {

// Directories (absolute and resolved) that files must really lie in; empty: anywhere.
using AllowedDirs = std::vector<std::string>;

// Whether `path` is `dir` or lies below it; both absolute and normal (compared as text).
bool is_within(const std::string& path, const std::string& dir);
bool is_within_any(const std::string& path, const AllowedDirs& dirs);

// Where a path leads: every symbolic link followed (a dangling one to the name it holds),
// the part that does not exist appended as written. `error` is the errno that stopped the
// resolution (ELOOP for a link loop, EACCES for a link that cannot be read), else 0.
struct ResolvedPath {
  std::string path;
  int error = 0;
};
ResolvedPath resolve_path(const std::string& path);

// A descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release();
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// What a confined open gave: a descriptor, or why not.
struct ConfinedFd {
  UniqueFd fd;
  int error = 0;     // errno of an open that failed (ELOOP: a link loop)
  bool outside = false;  // it opened, but really lies outside every allowed directory
  std::string real;  // where it really is, when known
};

// Opens `path` for reading with `flags` (O_RDONLY and O_CLOEXEC, O_NONBLOCK, ...), links
// followed, only when the file really lies in `dirs` (anywhere when `dirs` is empty).
ConfinedFd open_for_reading(const std::string& path, int flags, const AllowedDirs& dirs);

// Opens the directory `path` to write files in, making the missing directories, only when
// it really lies in `dirs`; nothing is made outside them.
ConfinedFd open_directory_for_writing(const std::string& path, const AllowedDirs& dirs);

// Writes `bytes` to `name` in the directory `dir` (a descriptor from
// open_directory_for_writing): a temporary file renamed over `name`, so a reader never sees
// half a file and a link named `name` is replaced, not followed. Returns 0 or the errno.
int replace_file_at(int dir, const std::string& name, const std::string& bytes);

}  // namespace ckpt
