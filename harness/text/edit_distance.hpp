#pragma once
// Levenshtein distance between two names: "did you mean" for config keys, and which of a
// model's new keys most likely is an old one renamed.
#include <cstddef>
#include <string>

namespace ckpt {

std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace ckpt
