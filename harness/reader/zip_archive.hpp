#pragma once
// A read-only, bounds-checked view of a zip file as torch.save and torch::save write it.
// Stored (uncompressed) entries are read in place from the mapped file. Compressed entries
// (TorchScript archives deflate their code/ and debug records) are listed but never
// inflated: reading one is an error, so a zip bomb costs nothing. Encrypted entries,
// duplicate names and sizes that disagree or overrun are refused.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reader/byte_source.hpp"

namespace ckpt {

struct ZipEntry {
  std::string name;
  std::uint64_t local_header_offset = 0;
  std::uint64_t size = 0;             // uncompressed size
  std::uint64_t compressed_size = 0;  // bytes in the file
  std::uint16_t method = 0;           // 0: stored
  std::uint32_t crc32 = 0;
};

class ZipArchive {
 public:
  static constexpr std::size_t kMaxEntries = 1u << 20;

  // True when the bytes start like a zip file (local header signature).
  static bool looks_like_zip(const ByteSource& source);

  explicit ZipArchive(std::shared_ptr<const ByteSource> source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;
  std::string_view bytes(const ZipEntry& entry) const;  // no copy; stored entries only
  // bytes(), with the CRC-32 checked: for the records the reader interprets (pickles,
  // version), where torch.load 1.13 and zipfile refuse a mismatch and PyTorch >= 2.1 does
  // not check, so the file means different things to different readers. Tensor data is
  // not checked: it is read lazily, and the same bytes are the same numbers to everyone.
  std::string_view checked_bytes(const ZipEntry& entry) const;
  // Where the entry's bytes start. Read from its local header on first use and checked
  // then (signature, name, extent): a file of thousands of records opens without
  // touching each of them.
  std::uint64_t data_offset(const ZipEntry& entry) const;
  const ByteSource& source() const { return *source_; }
  const std::shared_ptr<const ByteSource>& shared_source() const { return source_; }

 private:
  void read_central_directory();
  void check_no_overlap();

  std::shared_ptr<const ByteSource> source_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::map<std::string, std::string> by_folded_name_;  // lower case -> name as written
  std::uint64_t central_directory_offset_ = 0;
  mutable std::vector<std::uint64_t> data_offsets_;  // 0: not located yet (no entry starts at 0)
  std::vector<std::uint64_t> next_starts_;  // per entry: where the next header (or the directory) starts
};

}  // namespace ckpt
