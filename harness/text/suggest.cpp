#include "text/suggest.hpp"

#include <algorithm>

#include "text/counted.hpp"
#include "text/edit_distance.hpp"

namespace ckpt {

std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string join_words(const std::vector<std::string>& words) {
  return comma_list(words, [](const std::string& w) { return "'" + w + "'"; });
}

}  // namespace ckpt
