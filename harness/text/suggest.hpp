#pragma once
// "Did you mean ...?" for configuration and command-line mistakes.
#include <string>
#include <vector>

namespace ckpt {

// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);
std::string join_words(const std::vector<std::string>& words);  // "'a', 'b', 'c'"

}  // namespace ckpt
