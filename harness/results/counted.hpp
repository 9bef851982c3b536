#pragma once
// "1 case", "6 cases", "2 size mismatches": counts in messages people read.
#include <cstddef>
#include <string>

namespace ckpt {

inline std::string counted(std::size_t n, const std::string& singular, const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? singular : plural.empty() ? singular + "s" : plural);
}

}  // namespace ckpt
