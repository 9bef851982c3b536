#include "engine/key_rules.hpp"

#include <map>
#include <regex>
#include <set>

namespace ckpt {

void apply_key_rules(StateDict& state, const std::vector<KeyRule>& rules) {
  for (const KeyRule& rule : rules) {
    std::regex re;
    try {
      re = std::regex(rule.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw KeyRuleError("key rule '" + rule.pattern + "' is not a valid regular expression: " + e.what());
    }
    std::size_t changed = 0;
    for (auto& e : state.entries) {
      std::string rewritten = std::regex_replace(e.key, re, rule.replacement);
      if (rewritten != e.key) {
        e.key = std::move(rewritten);
        ++changed;
      }
    }
    std::map<std::string, std::int64_t> versions;
    for (const auto& [prefix, version] : state.versions) {
      // Metadata prefixes lack the trailing dot of keys: rewrite them as keys would be.
      std::string as_key = std::regex_replace(prefix + ".", re, rule.replacement);
      if (!as_key.empty() && as_key.back() == '.') as_key.pop_back();
      versions[as_key] = version;
    }
    state.versions = std::move(versions);
    state.applied_rules.push_back("'" + rule.pattern + "' -> '" + rule.replacement + "' rewrote " +
                                  std::to_string(changed) + " of " + std::to_string(state.entries.size()) + " keys");
  }
  std::set<std::string> seen;
  for (const auto& e : state.entries) {
    if (!seen.insert(e.key).second) {
      throw KeyRuleError("key rules map two checkpoint keys to '" + e.key + "' (one is '" + e.original_key + "')");
    }
  }
}

namespace {
std::string first_component(const std::string& key) {
  const auto dot = key.find('.');
  return dot == std::string::npos ? "" : key.substr(0, dot + 1);
}

std::string regex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string(".^$|()[]{}*+?\\").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// The leading component every key shares, or "".
std::string common_prefix(const std::vector<std::string>& keys) {
  if (keys.empty()) return "";
  const std::string first = first_component(keys.front());
  if (first.empty()) return "";
  for (const auto& k : keys) {
    if (k.compare(0, first.size(), first) != 0) return "";
  }
  return first;
}
}  // namespace

std::string suggest_prefix_rule(const std::vector<std::string>& checkpoint_keys,
                                const std::vector<std::string>& model_keys) {
  const std::set<std::string> model(model_keys.begin(), model_keys.end());
  const std::string extra = common_prefix(checkpoint_keys);
  if (!extra.empty() && model.count(checkpoint_keys.front()) == 0) {
    std::size_t hits = 0;
    for (const auto& k : checkpoint_keys) hits += model.count(k.substr(extra.size()));
    if (hits * 2 >= checkpoint_keys.size() && hits > 0) {
      return "every checkpoint key starts with '" + extra + "' (" + std::to_string(hits) +
             " match the model without it): add the key rule { pattern = '^" + regex_escape(extra) +
             "', replace = '' }";
    }
  }
  const std::string missing = common_prefix(model_keys);
  if (!missing.empty()) {
    std::size_t hits = 0;
    for (const auto& k : checkpoint_keys) hits += model.count(missing + k);
    if (hits * 2 >= checkpoint_keys.size() && hits > 0) {
      return "every model key starts with '" + missing + "' and the checkpoint's do not: add the key rule { pattern = '^', "
             "replace = '" + missing + "' }";
    }
  }
  if (!extra.empty() && !missing.empty() && extra != missing) {  // a renamed top-level module
    std::size_t hits = 0;
    for (const auto& k : checkpoint_keys) hits += model.count(missing + k.substr(extra.size()));
    if (hits * 2 >= checkpoint_keys.size() && hits >= 2) {  // one key alike is no evidence of a rename
      return "every checkpoint key starts with '" + extra + "' and every model key with '" + missing + "' (" +
             std::to_string(hits) + " match once renamed): add the key rule { pattern = '^" + regex_escape(extra) +
             "', replace = '" + missing + "' }";
    }
  }
  return "";
}

}  // namespace ckpt
