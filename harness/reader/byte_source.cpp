#include "reader/byte_source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "reader/read_error.hpp"

namespace ckpt {

namespace {
[[noreturn]] void io_error(const std::string& path, const std::string& what) {
  throw ReadError(ReadErrorKind::kIo, path, "", what);
}

}  // namespace

std::shared_ptr<const ByteSource> ByteSource::map_file(const std::string& path, std::uint64_t max_bytes,
                                                      const AllowedDirs& confine_to) {
  // O_NONBLOCK: opening a FIFO with no writer must not hang the reader.
  ConfinedFd opened = open_for_reading(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, confine_to);
  if (opened.outside) {
    io_error(path, "is outside the directories files may be read from (it resolves to " + opened.real +
                       "): a symbolic link may not lead out of the repository; allow a directory with --allow-path DIR");
  }
  if (!opened.fd) io_error(path, std::string("cannot open: ") + std::strerror(opened.error));
  const int fd = opened.fd.get();
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
  if (mapped == MAP_FAILED) {
    io_error(path, std::string("cannot map: ") + std::strerror(errno) +
                       (errno == ENOMEM ? " (a memory limit such as RLIMIT_DATA counts the mapping: "
                                          "ckpt-harness run's [run] memory_limit_mib must exceed the file size)"
                                        : ""));
  }
  source->mapping_ = mapped;
  source->fd_ = opened.fd.release();
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

std::shared_ptr<const ByteSource> ByteSource::slice(std::shared_ptr<const ByteSource> whole, std::size_t offset,
                                                   std::size_t length, std::string name) {
  whole->view(offset, length);  // the range lies inside: else a ReadError naming the file
  std::shared_ptr<ByteSource> source(new ByteSource());
  source->name_ = std::move(name);
  source->data_ = whole->data_ + offset;
  source->size_ = length;
  source->base_ = offset + whole->base_;
  source->whole_ = whole->whole_ ? whole->whole_ : std::move(whole);
  return source;
}

ByteSource::~ByteSource() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
  if (fd_ >= 0) ::close(fd_);
}

std::string_view ByteSource::copy_out(std::size_t offset, std::size_t length, std::string& buffer) const {
  std::string_view v = view(offset, length);  // bounds check only: does not touch the bytes
  if (whole_) return whole_->copy_out(base_ + offset, length, buffer);
  if (fd_ < 0) return v;
  buffer.resize(length);
  if (::pread(fd_, buffer.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length)) return v;
  return buffer;
}

void ByteSource::prefetch(std::size_t offset, std::size_t length) const {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;  // Linux 5.14; older kernels answer EINVAL
#endif
  if (whole_ && offset < size_) return whole_->prefetch(base_ + offset, std::min(length, size_ - offset));
  if (mapping_ == nullptr || offset >= size_ || length == 0) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = offset / page * page;
  const std::size_t end = std::min(size_, offset + std::min(length, size_ - offset));
  ::madvise(static_cast<std::uint8_t*>(mapping_) + begin, end - begin, MADV_POPULATE_READ);
}

std::shared_ptr<std::uint8_t> ByteSource::map_private(std::size_t offset, std::size_t length) const {
  if (offset >= size_ || length == 0 || length > size_ - offset) return nullptr;
  if (whole_) return whole_->map_private(base_ + offset, length);
  if (fd_ < 0) return nullptr;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = offset / page * page;
  const std::size_t span = offset + length - begin;
  void* mapped = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, static_cast<off_t>(begin));
  if (mapped == MAP_FAILED) return nullptr;
  auto* bytes = static_cast<std::uint8_t*>(mapped) + (offset - begin);
  return std::shared_ptr<std::uint8_t>(bytes, [mapped, span](std::uint8_t*) { ::munmap(mapped, span); });
}

void ByteSource::release(std::size_t offset, std::size_t length) const {
  if (whole_ && offset < size_) return whole_->release(base_ + offset, std::min(length, size_ - offset));
  if (mapping_ == nullptr || offset >= size_ || length == 0) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = offset / page * page;
  const std::size_t end = std::min(size_, offset + std::min(length, size_ - offset));
  ::madvise(static_cast<std::uint8_t*>(mapping_) + begin, end - begin, MADV_DONTNEED);
}

std::string_view ByteSource::view(std::size_t offset, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw ReadError(ReadErrorKind::kTruncated, name_, "byte " + std::to_string(offset),
                    "expected " + std::to_string(length) + " bytes, the file has " + std::to_string(size_));
  }
  return {reinterpret_cast<const char*>(data_) + offset, length};
}

}  // namespace ckpt
