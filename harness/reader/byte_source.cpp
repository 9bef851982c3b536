#include "reader/byte_source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reader/read_error.hpp"

namespace ckpt {

namespace {
[[noreturn]] void io_error(const std::string& path, const std::string& what) {
  throw ReadError(ReadErrorKind::kIo, path, "", what);
}

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};
}  // namespace

std::shared_ptr<const ByteSource> ByteSource::map_file(const std::string& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO with no writer must not hang the reader.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) io_error(path, std::string("cannot open: ") + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) io_error(path, std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) io_error(path, "is a directory, expected a checkpoint file");
  if (!S_ISREG(st.st_mode)) io_error(path, "is not a regular file (FIFO, socket or device), expected a checkpoint file");
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    io_error(path, "is " + std::to_string(size) + " bytes, over the size limit of " + std::to_string(max_bytes) +
                       " bytes");
  }
  std::shared_ptr<ByteSource> source(new ByteSource());
  source->name_ = path;
  if (size == 0) return source;  // mmap cannot map zero bytes; an empty source is valid
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) io_error(path, std::string("cannot map: ") + std::strerror(errno));
  source->mapping_ = mapped;
  source->data_ = static_cast<const std::uint8_t*>(mapped);
  source->size_ = size;
  return source;
}

std::shared_ptr<const ByteSource> ByteSource::from_memory(std::string name, std::vector<std::uint8_t> bytes) {
  std::shared_ptr<ByteSource> source(new ByteSource());
  source->name_ = std::move(name);
  source->owned_ = std::move(bytes);
  source->data_ = source->owned_.data();
  source->size_ = source->owned_.size();
  return source;
}

ByteSource::~ByteSource() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

std::string_view ByteSource::view(std::size_t offset, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw ReadError(ReadErrorKind::kTruncated, name_, "byte " + std::to_string(offset),
                    "expected " + std::to_string(length) + " bytes, the file has " + std::to_string(size_));
  }
  return {reinterpret_cast<const char*>(data_) + offset, length};
}

}  // namespace ckpt
