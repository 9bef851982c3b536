#pragma once
// "1 case", "6 cases", "2 size mismatches", "G_A, G_B": counts and lists in messages
// people read.
#include <cstddef>
#include <string>
#include <vector>

namespace ckpt {

inline std::string counted(std::size_t n, const std::string& singular, const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? singular : plural.empty() ? singular + "s" : plural);
}

inline std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace ckpt
