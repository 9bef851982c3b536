#pragma once
// Read-only bytes of one input: a memory-mapped file (no copy, pages read on demand)
// or a buffer in memory (fuzzing, tests). Shared so that tensors can keep it alive.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "confine/confined_open.hpp"

namespace ckpt {

class ByteSource {
 public:
  // Maps `path` read-only. Refuses anything that is not a regular file (directories,
  // FIFOs, devices) without blocking, and files larger than `max_bytes`. With
  // `confine_to`, refuses a file that really lies outside those directories (a link to
  // /etc/shadow), checked on the opened descriptor (confine/confined_open.hpp).
  static std::shared_ptr<const ByteSource> map_file(const std::string& path, std::uint64_t max_bytes = kNoLimit,
                                                    const AllowedDirs& confine_to = {});
  static std::shared_ptr<const ByteSource> from_memory(std::string name, std::vector<std::uint8_t> bytes);
  // Bytes [offset, offset + length) of `whole` as a source of their own, named `name`,
  // keeping `whole` alive: a record inside a larger file (a torch.save archive inside a
  // torch.distributed.checkpoint `.distcp` file). Throws ReadError when the range runs past
  // the end of `whole`.
  static std::shared_ptr<const ByteSource> slice(std::shared_ptr<const ByteSource> whole, std::size_t offset,
                                                 std::size_t length, std::string name);

  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource();

  const std::uint8_t* data() const { return data_; }
  // Pages private to this process (copy-on-write): a tensor viewing them may be modified
  // in place without touching the file. Only the tensor layer uses this.
  std::uint8_t* private_data() const { return const_cast<std::uint8_t*>(data_); }
  std::size_t size() const { return size_; }
  const std::string& name() const { return name_; }
  std::string_view view(std::size_t offset, std::size_t length) const;
  // Copies bytes out without touching the mapping (pread on a mapped file): cheap for a few
  // scattered bytes, where a first touch of the mapping costs a page fault.
  std::string_view copy_out(std::size_t offset, std::size_t length, std::string& buffer) const;

  // Maps the pages of [offset, offset + length) in one call before they are read
  // (MADV_POPULATE_READ): cheaper than one page fault per page. A hint: errors are ignored.
  void prefetch(std::size_t offset, std::size_t length) const;
  // Drops the mapped pages of [offset, offset + length) from memory (MADV_DONTNEED): they
  // are read from the file again if touched. Only for bytes copied out and never written
  // through private_data(): a private page's changes would be lost.
  void release(std::size_t offset, std::size_t length) const;

  // A new private (copy-on-write) mapping of [offset, offset + length) of the file: bytes
  // that may be modified in place, read from the file only when touched, shared with no
  // other view. nullptr when this source is not a mapped file.
  std::shared_ptr<std::uint8_t> map_private(std::size_t offset, std::size_t length) const;

  static constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

 private:
  ByteSource() = default;
  std::string name_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  void* mapping_ = nullptr;  // non-null when mmap'ed
  int fd_ = -1;
  std::vector<std::uint8_t> owned_;
  std::shared_ptr<const ByteSource> whole_;  // a slice's file; its bytes start at base_ there
  std::size_t base_ = 0;
};

}  // namespace ckpt
