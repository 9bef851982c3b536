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

// Any range of items: "a, b, c", each item shown by `show`; "" for none. When `most` is
// given and there are more items, the first `most` and then ", ...".
template <typename Items, typename Show>
std::string comma_list(const Items& items, Show show, std::size_t most = static_cast<std::size_t>(-1)) {
  std::string out;
  std::size_t n = 0;
  for (const auto& item : items) {
    if (n == most) return out + (out.empty() ? "..." : ", ...");
    if (n++ > 0) out += ", ";
    out += show(item);
  }
  return out;
}

// Any range of strings (a vector, a set): "a, b, c"; "" for none.
template <typename Strings>
std::string comma_list(const Strings& items) {
  return comma_list(items, [](const std::string& item) -> const std::string& { return item; });
}

}  // namespace ckpt
