#pragma once
// The last bytes a worker wrote to stdout and stderr: a plugin that floods its output
// costs a fixed amount of memory, and a crash report shows how it ended.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ckpt {

class LogTail {
 public:
  explicit LogTail(std::size_t capacity = 64 * 1024) : capacity_(capacity) {}
  void append(const char* data, std::size_t size);
  void clear();
  // The kept text, valid UTF-8 not required; prefixed with how much was dropped.
  std::string text() const;
  std::string last_lines(std::size_t lines) const;
  std::uint64_t total() const { return total_; }

 private:
  std::size_t capacity_;
  std::string kept_;
  std::uint64_t total_ = 0;
};

}  // namespace ckpt
