#include "engine/key_rules.hpp"

#include <re2/re2.h>

#include <map>
#include <memory>
#include <set>

namespace ckpt {

namespace {
// RE2's default program budget is 8 MiB; a bounded pattern needs far less.
constexpr std::int64_t kMaxKeyRuleMemory = 4 << 20;
// Bytes a rule may search through per state dict beyond 8 passes over its keys: each search
// from a position may scan the rest of its key, so many matches in a huge key would cost
// the square of its length.
constexpr std::uint64_t kMaxScannedBytes = 256u << 20;

RE2::Options key_rule_options() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);  // keys are bytes, as std::regex<char> saw them
  o.set_max_mem(kMaxKeyRuleMemory);
  o.set_log_errors(false);
  return o;
}

std::unique_ptr<RE2> compile(const std::string& pattern, std::string& problem) {
  if (pattern.size() > kMaxKeyRulePatternBytes) {
    problem = "the pattern has " + std::to_string(pattern.size()) + " bytes, over the limit of " +
              std::to_string(kMaxKeyRulePatternBytes);
    return nullptr;
  }
  auto re = std::make_unique<RE2>(pattern, key_rule_options());
  if (!re->ok()) {
    problem = re->error();
    return nullptr;
  }
  return re;
}

// std::regex_replace's ECMAScript format, as libstdc++ reads it: $n and $nn (two digits
// when present; a group the pattern lacks is empty), $&, $`, $' and $$; any other $ is kept.
void append_format(std::string& out, const std::string& format, const re2::StringPiece* groups, int group_count,
                   std::string_view prefix, std::string_view suffix) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '$' || i + 1 == format.size()) {
      out += c;
      continue;
    }
    const char next = format[i + 1];
    auto digit = [](char d) { return d >= '0' && d <= '9'; };
    if (next == '$') {
      out += '$';
      ++i;
    } else if (next == '&') {
      out.append(groups[0].data(), groups[0].size());
      ++i;
    } else if (next == '`') {
      out.append(prefix);
      ++i;
    } else if (next == '\'') {
      out.append(suffix);
      ++i;
    } else if (digit(next)) {
      int number = next - '0';
      ++i;
      if (i + 1 < format.size() && digit(format[i + 1])) number = number * 10 + (format[++i] - '0');
      if (number < group_count && groups[number].data()) out.append(groups[number].data(), groups[number].size());
    } else {
      out += '$';
    }
  }
}

// Every match of `re` in `text` replaced by `format`, with std::regex_replace's rules for
// empty matches: one may follow a non-empty match; after one the search moves on a byte.
struct ScanBudget {
  std::uint64_t scanned = 0;
  std::uint64_t limit = 0;
};

std::string replace_all(const RE2& re, const std::string& text, const std::string& format, ScanBudget& budget,
                        const std::string& pattern) {
  const int group_count = 1 + re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(group_count));
  const re2::StringPiece input(text);
  std::string out;
  std::size_t pos = 0, copied = 0;
  bool after_empty = false;
  while (pos <= text.size()) {
    budget.scanned += text.size() - pos + 1;
    if (budget.scanned > budget.limit) {
      throw KeyRuleError("key rule '" + pattern + "' would search more than " + std::to_string(budget.limit >> 20) +
                         " MiB of keys: it matches too often in a key of " + std::to_string(text.size()) + " bytes");
    }
    bool found = false;
    if (after_empty) {  // a non-empty match right here, else move on a byte
      found = re.Match(input, pos, text.size(), RE2::ANCHOR_START, groups.data(), group_count) && !groups[0].empty();
      if (!found) {
        if (pos == text.size()) break;
        ++pos;
        after_empty = false;
        continue;
      }
    } else {
      found = re.Match(input, pos, text.size(), RE2::UNANCHORED, groups.data(), group_count);
      if (!found) break;
    }
    const std::size_t begin = static_cast<std::size_t>(groups[0].data() - text.data());
    const std::size_t end = begin + groups[0].size();
    out.append(text, copied, begin - copied);
    append_format(out, format, groups.data(), group_count, std::string_view(text).substr(copied, begin - copied),
                  std::string_view(text).substr(end));
    copied = end;
    pos = end;
    after_empty = begin == end;
  }
  out.append(text, copied, std::string::npos);
  return out;
}
}  // namespace

std::string KeyRule::text() const {
  return "'" + pattern + "' -> " + (drop ? std::string("(dropped)") : "'" + replacement + "'");
}

std::string key_rule_pattern_problem(const std::string& pattern) {
  std::string problem;
  compile(pattern, problem);
  return problem;
}

void apply_key_rules(StateDict& state, const std::vector<KeyRule>& rules) {
  for (const KeyRule& rule : rules) {
    std::string problem;
    const std::unique_ptr<RE2> re = compile(rule.pattern, problem);  // once per rule, not per key
    if (!re) throw KeyRuleError("key rule '" + rule.pattern + "' is not a valid regular expression: " + problem);
    if (rule.drop) {
      const std::size_t before = state.entries.size();
      std::vector<StateEntry> kept;
      for (auto& e : state.entries) {
        if (!RE2::PartialMatch(e.key, *re)) kept.push_back(std::move(e));
      }
      state.entries = std::move(kept);
      state.applied_rules.push_back("'" + rule.pattern + "' dropped " + std::to_string(before - state.entries.size()) +
                                    " of " + std::to_string(before) + " keys");
      continue;
    }
    ScanBudget budget;  // a replacing rule searches each key again after every match
    for (const auto& e : state.entries) budget.limit += e.key.size() + 1;
    for (const auto& v : state.versions) budget.limit += v.first.size() + 2;
    budget.limit = kMaxScannedBytes + 8 * budget.limit;
    std::size_t changed = 0;
    for (auto& e : state.entries) {
      std::string rewritten = replace_all(*re, e.key, rule.replacement, budget, rule.pattern);
      if (rewritten != e.key) {
        e.key = std::move(rewritten);
        ++changed;
      }
    }
    std::map<std::string, std::int64_t> versions;
    for (const auto& [prefix, version] : state.versions) {
      // Metadata prefixes lack the trailing dot of keys: rewrite them as keys would be.
      std::string as_key = replace_all(*re, prefix + ".", rule.replacement, budget, rule.pattern);
      if (!as_key.empty() && as_key.back() == '.') as_key.pop_back();
      versions[as_key] = version;
    }
    state.versions = std::move(versions);
    state.applied_rules.push_back(rule.text() + " rewrote " +
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

// A replacement that inserts `text` as it is ($ starts a reference).
std::string format_escape(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '$' ? std::string("$$") : std::string(1, c);
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
             "replace = '" + format_escape(missing) + "' }";
    }
  }
  if (!extra.empty() && !missing.empty() && extra != missing) {  // a renamed top-level module
    std::size_t hits = 0;
    for (const auto& k : checkpoint_keys) hits += model.count(missing + k.substr(extra.size()));
    if (hits * 2 >= checkpoint_keys.size() && hits >= 2) {  // one key alike is no evidence of a rename
      return "every checkpoint key starts with '" + extra + "' and every model key with '" + missing + "' (" +
             std::to_string(hits) + " match once renamed): add the key rule { pattern = '^" + regex_escape(extra) +
             "', replace = '" + format_escape(missing) + "' }";
    }
  }
  return "";
}

}  // namespace ckpt
