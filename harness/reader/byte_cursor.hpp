#pragma once
// Bounds-checked little-endian reading over a span of bytes. Every read that would pass
// the end throws a kTruncated ReadError naming the absolute offset and what was being read.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "reader/read_error.hpp"

namespace ckpt {

class ByteCursor {
 public:
  // `base_offset` is where `bytes` starts in the file, so errors give file offsets;
  // `where_prefix` names the region ("zip entry 'archive/data.pkl'").
  ByteCursor(std::string_view bytes, std::string file, std::string where_prefix = "", std::uint64_t base_offset = 0)
      : bytes_(bytes), file_(std::move(file)), prefix_(std::move(where_prefix)), base_(base_offset) {}

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  void seek(std::size_t pos, const char* what) {
    if (pos > bytes_.size()) fail_truncated(pos - pos_, what);
    pos_ = pos;
  }

  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(take(1, what)[0]); }
  std::uint16_t u16(const char* what) { return read_le<std::uint16_t>(what); }
  std::uint32_t u32(const char* what) { return read_le<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return read_le<std::uint64_t>(what); }
  std::int32_t i32(const char* what) { return static_cast<std::int32_t>(u32(what)); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(u64(what)); }

  // Returns `n` bytes and advances; `n` is checked against what remains before anything
  // is allocated, so a lying length cannot cause a huge allocation.
  std::string_view take(std::uint64_t n, const char* what) {
    if (n > remaining()) fail_truncated(n, what);
    std::string_view out = bytes_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }

  // Reads up to and excluding '\n' (pickle text opcodes).
  std::string_view line(const char* what) {
    std::size_t end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos) fail(ReadErrorKind::kTruncated, std::string(what) + ": expected a newline-terminated line");
    std::string_view out = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  std::string where(std::size_t pos) const {
    std::string at = "byte " + std::to_string(base_ + pos);
    return prefix_.empty() ? at : prefix_ + " " + at;
  }
  std::string where() const { return where(pos_); }

  [[noreturn]] void fail(ReadErrorKind kind, const std::string& what) const { throw ReadError(kind, file_, where(), what); }
  [[noreturn]] void fail_at(std::size_t pos, ReadErrorKind kind, const std::string& what) const {
    throw ReadError(kind, file_, where(pos), what);
  }

  const std::string& file() const { return file_; }

 private:
  template <typename T>
  T read_le(const char* what) {
    std::string_view raw = take(sizeof(T), what);
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      value |= static_cast<T>(static_cast<std::uint8_t>(raw[i])) << (8 * i);
    }
    return value;
  }

  [[noreturn]] void fail_truncated(std::uint64_t wanted, const char* what) const {
    fail(ReadErrorKind::kTruncated, std::string(what) + ": expected " + std::to_string(wanted) + " more bytes, only " +
                                        std::to_string(remaining()) + " remain");
  }

  std::string_view bytes_;
  std::string file_;
  std::string prefix_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

}  // namespace ckpt
