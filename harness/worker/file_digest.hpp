#pragma once
// SHA-256 of a file, for reports (which exact checkpoint was checked); "" when unreadable.
#include <cstdint>
#include <map>
#include <string>

namespace ckpt {

std::string sha256_of_file(const std::string& path);

// sha256_of_file, remembered per path while the file's size and modification time stay.
class FileDigests {
 public:
  std::string of(const std::string& path);

 private:
  struct Entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string sha256;
  };
  std::map<std::string, Entry> known_;
};

}  // namespace ckpt
