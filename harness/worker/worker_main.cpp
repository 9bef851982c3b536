// ckpt-harness-worker: the part of ckpt-harness that links LibTorch and loads plugins.
// `ckpt-harness plugins|diff ...` runs it; `ckpt-harness run` starts it as `serve`.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/version.hpp"
#include "config/config.hpp"
#include "engine/torch_schema.hpp"
#include "engine/optimizer_state.hpp"
#include "reader/read_error.hpp"
#include "worker/diff_view.hpp"
#include "worker/plugin_lookup.hpp"
#include "worker/serve.hpp"

namespace {
using namespace ckpt;

Options parse_options(const std::vector<std::string>& pairs) {
  Options options;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) throw CLI::ValidationError("--option", "'" + pair + "' is not KEY=VALUE");
    options[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return options;
}

std::pair<std::string, std::string> split_pair(const std::string& text, const std::string& flag) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw CLI::ValidationError(flag, "'" + text + "' is not NAME=VALUE");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<PathStep> parse_path(const std::string& text) {
  std::vector<PathStep> path;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto dot = text.find('.', start);
    const std::string part = text.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
      path.push_back({"", std::stoll(part)});
    } else {
      path.push_back({part});
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return path;
}

// Plugin directories and files from --plugin-dir and the config's [plugins] paths.
std::vector<std::string> configured_plugin_paths(const std::vector<std::string>& dirs, const std::string& config_file) {
  std::vector<std::string> out = dirs;
  if (!config_file.empty()) {
    const HarnessConfig config = load_config(config_file);
    for (const auto& p : config.plugin_paths) out.push_back(config_relative(config, p.value));
  }
  return out;
}

struct DiffArgs {
  std::string config;
  std::string checkpoint, plugin, layout = "gan";
  std::vector<std::string> options, maps, files, rules, plugin_dirs;
  bool json = false;
};

int run_diff(const DiffArgs& a) {
  auto plugin = find_plugin(a.plugin, plugin_search_dirs(configured_plugin_paths(a.plugin_dirs, a.config)));
  LoadedModel model = plugin->build(parse_options(a.options));
  std::vector<std::string> modules, optimizers;
  for (const auto& m : model.model().modules) modules.push_back(m.name);
  for (const auto& o : model.model().optimizers) optimizers.push_back(o.name);
  CheckpointLayout layout = layout_preset(a.layout, modules, optimizers);
  for (const auto& m : a.maps) {
    auto [name, path] = split_pair(m, "--map");
    auto& target = layout.optimizers.count(name) ? layout.optimizers[name] : layout.modules[name];
    target = {target.file, parse_path(path), target.prefix};
    if (!layout.optimizers.count(name)) layout.name = "custom";
  }
  for (const auto& f : a.files) {
    auto [name, file] = split_pair(f, "--file");
    auto& target = layout.optimizers.count(name) ? layout.optimizers[name] : layout.modules[name];
    target.file = file;
    if (layout.modules.count(name)) target.path.clear();  // a module's own file is its state dict
    layout.name = "custom";
  }
  for (const auto& r : a.rules) {
    auto [pattern, replacement] = split_pair(r, "--key-rule");
    layout.key_rules.push_back({pattern, replacement});
  }
  CheckpointSet files(a.checkpoint);
  files.get("");  // an unreadable main file is an error of the whole command
  const CompatibilityReport report = check_compatibility(files, *plugin, model, layout);
  if (a.json) {
    std::cout << diff_json(report, model).dump(2) << "\n";
  } else {
    write_diff_text(std::cout, report, model);
  }
  return report.strictly_compatible() ? 0 : 1;
}

int run_plugins(const std::vector<std::string>& paths, const std::vector<std::string>& options, const std::string& config) {
  std::vector<std::string> sources = paths.empty() ? plugin_search_dirs(configured_plugin_paths({}, config)) : paths;
  if (sources.empty()) {
    std::cerr << "no plugin directory found: give plugin files or directories\n";
    return 2;
  }
  int status = 0;
  for (const auto& source : sources) {
    std::vector<std::string> files;
    if (std::filesystem::is_directory(source)) {
      for (const auto& e : std::filesystem::directory_iterator(source)) {
        if (e.is_regular_file() && e.path().extension() == ".so") files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(source);
    }
    for (const auto& file : files) {
      try {
        auto plugin = Plugin::load(file);
        const PluginInfo& info = plugin->info();
        std::cout << info.name << " " << info.version << "  (ABI v" << info.abi_version << ")  " << info.path << "\n"
                  << "  " << info.description << "\n";
        LoadedModel model = plugin->build(parse_options(options));
        for (const auto& m : model.model().modules) {
          const ModuleSchema schema = schema_of(m.name, *m.module);
          std::size_t params = 0;
          for (const auto& t : schema.tensors) params += t.is_buffer ? 0 : element_count(t.shape);
          std::cout << "  module " << m.name << ": " << schema.tensors.size() << " tensors, " << params
                    << " parameters" << (m.forward ? "" : ", no forward") << "\n";
        }
        for (const auto& o : model.model().optimizers) {
          std::cout << "  optimizer " << o.name << ": " << optimizer_class(*o.optimizer) << " over "
                    << o.parameters.size() << " parameters\n";
        }
        for (const auto& s : model.model().schedulers) {
          std::cout << "  scheduler " << s.name << " steps " << s.optimizer << "\n";
        }
      } catch (const PluginError& e) {
        std::cerr << "error [plugin]: " << e.what() << "\n";
        status = 1;
      }
    }
  }
  return status;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckpt-harness worker: loads architecture plugins (LibTorch) for `ckpt-harness plugins` and `diff`"};
  app.set_version_flag("--version", std::string("ckpt-harness ") + kHarnessVersion);
  app.require_subcommand(1);
  int status = 0;

  std::vector<std::string> plugin_paths, plugin_options;
  std::string plugins_config;
  CLI::App* plugins = app.add_subcommand("plugins", "List plugins: name, version, ABI, modules with parameter counts, optimizers");
  plugins->add_option("paths", plugin_paths, "Plugin files or directories (default: the plugin directories)");
  plugins->add_option("--option", plugin_options, "KEY=VALUE passed to each plugin when building its model");
  plugins->add_option("--config", plugins_config, "Also look in the config's [plugins] paths");
  plugins->callback([&] { status = run_plugins(plugin_paths, plugin_options, plugins_config); });

  DiffArgs d;
  CLI::App* diff = app.add_subcommand(
      "diff", "How one checkpoint fits a plugin's current model: missing, unexpected, re-shaped and re-typed keys, "
              "optimizer state. Exit 0 when strictly compatible, 1 when not, 2 on usage errors.");
  diff->add_option("checkpoint", d.checkpoint, "The checkpoint file")->required();
  diff->add_option("--plugin", d.plugin, "Plugin file, or name in the plugin directories")->required();
  diff->add_option("--option", d.options, "KEY=VALUE for the plugin's model (repeatable), e.g. ngf=32");
  diff->add_option("--layout", d.layout, "Where components are: gan (default), netG, lightning, state-dict");
  diff->add_option("--map", d.maps, "NAME=PATH: component NAME is at PATH (dotted keys, list indices), e.g. generator=model.G");
  diff->add_option("--file", d.files, "NAME=FILE: component NAME is read from FILE (a state dict file)");
  diff->add_option("--key-rule", d.rules, "PATTERN=REPLACEMENT regex applied to keys in order, e.g. '^module\\.='");
  diff->add_option("--plugin-dir", d.plugin_dirs, "More directories to find plugins by name");
  diff->add_option("--config", d.config, "Also find plugins in the config's [plugins] paths");
  diff->add_flag("--json", d.json, "Write JSON (schema ckpt-harness.diff v1)");
  diff->callback([&] { status = run_diff(d); });

  CLI::App* serve_command = app.add_subcommand(
      "serve", "Serve units for `ckpt-harness run` (requests on fd 3, replies on fd 4); not for direct use");
  serve_command->callback([&] { status = serve(); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const PluginError& e) {
    std::cerr << "error [plugin]: " << e.what() << "\n";
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "error [config]: " << e.what() << "\n";
    return 2;
  } catch (const LayoutError& e) {
    std::cerr << "error [layout]: " << e.what() << "\n";
    return 2;
  } catch (const ReadError& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
    return 1;
  }
  return status;
}
