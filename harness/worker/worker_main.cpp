// ckpt-harness-worker: the part of ckpt-harness that links LibTorch and loads plugins.
// `ckpt-harness plugins|diff ...` runs it; `ckpt-harness run` starts it as `serve`.
#include <CLI/CLI.hpp>
#include <torch/version.h>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include <ATen/Context.h>

#include "cli/locator_options.hpp"
#include "cli/version.hpp"
#include "config/config.hpp"
#include "engine/torch_schema.hpp"
#include "engine/optimizer_state.hpp"
#include "reader/read_error.hpp"
#include "results/exit_codes.hpp"
#include "worker/diff_view.hpp"
#include "protocol/unit_request.hpp"
#include "reports/atomic_file.hpp"
#include "worker/plugin_lookup.hpp"
#include "worker/plugin_schema.hpp"
#include "worker/record_golden.hpp"
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

// The config a command names, loaded once; none without --config.
std::optional<HarnessConfig> optional_config(const std::string& config_file, const std::vector<std::string>& allowed_dirs) {
  if (config_file.empty()) return std::nullopt;
  return load_config(config_file, allowed_dirs);
}

// Plugin directories and files from --plugin-dir and the config's [plugins] paths.
std::vector<std::string> configured_plugin_paths(const std::vector<std::string>& dirs,
                                                 const std::optional<HarnessConfig>& config) {
  std::vector<std::string> out = dirs;
  if (config) {
    for (const auto& p : config->plugin_paths) out.push_back(config_relative(*config, p.value));
  }
  return out;
}

// The plugin a command names (--plugin, found through --plugin-dir and the config's paths)
// with the config's options for it, then --option.
ConfiguredPlugin configured_plugin_of(const std::string& name_or_path, const std::vector<std::string>& plugin_dirs,
                                      const std::string& config_file, const std::vector<std::string>& allowed_dirs,
                                      const std::vector<std::string>& option_pairs) {
  const std::optional<HarnessConfig> config = optional_config(config_file, allowed_dirs);
  return configured_plugin(name_or_path, plugin_search_dirs(configured_plugin_paths(plugin_dirs, config)),
                           config ? &*config : nullptr, parse_options(option_pairs));
}

// Which checkpoint, plugin and layout: the arguments `diff` and `record-golden` share.
struct CheckpointArgs {
  std::string config;
  std::string checkpoint, plugin;
  LocatorOptions locator;
  std::vector<std::string> options, plugin_dirs, allowed_dirs;

  void add_to(CLI::App& cmd) {
    cmd.add_option("checkpoint", checkpoint, "The checkpoint file")->required();
    cmd.add_option("--plugin", plugin, "Plugin file, or NAME[@VERSION] in the plugin directories")->required();
    cmd.add_option("--option", options, "KEY=VALUE for the plugin's model (repeatable), e.g. ngf=32");
    locator.add_to(cmd);
    cmd.add_option("--plugin-dir", plugin_dirs, "More directories to find plugins by name");
    cmd.add_option("--config", config,
                   "Also find plugins in the config's [plugins] paths, build them with its [plugins.NAME] options, and "
                   "take NAME[@VERSION] of its [[models]] entries");
    cmd.add_option("--allow-path", allowed_dirs, kAllowPathHelp);
  }

  ConfiguredPlugin configured() const {
    return configured_plugin_of(plugin, plugin_dirs, config, allowed_dirs, options);
  }

  CheckpointLayout layout_for(const LoadedModel& model) const {
    std::vector<std::string> modules, optimizers;
    for (const auto& m : model.model().modules) modules.push_back(m.name);
    for (const auto& o : model.model().optimizers) optimizers.push_back(o.name);
    return locate_components(locator.spec, modules, optimizers, checkpoint);
  }
};

struct DiffArgs : CheckpointArgs {
  bool json = false;
};

