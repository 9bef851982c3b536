#pragma once
// Ordered regex rewrite rules for state-dict keys (strip `module.` left by DataParallel,
// `_orig_mod.` left by torch.compile, rename blocks), applied before comparison.
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/state_dict.hpp"

namespace ckpt {

// Patterns run on RE2, a linear-time engine (no backreferences or lookaround), since keys
// come from the checkpoint and patterns from a config a pull request may change.
struct KeyRule {
  std::string pattern;      // RE2 syntax, bytes as Latin-1 like std::regex<char>: "^module\\."
  std::string replacement;  // ECMAScript format: $1..$99, $& (the match), $` and $' (around it), $$
  // Keys the pattern matches anywhere are removed, as a team's own loader deletes them before
  // load_state_dict (pix2pix's InstanceNorm running stats, HF's keys to ignore).
  bool drop = false;

  static KeyRule dropping(std::string pattern) { return {std::move(pattern), "", true}; }
  std::string text() const;  // "'^module\\.' -> ''", "'running_mean$' -> (dropped)"
};

// Longer patterns are refused: real rules are prefixes and renames, and a bound on the
// pattern bounds the compiled program and the time per byte of key.
constexpr std::size_t kMaxKeyRulePatternBytes = 1024;

class KeyRuleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why `pattern` cannot be a key rule ("" when it can): for config and command-line errors.
std::string key_rule_pattern_problem(const std::string& pattern);

// Rewrites every key (and every `_metadata` prefix) with each rule in order, or drops the
// keys a dropping rule matches; records in `state.applied_rules` which rules changed or
// dropped how many keys. Throws KeyRuleError for an
// invalid pattern, when two keys end up the same, or when a rule would scan keys without
// bound (many matches in a huge key).
void apply_key_rules(StateDict& state, const std::vector<KeyRule>& rules);

// When the checkpoint's keys and the model's differ by a common leading component
// ("module.", "_orig_mod.", "generator."), the rule that would fix it; else "".
std::string suggest_prefix_rule(const std::vector<std::string>& checkpoint_keys,
                                const std::vector<std::string>& model_keys);

}  // namespace ckpt
