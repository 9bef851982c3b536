#include "runner/expectations.hpp"

#include <fnmatch.h>

#include <sstream>

#include "text/counted.hpp"

namespace ckpt {

namespace {
bool glob_match(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool matches(const ExpectationSetting& e, const UnitResult& unit, const CaseResult& c) {
  if (e.scenario != c.scenario || !glob_match(e.component, c.component)) return false;
  if (unit.plugin.name.empty() ? e.plugin.name != "*" : !e.plugin.matches(unit.plugin.name, unit.plugin.version)) {
    return false;
  }
  if (e.checkpoints.empty()) return true;
  for (const auto& pattern : e.checkpoints) {  // as a shell glob: '*' stays within a directory
    if (::fnmatch(pattern.c_str(), unit.checkpoint.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

std::vector<std::string> keys_of(const CaseResult& c, const char* field) {
  std::vector<std::string> out;
  if (c.data.contains(field) && c.data[field].is_array()) {
    for (const auto& k : c.data[field]) {
      if (k.is_string()) out.push_back(k.get<std::string>());
    }
  }
  return out;
}

std::string list_text(const std::vector<std::string>& keys) {
  return "[" + comma_list(keys) + "]";
}

std::string where(const ExpectationSetting& e) {
  return e.where.file + ":" + std::to_string(e.where.line) + (e.reason.empty() ? "" : " (" + e.reason + ")");
}

// How the declared keys differ from the found ones; "" when they agree.
std::string key_difference(const ExpectationSetting& e, const CaseResult& c) {
  std::string out;
  for (const auto& [declared, field] : {std::pair{&e.missing, "missing"}, std::pair{&e.unexpected, "unexpected"}}) {
    if (!*declared) continue;
    const std::vector<std::string> found = keys_of(c, field);
    if (found != **declared) {
      out += std::string(out.empty() ? "" : "; ") + field + " keys differ: expected " + list_text(**declared) +
             ", found " + list_text(found);
    }
  }
  return out;
}

const ExpectationSetting* find_expectation(const std::vector<ExpectationSetting>& list, const UnitResult& unit,
                                           const CaseResult& c) {
  for (const auto& e : list) {
    if (matches(e, unit, c)) return &e;
  }
  return nullptr;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string toml_list(const std::vector<std::string>& items) {
  return "[" + comma_list(items, toml_string) + "]";
}
}  // namespace

void apply_expectations(const HarnessConfig& config, UnitResult& unit) {
  for (CaseResult& c : unit.cases) {
    const ExpectationSetting* e = find_expectation(config.expectations, unit, c);
    if (!e) continue;
    const bool expected_skip = e->outcome == "skipped";
    const Outcome declared = e->outcome == "error" ? Outcome::kError : expected_skip ? Outcome::kSkipped : Outcome::kFail;
    if (c.outcome == declared) {
      const std::string difference = key_difference(*e, c);
      if (difference.empty()) {
        if (!expected_skip) c.outcome = Outcome::kExpectedFail;
        c.expectation = "expected " + e->outcome + ", as declared at " + where(*e);
      } else {
        c.outcome = Outcome::kFail;
        c.expectation = "fails differently than declared at " + where(*e) + ": " + difference;
        c.message = "fails differently than expected: " + difference;
      }
    } else if (c.outcome == Outcome::kPass) {
      c.stale_expectation = true;
      c.expectation = "expected " + e->outcome + " (declared at " + where(*e) +
                      ") but passes: the expectation can be removed";
      if (config.run.fail_on_stale_expectations) c.outcome = Outcome::kFail;
    } else {
      c.expectation = "expected " + e->outcome + " (declared at " + where(*e) + "), but the outcome is " +
                      to_string(c.outcome);
    }
  }
}

std::string expectations_baseline(const HarnessConfig& config, const std::vector<UnitResult>& units) {
  std::vector<ExpectationSetting> inline_only;
  for (const auto& e : config.expectations) {
    if (e.where.file == config.file) inline_only.push_back(e);
  }
  std::ostringstream out;
  out << "# Expected failures: the baseline `ckpt-harness run --update-expectations` wrote from the\n"
         "# outcomes of a run. Review it like code: every entry is a known incompatibility.\n";
  for (const auto& unit : units) {
    for (const auto& c : unit.cases) {
      const bool failing = c.outcome == Outcome::kFail || c.outcome == Outcome::kExpectedFail;
      if (!failing || find_expectation(inline_only, unit, c)) continue;
      out << "\n[[expectations]]\n";
      out << "plugin = " << toml_string(unit.plugin.name.empty() ? "*" : unit.plugin.name + "@" + unit.plugin.version)
          << "\n";
      out << "checkpoints = " << toml_list({unit.checkpoint}) << "\n";
      out << "scenario = " << toml_string(c.scenario) << "\n";
      if (!c.component.empty()) out << "component = " << toml_string(c.component) << "\n";
      out << "outcome = \"fail\"\n";
      if (c.data.contains("missing")) out << "missing = " << toml_list(keys_of(c, "missing")) << "\n";
      if (c.data.contains("unexpected")) out << "unexpected = " << toml_list(keys_of(c, "unexpected")) << "\n";
      std::string reason = c.message;
      if (reason.rfind("fails differently than expected: ", 0) == 0) reason = "updated baseline";
      out << "reason = " << toml_string(reason) << "\n";
    }
  }
  return out.str();
}

}  // namespace ckpt
