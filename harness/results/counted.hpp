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

// Any range of strings (a vector, a set): "a, b, c"; "" for none.
template <typename Strings>
std::string comma_list(const Strings& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace ckpt
