#pragma once
// SHA-256 of a file, for reports (which exact checkpoint was checked); "" when unreadable.
#include <cstdint>
#include <map>
#include <string>

#include "confine/confined_open.hpp"

namespace ckpt {

// `confine_to`: directories the file must really lie in, checked on the opened file (empty:
// anywhere); a file outside them has no digest.
std::string sha256_of_file(const std::string& path, const AllowedDirs& confine_to = {});

// sha256_of_file, remembered per path while the file's size and modification time stay.
class FileDigests {
 public:
  std::string of(const std::string& path, const AllowedDirs& confine_to = {});

 private:
  struct Entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string sha256;
  };
  std::map<std::string, Entry> known_;
};

}  // namespace ckpt
