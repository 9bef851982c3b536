#include "cli/locator_options.hpp"

#include <CLI/CLI.hpp>

#include "text/counted.hpp"

namespace ckpt {

namespace {
std::pair<std::string, std::string> split_pair(const std::string& text, const std::string& flag, const char* what) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw CLI::ValidationError(flag, "'" + text + "' is not " + what);
  return {text.substr(0, eq), text.substr(eq + 1)};
}

void check_pattern(const std::string& pattern, const std::string& flag) {
  if (const std::string problem = key_rule_pattern_problem(pattern); !problem.empty()) {
    const std::string shown = pattern.size() > 80 ? pattern.substr(0, 80) + "..." : pattern;
    throw CLI::ValidationError(flag, "pattern '" + shown + "' is not a valid regex: " + problem);
  }
}

}  // namespace

void LocatorOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--layout", spec.layout, "Where components are: " + comma_list(layout_preset_names()) + " (default gan)")
      ->check(CLI::IsMember(layout_preset_names()));
  cmd.add_option_function<std::vector<std::string>>(
         "--map",
         [this](const std::vector<std::string>& values) {
           for (const auto& v : values) spec.maps.push_back(split_pair(v, "--map", "NAME=PATH"));
         },
         "NAME=PATH: component NAME is at PATH (dotted keys, list indices), e.g. generator=model.G");
  cmd.add_option_function<std::vector<std::string>>(
         "--file",
         [this](const std::vector<std::string>& values) {
           for (const auto& v : values) spec.files.push_back(split_pair(v, "--file", "NAME=FILE"));
         },
         "NAME=FILE: component NAME is read from FILE (a state dict file)");
  // Renaming and dropping rules apply in the order given, so both fill one list as parsed.
  cmd.add_option("--key-rule", "PATTERN=REPLACEMENT regex applied to keys in order, e.g. '^module\\.='")
      ->each([this](const std::string& v) {
        auto [pattern, replacement] = split_pair(v, "--key-rule", "PATTERN=REPLACEMENT");
        check_pattern(pattern, "--key-rule");
        spec.key_rules.push_back({pattern, replacement});
      })
      ->trigger_on_parse();
  cmd.add_option("--drop-key", "PATTERN: drop the keys it matches, as the model's own loader does before "
                               "load_state_dict (e.g. '\\.running_(mean|var)$'); in order with --key-rule")
      ->each([this](const std::string& v) {
        check_pattern(v, "--drop-key");
        spec.key_rules.push_back(KeyRule::dropping(v));
      })
      ->trigger_on_parse();
}

void ComponentNameOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--module", modules,
                 "A module of the model (repeatable): what the layout locates, when no plugin or manifest names them");
  cmd.add_option("--optimizer", optimizers, "An optimizer of the model (repeatable), as --module");
}

}  // namespace ckpt
