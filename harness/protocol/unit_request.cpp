#include "protocol/unit_request.hpp"

#include <filesystem>

namespace ckpt {

using nlohmann::json;

namespace {
json settings_json(const ScenarioSettings& s) {
  return json{{"enabled", s.enabled},
              {"relaxed_threshold", s.relaxed_threshold},
              {"dtype_policy", s.dtype_policy},
              {"rtol", s.rtol},
              {"atol", s.atol},
              {"kernel_atol", s.kernel_atol},
              {"epoch_convention", s.epoch_convention},
              {"first_epoch", s.first_epoch},
              {"steps_per_epoch", s.steps_per_epoch},
              {"optimizer_state", s.optimizer_state},
              {"resume_steps", s.resume_steps},
              {"resume_split", s.resume_split},
              {"resume_bitwise", s.resume_bitwise},
              {"batch", s.batch},
              {"require_finite", s.require_finite},
              {"relaxed_fail_on_initialised_layers", s.relaxed_fail_on_initialised_layers}};
}

ScenarioSettings settings_from_json(const json& j) {
  ScenarioSettings s;
  s.enabled = j.at("enabled").get<std::vector<std::string>>();
  s.relaxed_threshold = j.at("relaxed_threshold").get<double>();
  s.dtype_policy = j.at("dtype_policy").get<std::string>();
  s.rtol = j.at("rtol").get<double>();
  s.atol = j.at("atol").get<double>();
  s.kernel_atol = j.at("kernel_atol").get<double>();
  s.epoch_convention = j.at("epoch_convention").get<std::string>();
  s.first_epoch = j.at("first_epoch").get<std::int64_t>();
  s.steps_per_epoch = j.at("steps_per_epoch").get<std::int64_t>();
  s.optimizer_state = j.at("optimizer_state").get<std::string>();
  s.resume_steps = j.at("resume_steps").get<std::int64_t>();
  s.resume_split = j.at("resume_split").get<std::int64_t>();
  s.resume_bitwise = j.at("resume_bitwise").get<bool>();
  s.batch = j.at("batch").get<std::int64_t>();
  s.require_finite = j.at("require_finite").get<bool>();
  s.relaxed_fail_on_initialised_layers = j.at("relaxed_fail_on_initialised_layers").get<bool>();
  return s;
}
}  // namespace

json to_json(const UnitRequest& r) {
  json rules = json::array();
  for (const auto& k : r.locator.key_rules) rules.push_back({k.pattern, k.replacement, k.drop});
  const json locator{{"layout", r.locator.layout}, {"maps", r.locator.maps}, {"files", r.locator.files},
                     {"key_rules", rules}, {"components", r.locator.components}, {"epoch_from", r.locator.epoch_from}};
  json cases = json::array();
  for (const auto& c : r.cases) cases.push_back({c.scenario, c.component});
  return json{{"id", r.id},           {"plugin_file", r.plugin_file}, {"shown_plugin_file", r.shown_plugin_file},
              {"options", r.options}, {"shown_files", r.shown_files},
              {"checkpoint", r.checkpoint}, {"golden", r.golden},     {"locator", locator},
              {"cases", cases},               {"settings", settings_json(r.settings)},
              {"allowed_globals", r.allowed_globals}, {"max_file_bytes", r.max_file_bytes},
              {"confine_to", r.confine_to}};
}

UnitRequest request_from_json(const json& j) {
  UnitRequest r;
  r.id = j.at("id").get<std::string>();
  r.plugin_file = j.at("plugin_file").get<std::string>();
  r.shown_plugin_file = j.value("shown_plugin_file", r.plugin_file);
  r.options = j.at("options").get<std::map<std::string, std::string>>();
  r.shown_files = j.value("shown_files", std::map<std::string, std::string>{});
  r.checkpoint = j.at("checkpoint").get<std::string>();
  r.golden = j.at("golden").get<std::string>();
  const json& locator = j.at("locator");
  r.locator.layout = locator.at("layout").get<std::string>();
  r.locator.maps = locator.at("maps").get<std::vector<std::pair<std::string, std::string>>>();
  r.locator.files = locator.at("files").get<std::vector<std::pair<std::string, std::string>>>();
  r.locator.components = locator.at("components").get<std::vector<std::string>>();
  r.locator.epoch_from = locator.at("epoch_from").get<std::string>();
  for (const auto& k : locator.at("key_rules")) {
    r.locator.key_rules.push_back({k.at(0).get<std::string>(), k.at(1).get<std::string>(), k.at(2).get<bool>()});
  }
  for (const auto& c : j.at("cases")) r.cases.push_back({c.at(0).get<std::string>(), c.at(1).get<std::string>()});
  r.settings = settings_from_json(j.at("settings"));
  r.allowed_globals = j.at("allowed_globals").get<std::vector<std::string>>();
  r.max_file_bytes = j.at("max_file_bytes").get<std::uint64_t>();
  r.confine_to = j.at("confine_to").get<std::vector<std::string>>();
  return r;
}

std::string with_shown_files(const std::map<std::string, std::string>& shown_files, std::string text) {
  for (const auto& [resolved, shown] : shown_files) {
    if (resolved.empty() || resolved == shown) continue;
    for (std::size_t at = text.find(resolved); at != std::string::npos; at = text.find(resolved, at + shown.size())) {
      text.replace(at, resolved.size(), shown);
    }
  }
  return text;
}

std::string golden_path_for(const std::string& checkpoint, const std::string& libtorch) {
  std::filesystem::path p(checkpoint);
  p.replace_extension(libtorch.empty() ? ".golden.pt" : ".golden.libtorch-" + libtorch + ".pt");
  return p.string();
}

}  // namespace ckpt
