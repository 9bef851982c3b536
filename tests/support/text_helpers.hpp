#pragma once
// Small text helpers every kind of test uses: a substring check, a whole file's bytes.
#include <fstream>
#include <sstream>
#include <string>

namespace ckpt::test {

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The file's bytes as they are (binary); "" when it cannot be read.
inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ckpt::test
