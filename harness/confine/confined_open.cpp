#include "confine/confined_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <random>

namespace ckpt {

namespace {
namespace fs = std::filesystem;

constexpr int kMaxLinks = 40;  // as the kernel's path walk (MAXSYMLINKS)

std::string fd_link(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Where an open descriptor really is, as the kernel resolved it; "" (errno set) if unknown.
std::string real_path_of_fd(int fd) {
  char buffer[PATH_MAX + 1];
  const ssize_t n = ::readlink(fd_link(fd).c_str(), buffer, PATH_MAX);
  if (n <= 0) return "";
  return std::string(buffer, static_cast<std::size_t>(n));
}

fs::path absolute_normal(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  if (p.has_relative_path() && p.filename().empty()) p = p.parent_path();  // "a/b/" -> "a/b"
  return p;
}
}  // namespace

bool is_within(const std::string& path, const std::string& dir) {
  if (dir.empty() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || dir.back() == '/' || path[dir.size()] == '/';
}

bool is_within_any(const std::string& path, const AllowedDirs& dirs) {
  for (const auto& dir : dirs) {
    if (is_within(path, dir)) return true;
  }
  return false;
}

ResolvedPath resolve_path(const std::string& path) {
  // The kernel's walk, done with lstat and readlink so that a missing tail (a report
  // directory not made yet) and a dangling link still say where they lead.
  std::error_code ec;
  const fs::path start = fs::absolute(path, ec);
  std::vector<std::string> todo;  // components still to walk, the next one last
  for (const auto& part : start.relative_path()) todo.insert(todo.begin(), part.string());
  fs::path done = "/";
  bool missing = false;
  int links = 0;
  while (!todo.empty()) {
    const std::string part = std::move(todo.back());
    todo.pop_back();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      done = done.parent_path();  // `done` holds no link, so its parent is the real one
      continue;
    }
    const fs::path next = done / part;
    if (missing) {
      done = next;
      continue;
    }
    struct stat st {};
    if (::lstat(next.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return {next.string(), errno};
      missing = true;
      done = next;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) {
      done = next;
      continue;
    }
    if (++links > kMaxLinks) return {next.string(), ELOOP};
    char buffer[PATH_MAX + 1];
    const ssize_t n = ::readlink(next.c_str(), buffer, PATH_MAX);
    if (n < 0) return {next.string(), errno};
    const fs::path target(std::string(buffer, static_cast<std::size_t>(n)));
    if (target.is_absolute()) done = "/";
    std::vector<std::string> parts;
    for (const auto& p : target.relative_path()) parts.push_back(p.string());
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  }
  return {done.lexically_normal().string(), 0};
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

ConfinedFd open_for_reading(const std::string& path, int flags, const AllowedDirs& dirs) {
  ConfinedFd out;
  if (dirs.empty()) {
    out.fd = UniqueFd(::open(path.c_str(), flags));
    if (!out.fd) out.error = errno;
    return out;
  }
  // O_PATH: where the path leads, pinned, without reading it or waking a device.
  const UniqueFd pinned(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!pinned) {
    out.error = errno;
    return out;
  }
  out.real = real_path_of_fd(pinned.get());
  if (out.real.empty()) {
    out.error = errno;
    return out;
  }
  if (!is_within_any(out.real, dirs)) {
    out.outside = true;
    return out;
  }
  // Reopens that very inode: /proc/self/fd/N names the descriptor, not a path to walk again.
  out.fd = UniqueFd(::open(fd_link(pinned.get()).c_str(), flags));
  if (!out.fd) out.error = errno;
  return out;
}

ConfinedFd open_directory_for_writing(const std::string& path, const AllowedDirs& dirs) {
  ConfinedFd out;
  const fs::path wanted = absolute_normal(path);
  if (dirs.empty()) {
    std::error_code ec;
    fs::create_directories(wanted, ec);
    out.fd = UniqueFd(::open(wanted.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!out.fd) out.error = errno;
    return out;
  }
  // O_PATH: a directory one may write in but not list is still one to write reports in.
  // The deepest directory that exists, wherever its links lead; below it nothing exists yet.
  std::vector<std::string> missing;  // deepest first
  fs::path existing = wanted;
  UniqueFd dir;
  for (;;) {
    dir = UniqueFd(::open(existing.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir) break;
    if (errno != ENOENT || !existing.has_relative_path()) {
      out.error = errno;
      return out;
    }
    missing.push_back(existing.filename().string());
    existing = existing.parent_path();
  }
  const std::string real = real_path_of_fd(dir.get());
  if (real.empty()) {
    out.error = errno;
    return out;
  }
  fs::path target = real;
  for (auto name = missing.rbegin(); name != missing.rend(); ++name) target /= *name;
  out.real = target.string();
  if (!is_within_any(out.real, dirs)) {  // checked before anything is made
    out.outside = true;
    return out;
  }
  for (auto name = missing.rbegin(); name != missing.rend(); ++name) {
    if (::mkdirat(dir.get(), name->c_str(), 0777) != 0 && errno != EEXIST) {
      out.error = errno;
      return out;
    }
    // O_NOFOLLOW: a link put there meanwhile is refused, not followed.
    UniqueFd child(::openat(dir.get(), name->c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child) {
      out.error = errno;
      return out;
    }
    dir = std::move(child);
  }
  out.real = real_path_of_fd(dir.get());
  if (out.real.empty() || !is_within_any(out.real, dirs)) {
    out.outside = true;
    return out;
  }
  out.fd = std::move(dir);
  return out;
}

int replace_file_at(int dir, const std::string& name, const std::string& bytes) {
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  std::string temp;
  UniqueFd file;
  for (int attempt = 0; attempt < 100 && !file; ++attempt) {
    temp = name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(random() % 100000);
    file = UniqueFd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file && errno != EEXIST) return errno;
  }
  if (!file) return EEXIST;
  std::size_t done = 0;
  int error = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(file.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (error == 0) ::fchmod(file.get(), 0644);  // not the umask's: reports are read by others
  if (error == 0 && ::fsync(file.get()) != 0) error = errno;
  if (::close(file.release()) != 0 && error == 0) error = errno;
  if (error == 0 && ::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) error = errno;
  if (error != 0) ::unlinkat(dir, temp.c_str(), 0);
  return error;
}

}  // namespace ckpt
