#pragma once
// --filter and --shard, as GoogleTest defines them for its tests: a filter is
// "POS[:POS...][:-NEG[:NEG...]]" (or "-NEG...") with * and ? globs over case ids; since
// ids hold dashes, the negative part starts at a leading '-' or at ":-". A shard K/N (1 <= K <=
// N) keeps the units whose id hashes to K-1 modulo N. The hash is of the unit id alone
// (FNV-1a), so adding a checkpoint never moves the others to another shard.
#include <cstdint>
#include <string>
#include <vector>

namespace ckpt {

class CaseFilter {
 public:
  CaseFilter() = default;
  explicit CaseFilter(const std::string& text);  // "" selects everything
  bool selects(const std::string& case_id) const;

 private:
  std::vector<std::string> positive_, negative_;
};

struct Shard {
  std::uint32_t index = 1;  // K, from 1
  std::uint32_t count = 1;  // N
  bool selects(const std::string& unit_id) const;
};

// Throws std::invalid_argument stating the rule: "K/N with 1 <= K <= N".
Shard parse_shard(const std::string& text);
std::uint64_t stable_hash(const std::string& text);

}  // namespace ckpt
