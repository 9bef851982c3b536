#include "runner/case_filter.hpp"

#include <fnmatch.h>

#include <stdexcept>

namespace ckpt {

namespace {
std::vector<std::string> split_patterns(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t colon = text.find(':', start);
    const std::string part = text.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

bool any_match(const std::vector<std::string>& patterns, const std::string& id) {
  for (const auto& p : patterns) {
    if (::fnmatch(p.c_str(), id.c_str(), 0) == 0) return true;
  }
  return false;
}
}  // namespace

CaseFilter::CaseFilter(const std::string& text) {
  // Case ids hold dashes ("strict-load"), so the negative part starts only at a '-' that
  // begins the filter or follows a ':'.
  std::size_t dash = text.rfind(":-") == std::string::npos ? std::string::npos : text.find(":-");
  std::size_t skip = 2;
  if (!text.empty() && text[0] == '-') {
    dash = 0;
    skip = 1;
  }
  positive_ = split_patterns(text.substr(0, dash));
  if (dash != std::string::npos) negative_ = split_patterns(text.substr(dash + skip));
}

bool CaseFilter::selects(const std::string& case_id) const {
  if (!positive_.empty() && !any_match(positive_, case_id)) return false;
  return !any_match(negative_, case_id);
}

std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool Shard::selects(const std::string& unit_id) const { return stable_hash(unit_id) % count == index - 1; }

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  std::size_t used_k = 0, used_n = 0;
  long long k = 0, n = 0;
  try {
    if (slash != std::string::npos) {
      k = std::stoll(text.substr(0, slash), &used_k);
      n = std::stoll(text.substr(slash + 1), &used_n);
    }
  } catch (const std::exception&) {
    used_k = 0;
  }
  if (slash == std::string::npos || used_k != slash || used_n != text.size() - slash - 1 || n < 1 || k < 1 || k > n ||
      n > 100000) {
    throw std::invalid_argument("--shard '" + text + "': expected K/N with 1 <= K <= N (for example 2/4)");
  }
  return {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(n)};
}

}  // namespace ckpt
