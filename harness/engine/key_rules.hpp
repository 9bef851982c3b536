#pragma once
// Ordered regex rewrite rules for state-dict keys (strip `module.` left by DataParallel,
// `_orig_mod.` left by torch.compile, rename blocks), applied before comparison.
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/state_dict.hpp"

namespace ckpt {

struct KeyRule {
  std::string pattern;      // ECMAScript regex: "^module\\."
  std::string replacement;  // "$1" references allowed
};

class KeyRuleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Rewrites every key (and every `_metadata` prefix) with each rule in order; records in
// `state.applied_rules` which rules changed how many keys. Throws KeyRuleError for an
// invalid pattern or when two keys end up the same.
void apply_key_rules(StateDict& state, const std::vector<KeyRule>& rules);

// When the checkpoint's keys and the model's differ by a common leading component
// ("module.", "_orig_mod.", "generator."), the rule that would fix it; else "".
std::string suggest_prefix_rule(const std::vector<std::string>& checkpoint_keys,
                                const std::vector<std::string>& model_keys);

}  // namespace ckpt
