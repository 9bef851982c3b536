#include "worker/file_digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace ckpt {

std::string sha256_of_file(const std::string& path, const AllowedDirs& confine_to) {
  ConfinedFd opened = open_for_reading(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, confine_to);
  struct stat st {};
  // Only a regular file: a device swapped in (/dev/zero) would be read without end.
  if (!opened.fd || ::fstat(opened.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  const int fd = opened.fd.release();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<unsigned char> buffer(1 << 20);
  bool ok = true;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!ok) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

std::string FileDigests::of(const std::string& path, const AllowedDirs& confine_to) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  auto it = known_.find(path);
  if (it != known_.end() && it->second.size == size && it->second.mtime_ns == mtime_ns) return it->second.sha256;
  Entry entry{size, mtime_ns, sha256_of_file(path, confine_to)};
  known_[path] = entry;
  return entry.sha256;
}

}  // namespace ckpt
