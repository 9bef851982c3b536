#include "engine/locator.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <re2/re2.h>

#include "engine/saved_optimizer.hpp"
#include "text/counted.hpp"

namespace ckpt {

std::vector<PathStep> parse_dotted_path(const std::string& text) {
  std::vector<PathStep> path;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto dot = text.find('.', start);
    const std::string part = text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!part.empty() && part.size() <= 18 && part.find_first_not_of("0123456789") == std::string::npos) {
      path.push_back({"", std::stoll(part)});
    } else {
      path.push_back({part});
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return path;
}

bool LocatorSpec::holds(const std::string& component) const {
  return components.empty() || std::find(components.begin(), components.end(), component) != components.end();
}

std::string LocatorSpec::components_text() const { return comma_list(components); }

CheckpointLayout locate_components(const LocatorSpec& spec, const std::vector<std::string>& modules,
                                   const std::vector<std::string>& optimizers, const std::string& main_file) {
  CheckpointLayout result = layout_preset(spec.layout, modules, optimizers, main_file);
  auto is_optimizer = [&](const std::string& name) {
    return std::find(optimizers.begin(), optimizers.end(), name) != optimizers.end() || result.optimizers.count(name);
  };
  for (const auto& [name, path] : spec.maps) {
    auto& target = is_optimizer(name) ? result.optimizers[name] : result.modules[name];
    target = {target.file, parse_dotted_path(path), target.prefix};
    result.name = "custom";
  }
  for (const auto& [name, file] : spec.files) {
    const bool optimizer = is_optimizer(name);
    auto& target = optimizer ? result.optimizers[name] : result.modules[name];
    target.file = file;
    if (!optimizer) target.path.clear();  // a module's own file is its state dict
    result.name = "custom";
  }
  result.key_rules = spec.key_rules;
  return result;
}

namespace {
// A state dict: a non-empty dict of string keys whose values are all tensors.
bool is_state_dict(const Value& v) {
  const auto* members = members_of(v);
  if (!members || members->empty()) return false;
  for (const auto& e : *members) {
    if (e.key->kind != ValueKind::kStr || e.value->kind != ValueKind::kTensor) return false;
  }
  return true;
}

bool is_optimizer_state(const Value& v) {
  try {
    read_saved_optimizer(v);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

void add_unique(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

// "latest_net_G.pth" -> the modules of every "latest_net_<module>.pth" beside it (G, D).
std::vector<std::string> net_file_modules(const std::string& main_file) {
  const std::filesystem::path main(main_file);
  const std::string base = main.filename().string();
  const std::size_t net = base.find("_net_");
  const std::string ext = main.extension().string();
  if (net == std::string::npos || (ext != ".pth" && ext != ".pt")) return {};
  const std::string head = base.substr(0, net + 5);
  std::set<std::string> found;
  std::error_code ec;
  const std::filesystem::path dir = main.parent_path().empty() ? "." : main.parent_path();
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > head.size() + ext.size() && name.compare(0, head.size(), head) == 0 &&
        name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      found.insert(name.substr(head.size(), name.size() - head.size() - ext.size()));
    }
  }
  return {found.begin(), found.end()};
}
}  // namespace

ComponentNames discover_components(const LocatorSpec& spec, CheckpointSet& files) {
  ComponentNames names;
  names.layout = spec.layout;
  const Value& root = files.get("").root();
  if (spec.layout == "gan") {
    if (is_state_dict(root)) {
      names.modules.push_back("model");
      names.layout = "state-dict";
    } else if (const auto* members = members_of(root)) {
      for (const auto& e : *members) {
        if (e.key->kind != ValueKind::kStr) continue;
        if (is_state_dict(*e.value)) {
          names.modules.push_back(e.key->text);
        } else if (is_optimizer_state(*e.value)) {
          names.optimizers.push_back(e.key->text);
        }
      }
    }
  } else if (spec.layout == "lightning") {
    const Value* state = resolve_path(files.get(""), {{"state_dict"}});
    if (const auto* members = state ? members_of(*state) : nullptr) {
      for (const auto& e : *members) {
        if (e.key->kind != ValueKind::kStr) continue;
        const auto dot = e.key->text.find('.');
        if (dot != std::string::npos && dot > 0) add_unique(names.modules, e.key->text.substr(0, dot));
      }
    }
    const Value* states = resolve_path(files.get(""), {{"optimizer_states"}});
    for (std::size_t i = 0; states && i < states->items.size(); ++i) names.optimizers.push_back("optimizer_" + std::to_string(i));
  } else if (spec.layout == "state-dict") {
    names.modules.push_back("model");
  } else if (spec.layout == "net-files") {
    names.modules = net_file_modules(files.main_file());
  }
  for (const auto& [name, path] : spec.maps) {
    const Value* found = resolve_path(files.get(""), parse_dotted_path(path));
    if (found && is_optimizer_state(*found)) {
      add_unique(names.optimizers, name);
    } else {
      add_unique(names.modules, name);
    }
  }
  for (const auto& [name, file] : spec.files) {
    if (std::find(names.optimizers.begin(), names.optimizers.end(), name) == names.optimizers.end()) {
      add_unique(names.modules, name);
    }
  }
  return names;
}

std::string epoch_from_problem(const std::string& pattern) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) return re.error();
  if (re.NumberOfCapturingGroups() != 1) {
    return "it has " + std::to_string(re.NumberOfCapturingGroups()) + " groups, expected one: the epoch's digits, e.g. '^(\\d+)_net_'";
  }
  return "";
}

std::optional<std::int64_t> epoch_from_name(const std::string& pattern, const std::string& file) {
  const RE2 re(pattern, RE2::Quiet);
  std::string digits;
  const std::string name = std::filesystem::path(file).filename().string();
  if (!re.ok() || !RE2::PartialMatch(name, re, &digits)) return std::nullopt;
  if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}

std::vector<std::string> files_of(const CheckpointLayout& layout, const std::string& main_file) {
  std::vector<std::string> out{main_file};
  for (const auto* sources : {&layout.modules, &layout.optimizers}) {
    for (const auto& [name, source] : *sources) {
      if (!source.file.empty()) add_unique(out, source.file);
    }
  }
  return out;
}

}  // namespace ckpt
