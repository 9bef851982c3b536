#include "engine/layout.hpp"
#include "text/counted.hpp"

#include <filesystem>

namespace ckpt {

std::string format_path(const std::vector<PathStep>& path) {
  std::string out;
  for (const auto& step : path) out += step.index >= 0 ? "[" + std::to_string(step.index) + "]" : "['" + step.key + "']";
  return out.empty() ? "(the whole file)" : out;
}

std::vector<std::string> layout_preset_names() { return {"gan", "netG", "lightning", "state-dict", "net-files"}; }

namespace {
// "net-files": `<dir>/<prefix>_net_<module><ext>` for every module, from the name of one of them.
void net_files(CheckpointLayout& layout, const std::vector<std::string>& modules, const std::string& main_file) {
  const std::filesystem::path main(main_file);
  const std::string base = main.filename().string();
  const std::string listed = comma_list(modules);
  const std::string pattern = "<prefix>_net_<module>.pth (or .pt), <module> one of " +
                              (listed.empty() ? std::string("the model's modules (it has none)") : listed);
  if (main_file.empty()) throw LayoutError("layout 'net-files' needs the checkpoint's file name (" + pattern + ")");
  // The longest module name that fits wins ("G_A" over "A" in "latest_net_G_A.pth").
  std::string prefix, ext, own;
  for (const auto& m : modules) {
    for (const char* e : {".pth", ".pt"}) {
      const std::string tail = "_net_" + m + e;
      if (base.size() > tail.size() && base.compare(base.size() - tail.size(), tail.size(), tail) == 0 &&
          m.size() > own.size()) {
        prefix = base.substr(0, base.size() - tail.size());
        ext = e;
        own = m;
      }
    }
  }
  if (own.empty()) {
    throw LayoutError("layout 'net-files': the checkpoint '" + main_file + "' is not named " + pattern +
                      ", e.g. 'latest_net_" + (modules.empty() ? std::string("G") : modules.front()) + ".pth'");
  }
  for (const auto& m : modules) {
    // The unit's own file is the main file (read once); the others lie beside it.
    layout.modules[m] = {m == own ? "" : (main.parent_path() / (prefix + "_net_" + m + ext)).string(), {}, ""};
  }
}
}  // namespace

CheckpointLayout layout_preset(const std::string& name, const std::vector<std::string>& modules,
                               const std::vector<std::string>& optimizers, const std::string& main_file) {
  CheckpointLayout layout;
  layout.name = name;
  if (name == "gan") {
    for (const auto& m : modules) layout.modules[m] = {"", {{m}}, ""};
    for (const auto& o : optimizers) layout.optimizers[o] = {"", {{o}}, ""};
    layout.epoch = {{"epoch"}};
  } else if (name == "netG") {
    // The DCGAN example's naming: netG / netD, optimizerG / optimizerD.
    auto short_name = [](const std::string& n) { return n.empty() ? n : std::string(1, static_cast<char>(std::toupper(n[0]))); };
    for (const auto& m : modules) layout.modules[m] = {"", {{"net" + short_name(m)}}, ""};
    for (std::size_t i = 0; i < optimizers.size() && i < modules.size(); ++i) {
      layout.optimizers[optimizers[i]] = {"", {{"optimizer" + short_name(modules[i])}}, ""};
    }
    layout.epoch = {{"epoch"}};
  } else if (name == "lightning") {
    for (const auto& m : modules) layout.modules[m] = {"", {{"state_dict"}}, m + "."};
    for (std::size_t i = 0; i < optimizers.size(); ++i) {
      layout.optimizers[optimizers[i]] = {"", {{"optimizer_states"}, {"", static_cast<std::int64_t>(i)}}, ""};
    }
    layout.epoch = {{"epoch"}};
  } else if (name == "state-dict") {
    if (!modules.empty()) layout.modules[modules.front()] = {"", {}, ""};
  } else if (name == "net-files") {
    net_files(layout, modules, main_file);  // no optimizers, no epoch: they are reported absent
  } else {
    throw LayoutError("unknown layout '" + name + "' (known: " + comma_list(layout_preset_names()) + ")");
  }
  return layout;
}

CheckpointSet::CheckpointSet(std::string main_file, ReadOptions options)
    : main_(std::move(main_file)), options_(options) {}

const Checkpoint& CheckpointSet::get(const std::string& file) {
  const std::string& path = file.empty() ? main_ : file;
  if (auto failed = failures_.find(path); failed != failures_.end()) throw failed->second;
  auto& slot = files_[path];
  if (!slot) {
    try {
      slot = std::make_unique<Checkpoint>(read_checkpoint(path, options_));
    } catch (const ReadError& e) {
      files_.erase(path);
      failures_.emplace(path, e);  // every later case gets the same error without reading again
      throw;
    }
  }
  return *slot;
}

namespace {
std::string describe_keys(const Value& v) {
  const auto* m = members_of(v);
  if (!m) return std::string("a ") + to_string(v.kind);
  std::string keys;
  std::size_t shown = 0;
  for (const auto& e : *m) {
    if (e.key->kind != ValueKind::kStr) continue;
    if (shown++ == 8) {
      keys += ", ...";
      break;
    }
    keys += (keys.empty() ? "'" : ", '") + e.key->text + "'";
  }
  return "keys " + (keys.empty() ? std::string("(none)") : keys);
}

// A LibTorch module archive holds submodules as nested objects: flatten them to the dotted
// keys of a state dict ("main.0.weight"), as torch::load would see them.
void flatten_object(const Value& object, const std::string& prefix, StateDict& out) {
  for (const auto& e : *members_of(object)) {
    if (e.key->kind != ValueKind::kStr) continue;
    const std::string key = prefix + e.key->text;
    if (e.value->kind == ValueKind::kObject && members_of(*e.value)) {
      flatten_object(*e.value, key + ".", out);
    } else if (e.value->kind == ValueKind::kTensor) {
      out.entries.push_back({key, key, e.value});
    }
  }
}

}  // namespace

const Value* resolve_path(const Checkpoint& checkpoint, const std::vector<PathStep>& path) {
  const Value* v = &checkpoint.root();
  std::vector<PathStep> walked;
  for (const auto& step : path) {
    if (step.index >= 0) {
      if (v->kind != ValueKind::kList && v->kind != ValueKind::kTuple) {
        throw LayoutError(checkpoint.file() + ": " + format_path(walked) + " is a " + to_string(v->kind) +
                          ", expected a list to take item " + std::to_string(step.index) + " of");
      }
      if (static_cast<std::size_t>(step.index) >= v->items.size()) return nullptr;
      v = v->items[static_cast<std::size_t>(step.index)];
    } else {
      const auto* m = members_of(*v);
      if (!m) {
        throw LayoutError(checkpoint.file() + ": " + format_path(walked) + " is a " + to_string(v->kind) +
                          ", expected a dict holding '" + step.key + "'");
      }
      const Value* next = nullptr;
      for (const auto& e : *m) {
        if (e.key->kind == ValueKind::kStr && e.key->text == step.key) next = e.value;
      }
      if (!next) return nullptr;
      v = next;
    }
    walked.push_back(step);
  }
  return v;
}

StateDict extract_state_dict(CheckpointSet& files, const ComponentSource& source, const std::vector<KeyRule>& rules) {
  const Checkpoint& ckpt = files.get(source.file);
  const Value* v = resolve_path(ckpt, source.path);
  if (!v) {
    std::vector<PathStep> parent(source.path.begin(), source.path.end() - 1);
    const Value* holder = resolve_path(ckpt, parent);
    throw LayoutError(ckpt.file() + ": " + format_path(source.path) + " is not in the checkpoint" +
                      (holder ? " (" + format_path(parent) + " has " + describe_keys(*holder) + ")" : ""));
  }
  StateDict out;
  out.source = ckpt.file() + " " + format_path(source.path);
  if (v->kind == ValueKind::kObject && members_of(*v)) {
    flatten_object(*v, "", out);
  } else if (v->kind == ValueKind::kDict) {
    for (const auto& e : v->entries) {
      if (e.key->kind != ValueKind::kStr) {
        throw LayoutError(out.source + ": holds a " + std::string(to_string(e.key->kind)) +
                          " key, expected a state dict (string keys)");
      }
      out.entries.push_back({e.key->text, e.key->text, e.value});
    }
    if (const Value* metadata = v->metadata()) read_state_dict_versions(*metadata, out);
  } else {
    throw LayoutError(out.source + " is a " + std::string(to_string(v->kind)) + ", expected a state dict");
  }
  apply_key_rules(out, rules);  // rules see the keys as stored; the prefix then selects the module
  if (!source.prefix.empty()) {
    std::vector<StateEntry> kept;
    for (auto& e : out.entries) {
      if (e.key.compare(0, source.prefix.size(), source.prefix) == 0) {
        e.key = e.key.substr(source.prefix.size());
        kept.push_back(e);
      }
    }
    out.entries = std::move(kept);
    std::map<std::string, std::int64_t> versions;
    const std::string bare = source.prefix.substr(0, source.prefix.size() - (source.prefix.back() == '.' ? 1 : 0));
    for (const auto& [prefix, version] : out.versions) {
      if (prefix == bare) versions[""] = version;
      else if (prefix.compare(0, source.prefix.size(), source.prefix) == 0) versions[prefix.substr(source.prefix.size())] = version;
    }
    out.versions = std::move(versions);
    out.source += " keys '" + source.prefix + "*'";
  }
  return out;
}

}  // namespace ckpt