int run_diff(const DiffArgs& a) {
  const ConfiguredPlugin configured = a.configured();
  const auto& plugin = configured.plugin;
  LoadedModel model = plugin->build(configured.options);
  const CheckpointLayout layout = a.layout_for(model);
  CheckpointSet files(a.checkpoint);
  files.get("");  // an unreadable main file is an error of the whole command
  CompatibilityReport report = check_compatibility(files, *plugin, model, layout);
  report.plugin.name = configured.name;  // a [[models]] entry is named as itself, not as its generic plugin
  report.plugin.version = configured.version;
  if (a.json) {
    std::cout << diff_json(report, model).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    write_diff_text(std::cout, report, model);
  }
  return report.strictly_compatible() ? kExitOk : kExitUnexpected;
}

struct RecordGoldenArgs : CheckpointArgs {
  std::string out;           // "": NAME.golden.pt beside the checkpoint
  bool for_this_libtorch = false;  // NAME.golden.libtorch-X.Y.pt instead
  std::int64_t batch = 4;
};

int run_record_golden(const RecordGoldenArgs& a) {
  const ConfiguredPlugin configured = a.configured();
  const auto& plugin = configured.plugin;
  LoadedModel model = plugin->build(configured.options);
  const CheckpointLayout layout = a.layout_for(model);
  CheckpointSet files(a.checkpoint);
  files.get("");
  const std::string this_libtorch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
  const std::string out =
      !a.out.empty() ? a.out : golden_path_for(a.checkpoint, a.for_this_libtorch ? this_libtorch : "");
  try {
    const GoldenRecording r = record_golden(files, *plugin, model, layout, a.batch, out);
    std::cout << "recorded " << r.modules.size() << " module(s) of " << configured.name << " " << configured.version
              << " on " << a.checkpoint << ":";
    for (const auto& m : r.modules) std::cout << " " << m;
    std::cout << "\n";
    for (const auto& s : r.skipped) std::cout << "  not recorded: " << s << "\n";
    std::cout << "wrote " << r.file << " (the golden-output scenario compares later model versions with it)\n";
    return kExitOk;
  } catch (const GoldenRecordError& e) {
    std::cerr << "error [record-golden]: " << a.checkpoint << ": " << e.what() << "\n";
    return kExitUnexpected;
  }
}

struct SchemaArgs {
  std::string plugin, config, out;
  std::vector<std::string> options, plugin_dirs, allowed_dirs;
};

