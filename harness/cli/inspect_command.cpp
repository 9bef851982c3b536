#include "cli/inspect_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "cli/inspect_json.hpp"
#include "config/config.hpp"
#include "engine/locator.hpp"
#include "cli/tree_view.hpp"
#include "cli/version.hpp"
#include "reader/dcp_layout.hpp"
#include "results/exit_codes.hpp"

namespace ckpt {

void add_inspect_command(CLI::App& app, InspectOptions& options, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Show what checkpoint files hold: keys, dtypes, shapes and sizes of tensors, scalars, optimizer "
      "states, and security findings. Reads no tensor data and runs no code from the file.");
  cmd->add_option("files", options.files, "Checkpoint files (torch.save zip or legacy, LibTorch archive, "
                                          ".safetensors, *.safetensors.index.json)")
      ;
  cmd->add_option("--allow-path", options.allowed_dirs, kAllowPathHelp);
  cmd->add_option("--config", options.config,
                  "Inspect the checkpoints listed in this config's [checkpoints] files, accepting the globals "
                  "in its [security] allowed_globals");
  cmd->add_flag("--json", options.json, "Write JSON (schema \"ckpt-harness.inspect\" v1) instead of a tree");
  cmd->add_option("--depth", options.depth, "Show at most N levels below the root (default: all)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--expand-optimizers", options.expand_optimizers, "Show optimizer state dicts and recognised training state (LR schedulers, GradScaler, RNG states) in full, not as one line");
  cmd->add_option("--max-file-mib", options.max_file_mib, "Refuse files larger than this many MiB (default: no limit)");
  options.locator.add_to(*cmd);
  cmd->callback([&options, &exit_code] { exit_code = run_inspect(options); });
}

namespace {
// `file` and the files its components are read from beside it, under `locator` (the layout
// finds them; a file it cannot place is inspected alone, and its errors shown there).
std::vector<std::string> files_located(const LocatorSpec& locator, const std::string& file, const ReadOptions& read) {
  // Only net-files and component files read files beside the main one: others need no
  // second reading of the file to find out.
  if (locator.layout != "net-files" && locator.files.empty()) return {file};
  try {
    CheckpointSet set(file, read);
    const ComponentNames names = discover_components(locator, set);
    return files_of(locate_components(locator, names.modules, names.optimizers, file), file);
  } catch (const std::exception&) {  // ReadError, LayoutError: shown when the file itself is read
    return {file};
  }
}

void add_new(std::vector<std::string>& files, std::vector<std::string> more) {
  for (auto& f : more) {
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
  }
}
}  // namespace

int run_inspect(const InspectOptions& given) {
  InspectOptions options = given;
  std::size_t named = options.files.size();  // the command line's files; then the config's
  HarnessConfig config;
  if (!options.config.empty()) {
    try {
      config = load_config(options.config, options.allowed_dirs);
      ReadOptions confined;
      confined.confine_to = config.confinement.roots();
      for (const CheckpointGroup& group : config.groups) {
        for (const std::string& file : expand_group(config, group)) add_new(options.files, files_located(group.locator, file, confined));
      }
    } catch (const ConfigError& e) {
      std::cerr << "error [config]: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  if (options.files.empty()) {
    std::cerr << "error: name checkpoint files, or a config with --config\n";
    return kExitUsage;
  }
  ReadOptions read_options;
  if (options.max_file_mib > 0) read_options.max_file_bytes = options.max_file_mib << 20;
  if (options.locator.given()) {  // the command line's files, each with what its layout reads beside it
    std::vector<std::string> located;
    for (std::size_t i = 0; i < named; ++i) add_new(located, files_located(options.locator.spec, options.files[i], read_options));
    const std::size_t located_named = located.size();
    for (std::size_t i = named; i < options.files.size(); ++i) add_new(located, {options.files[i]});
    named = located_named;
    options.files = std::move(located);
  }
  const std::size_t depth = options.depth < 0 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(options.depth);
  int status = 0;
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < options.files.size(); ++i) {
    const std::string& file = options.files[i];
    // A file the config listed is read only where it really lies in its repository (an
    // index's shards too); one named on the command line wherever it is.
    read_options.confine_to = i < named ? AllowedDirs{} : config.confinement.roots();
    try {
      const Checkpoint ckpt = read_checkpoint(file, read_options);
      for (const auto& f : ckpt.findings()) {
        if (!config.allows_global(f.global)) status = 1;
      }
      // A DCP checkpoint's integrity: what the reading found, and every record checked (its
      // zip directory and pickle read; no tensor data).
      std::vector<IntegrityFinding> integrity = ckpt.integrity_findings();
      if (ckpt.format() == CheckpointFormat::kDcp) {
        for (auto& f : verify_chunk_records(ckpt.root())) integrity.push_back(std::move(f));
      }
      if (!integrity.empty()) status = 1;
      if (options.json) {
        files.push_back(inspect_json(ckpt, depth, config.allowed_globals, integrity));
      } else {
        if (i > 0) std::cout << "\n";
        TreeViewOptions view;
        view.max_depth = depth;
        view.expand_optimizers = options.expand_optimizers;
        view.allowed_globals = config.allowed_globals;
        write_tree_view(std::cout, ckpt, view);
        if (ckpt.format() == CheckpointFormat::kDcp) write_dcp_layout(std::cout, ckpt, integrity);
      }
    } catch (const ReadError& e) {
      status = 1;
      if (options.json) {
        files.push_back(inspect_error_json(file, e));
      } else {
        std::cout.flush();
        std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
      }
    }
  }
  if (options.json) {
    nlohmann::ordered_json doc;
    doc["schema"] = "ckpt-harness.inspect";
    doc["schema_version"] = kInspectSchemaVersion;
    doc["harness_version"] = kHarnessVersion;
    doc["files"] = std::move(files);
    std::cout << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  return status;
}

}  // namespace ckpt
