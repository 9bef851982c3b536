#include "results/scenarios.hpp"

namespace ckpt {

const std::vector<ScenarioInfo>& all_scenarios() {
  static const std::vector<ScenarioInfo> kAll = {
      {"format", ScenarioScope::kCheckpoint, false, "the checkpoint parses; globals outside the allow-list fail it"},
      {"strict-load", ScenarioScope::kModule, true, "load_state_dict(strict=True): every problem at once"},
      {"relaxed-load", ScenarioScope::kModule, true, "loads what fits; fails under the loaded-fraction threshold"},
      {"shapes", ScenarioScope::kModule, true, "tensors whose shape differs from the model's"},
      {"dtypes", ScenarioScope::kModule, true, "tensors whose dtype differs, judged by the dtype policy"},
      {"optimizer-state", ScenarioScope::kOptimizer, true, "saved optimizer state: present, class, groups, shapes"},
      {"eval-mode", ScenarioScope::kModule, true, "after an inference load and eval(): no submodule trains"},
      {"train-mode", ScenarioScope::kModule, true, "after a resume load and train(): all train, batch norm updates"},
      {"epoch-resume", ScenarioScope::kCheckpoint, true, "epoch present and sane, consistent with optimizer steps"},
      {"resume-determinism", ScenarioScope::kCheckpoint, true, "k steps straight == k1 steps, save, load, k-k1 steps"},
      {"golden-output", ScenarioScope::kModule, true, "outputs recorded with the checkpoint are reproduced"},
  };
  return kAll;
}

const ScenarioInfo* find_scenario(const std::string& name) {
  for (const auto& s : all_scenarios()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& s : all_scenarios()) names.emplace_back(s.name);
  return names;
}

}  // namespace ckpt