// The plugin's model built with its [plugins.NAME] options from --config, then --option.
int run_schema(const SchemaArgs& a) {
  const ConfiguredPlugin configured = configured_plugin_of(a.plugin, a.plugin_dirs, a.config, a.allowed_dirs, a.options);
  const auto& plugin = configured.plugin;
  const LoadedModel model = plugin->build(configured.options);
  try {
    PluginInfo info = plugin->info();
    info.name = configured.name;  // a [[models]] entry's manifest is of the entry's model
    info.version = configured.version;
    write_output(a.out, to_json(schema_of_model(info, model)).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } catch (const std::invalid_argument& e) {  // a tensor type no checkpoint can hold
    std::cerr << "error [schema]: " << plugin->info().path << ": " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

// What a built model holds, for `plugins`.
void print_model(const LoadedModel& model) {
  if (model.model().modules.empty() && model.model().optimizers.empty()) {
    std::cout << "  no model without options: a generic plugin, given them by [[models]] entries\n";
  }
  for (const auto& m : model.model().modules) {
    const ModuleSchema schema = schema_of(m.name, *m.module);
    std::size_t params = 0;
    for (const auto& t : schema.tensors) params += t.is_buffer ? 0 : element_count(t.shape);
    std::cout << "  module " << m.name << ": " << schema.tensors.size() << " tensors, " << params << " parameters"
              << (m.forward ? "" : ", no forward") << "\n";
  }
  for (const auto& o : model.model().optimizers) {
    std::cout << "  optimizer " << o.name << ": " << optimizer_class(*o.optimizer) << " over " << o.parameters.size()
              << " parameters\n";
  }
  for (const auto& s : model.model().schedulers) std::cout << "  scheduler " << s.name << " steps " << s.optimizer << "\n";
}

// Each plugin is built with its [plugins.NAME] options from the config, then --option
// (which applies to every plugin listed); then the config's [[models]] entries.
// `paths` (files or directories) list only what they name; without them, the plugin
// directories (--plugin-dir first, then the config's, then the default ones).
int run_plugins(const std::vector<std::string>& paths, const std::vector<std::string>& plugin_dirs,
                const std::vector<std::string>& options, const std::string& config,
                const std::vector<std::string>& allowed_dirs) {
  const std::optional<HarnessConfig> loaded = optional_config(config, allowed_dirs);
  std::vector<std::string> sources = paths.empty() ? plugin_search_dirs(configured_plugin_paths(plugin_dirs, loaded)) : paths;
  const Options overrides = parse_options(options);
  if (sources.empty()) {
    std::cerr << "no plugin directory found: give plugin files or directories\n";
    return kExitUsage;
  }
  int status = 0;
  for (const auto& source : sources) {
    // Without throwing on a link loop among them: that plugin fails to load, the others are listed.
    const std::vector<std::string> files = plugin_files_in(source);
    for (const auto& file : files) {
      try {
        auto plugin = Plugin::load(file);
        const PluginInfo& info = plugin->info();
        std::cout << info.name << " " << info.version << "  (ABI v" << info.abi_version << ")  " << info.path << "\n"
                  << "  " << info.description << "\n";
        print_model(plugin->build(configured_options(loaded ? &*loaded : nullptr, info.name, overrides)));
      } catch (const PluginError& e) {
        std::cerr << "error [plugin]: " << e.what() << "\n";
        status = 1;
      }
    }
  }
  for (const ModelEntry& entry : loaded ? loaded->models : std::vector<ModelEntry>{}) {
    try {
      const ConfiguredPlugin c = configured_plugin(entry.name + "@" + entry.version, sources, &*loaded, overrides);
      std::cout << c.label() << "  ([[models]] entry, plugin " << entry.plugin << ")  " << config << ":" << entry.where.line
                << "\n";
      print_model(c.plugin->build(c.options));
    } catch (const PluginError& e) {
      std::cerr << "error [plugin]: [[models]] " << entry.name << "@" << entry.version << ": " << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}
}  // namespace

int main(int argc, char** argv) {
  // CKPT_HARNESS_ONEDNN=0: LibTorch's own CPU kernels instead of oneDNN's. Debian 13's
  // LibTorch 2.6 (oneDNN 3.7) gives NaN now and then in the GAN training steps on AMD EPYC
  // machines with AVX-512 (the same steps in Python's PyTorch 2.6 too); its own kernels do not.
  if (const char* onednn = std::getenv("CKPT_HARNESS_ONEDNN"); onednn && std::string(onednn) == "0") {
    at::globalContext().setUserEnabledMkldnn(false);
  }
  CLI::App app{"ckpt-harness worker: loads architecture plugins (LibTorch) for `ckpt-harness plugins`, `diff` and `record-golden`"};
  app.set_version_flag("--version", std::string("ckpt-harness ") + kHarnessVersion);
  app.require_subcommand(1);
  int status = 0;

  std::vector<std::string> plugin_paths, plugin_dirs, plugin_options, plugins_allowed_dirs;
  std::string plugins_config;
  CLI::App* plugins = app.add_subcommand("plugins", "List plugins: name, version, ABI, modules with parameter counts, optimizers");
  plugins->add_option("paths", plugin_paths, "Plugin files or directories (default: the plugin directories)");
  plugins->add_option("--plugin-dir", plugin_dirs, "More directories to find plugins in, before the default ones");
  plugins->add_option("--option", plugin_options, "KEY=VALUE passed to every plugin listed when building its model");
  plugins->add_option("--config", plugins_config, "Also look in the config's [plugins] paths, and build each plugin "
                                                  "with its [plugins.NAME] options");
  plugins->add_option("--allow-path", plugins_allowed_dirs, kAllowPathHelp);
  plugins->callback([&] { status = run_plugins(plugin_paths, plugin_dirs, plugin_options, plugins_config, plugins_allowed_dirs); });

  DiffArgs d;
  CLI::App* diff = app.add_subcommand(
      "diff", "How one checkpoint fits a plugin's current model: missing, unexpected, re-shaped and re-typed keys, "
              "optimizer state. Exit 0 when strictly compatible, 1 when not, 2 on usage errors.");
  d.add_to(*diff);
  diff->add_flag("--json", d.json, "Write JSON (schema ckpt-harness.diff v1)");
  diff->callback([&] { status = run_diff(d); });

  RecordGoldenArgs g;
  CLI::App* golden = app.add_subcommand(
      "record-golden", "Load a checkpoint into the plugin's current model and record every module's output on the "
                       "plugin's fixed sample input, in eval mode, as NAME.golden.pt beside it: later model versions "
                       "must reproduce them (golden-output scenario). Exit 0 written, 1 the checkpoint does not load "
                       "strictly, 2 usage errors.");
  g.add_to(*golden);
  golden->add_option("--out", g.out, "Where to write (default: NAME.golden.pt beside the checkpoint)");
  golden->add_flag("--for-this-libtorch", g.for_this_libtorch,
                   "Write NAME.golden.libtorch-X.Y.pt for this harness's LibTorch, beside outputs recorded by another "
                   "version (kernels differ between versions); a harness on this LibTorch reads it first")
      ->excludes("--out");
  golden->add_option("--batch", g.batch, "Samples per module (default 4)")->check(CLI::Range(1, 4096));
  golden->callback([&] { status = run_record_golden(g); });

  SchemaArgs sa;
  CLI::App* schema = app.add_subcommand(
      "schema", "Write the checkpoint schema of a plugin's model as a manifest (JSON): every module's state-dict keys "
                "with shape, dtype and kind, every optimizer's class, groups, parameter order and hyper-parameters. "
                "Compare two with `ckpt-harness schema-diff`. Exit 0 written, 2 usage or plugin errors.");
  schema->add_option("--plugin", sa.plugin, "Plugin file, or NAME[@VERSION] in the plugin directories")->required();
  schema->add_option("--option", sa.options, "KEY=VALUE for the plugin's model (repeatable), e.g. ngf=32");
  schema->add_option("--plugin-dir", sa.plugin_dirs, "More directories to find plugins by name");
  schema->add_option("--config", sa.config, "Also find plugins in the config's [plugins] paths, and use its "
                                            "[plugins.NAME] options");
  schema->add_option("--allow-path", sa.allowed_dirs, kAllowPathHelp);
  schema->add_option("--out,-o", sa.out, "Write the manifest here (default: standard output)");
  schema->callback([&] { status = run_schema(sa); });

  CLI::App* serve_command = app.add_subcommand(
      "serve", "Serve units for `ckpt-harness run` (requests on fd 3, replies on --reply-fd); not for direct use");
  int reply_fd = -1;
  serve_command->add_option("--reply-fd", reply_fd, "The descriptor the supervisor reads replies from")->required();
  serve_command->callback([&] { status = serve(reply_fd); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const PluginError& e) {
    std::cerr << "error [plugin]: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ConfigError& e) {
    std::cerr << "error [config]: " << e.what() << "\n";
    return kExitUsage;
  } catch (const LayoutError& e) {
    std::cerr << "error [layout]: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ReadError& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
    return kExitUnexpected;
  } catch (const ReportWriteError& e) {  // an output file (schema --out) could not be written
    std::cerr << "error [output]: " << e.what() << "\n";
    return kExitUsage;
  }
  return status;
}
