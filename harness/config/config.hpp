#pragma once
// The harness configuration (TOML): how a run goes ([run]), which plugins ([plugins]),
// which checkpoints and what they are meant for ([[checkpoints]]), how scenarios judge
// ([scenarios], overridable per checkpoint group) and the known differences
// ([[expectations]], inline or in a separate baseline file). Every mistake is a
// ConfigError located at file:line:column.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/path_confinement.hpp"
#include "engine/locator.hpp"
#include "results/report_formats.hpp"

namespace ckpt {

// A configuration error, located like a compiler error: file:line:column: message
// (line 0 when the error has no place in the file).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& message);
};

// Where a value was written, for errors found after loading (unknown plugin, no match).
struct SourcePlace {
  std::string file;
  int line = 0;
  int column = 0;
};

// A value from the config with where it was written.
struct Located {
  std::string value;
  int line = 0;
  int column = 0;
};

[[noreturn]] void fail_config(const SourcePlace& where, const std::string& message);

struct RunSettings {
  int jobs = 0;                          // 0: one worker per core
  double timeout_seconds = 300;          // wall clock per unit
  std::uint64_t memory_limit_mib = 8192; // per worker (data segment)
  double cpu_seconds_per_unit = 0;       // CPU time a unit may use; 0: timeout_seconds x cores
  std::uint64_t max_file_mib = 0;        // 0: the reader's default cap
  std::string report_dir = "ckpt-harness-report";
  std::vector<std::string> formats = report_formats();  // results/report_formats.hpp
  std::string html_assets = "inline";    // or "beside": report.css / report.js next to report.html
  std::string expectations_file;         // absolute; "" when none
  bool fail_on_stale_expectations = false;
};

// How scenarios judge; [scenarios] sets them, a [[checkpoints]] group may override.
struct ScenarioSettings {
  std::vector<std::string> enabled;       // scenario names, run order; default all
  double relaxed_threshold = 0.9;         // fraction of the model's elements that must load
  // relaxed-load also fails when a whole layer, or part of a normalisation layer, keeps its
  // initial values (a norm layer at its initial statistics changes every output after it).
  bool relaxed_fail_on_initialised_layers = false;
  std::string dtype_policy = "cast-floating";  // "cast" (as PyTorch), "cast-floating", "exact"
  double rtol = 1e-4;
  double atol = 1e-5;
  // Golden outputs recorded by another PyTorch / LibTorch version: differences up to this are
  // what kernels of different versions give (a DCGAN generator: 2.6e-3 between 1.13 and 2.6),
  // a skip that says so; beyond it, a drift.
  double kernel_atol = 1e-2;
  std::string epoch_convention = "last-completed";  // or "next": the saved epoch is the one to run
  std::int64_t first_epoch = 0;
  std::int64_t steps_per_epoch = 0;       // 0: unknown, step counts are not checked
  std::string optimizer_state = "optional";  // "required": absent state fails
  std::int64_t resume_steps = 4;          // k
  std::int64_t resume_split = 2;          // k1: save and reload after this many steps
  bool resume_bitwise = true;             // false: within rtol/atol
  std::int64_t batch = 4;                 // sample batch for behaviour checks
  bool require_finite = false;            // strict-load also fails on NaN / Inf in loaded tensors
};

// A plugin selector: "dcgan" (every version), "dcgan@2.*" (version glob) or "dcgan*@2.*"
// (the name is a glob too: dcgan and its exported forms dcgan-torchscript, dcgan-manifest).
struct PluginSelector {
  std::string name;
  std::string version_glob = "*";
  SourcePlace where;
  bool matches(const std::string& name, const std::string& version) const;
  std::string text() const;
};
PluginSelector parse_plugin_selector(const std::string& text, const SourcePlace& where);

struct CheckpointGroup {
  std::string name;                      // "dcgan-v1"; default "checkpoints[N]"
  SourcePlace where;
  std::vector<Located> files;            // globs, relative to the config's directory
  std::string label;                     // the model version that wrote them
  std::vector<PluginSelector> plugins;   // empty: only the format scenario runs
  // layout, map, component_files and key_rules: where its checkpoints hold each component,
  // as `diff --layout --map --file --key-rule --drop-key` says it (component files are
  // config-relative here, absolute once read).
  LocatorSpec locator;
  ScenarioSettings scenarios;            // [scenarios] with this group's overrides
};

struct PluginSettings {
  SourcePlace where;
  std::map<std::string, std::string> options;
};

// A model version checked through a generic plugin ([[models]]): its architecture is an
// export the team's Python code wrote (a TorchScript file per module, a schema manifest),
// not C++. name@version is what [[checkpoints]] plugins and expectations select, as for a
// plugin file; the generic plugin (`plugin`) builds it from `options`.
struct ModelEntry {
  SourcePlace where;
  std::string name;
  std::string version;
  std::string plugin;                          // the generic plugin's name: "torchscript", "manifest"
  // The entry's options (nested tables and arrays flattened: "optimizers.g.lr",
  // "inputs.generator" = "16,1,1"), and each of its files as "files.<key>" = an absolute
  // path inside the repository: TorchScript files are code, read only from where the
  // config (reviewed with the repository) says.
  std::map<std::string, std::string> options;
};

struct ExpectationSetting {
  SourcePlace where;
  PluginSelector plugin;                 // name "*" matches units without a plugin too
  std::vector<std::string> checkpoints;  // globs against config-relative paths; empty: all
  std::string scenario;
  std::string component = "*";
  std::string outcome = "fail";          // "fail", "error" or "skipped"
  std::optional<std::vector<std::string>> missing;
  std::optional<std::vector<std::string>> unexpected;
  std::string reason;
};

struct HarnessConfig {
  std::string file;                      // the config file as given
  std::string base_dir;                  // paths in the config are relative to it
  PathConfinement confinement;           // where those paths may lead
  RunSettings run;
  std::vector<Located> plugin_paths;     // [plugins] paths: files or directories
  std::map<std::string, PluginSettings> plugin_settings;  // [plugins.NAME]
  std::vector<ModelEntry> models;        // [[models]]
  std::vector<CheckpointGroup> groups;   // [[checkpoints]] (at least one)
  ScenarioSettings scenarios;            // [scenarios]
  std::vector<ExpectationSetting> expectations;  // [[expectations]] then the baseline file's
  // [security] allowed_globals: found in checkpoints, reviewed and accepted by the team
  // (for example "argparse.Namespace"); still listed, but not a failure.
  std::vector<std::string> allowed_globals;

  bool allows_global(const std::string& name) const;
};

// `allowed_dirs`: directories outside the config's repository that its paths may name
// (--allow-path).
HarnessConfig load_config(const std::string& path, const std::vector<std::string>& allowed_dirs = {});

// A config path made absolute against the config's directory.
std::string config_relative(const HarnessConfig& config, const std::string& path);

// A file as case ids, reports and baselines name it, and as expectation globs match it:
// relative to the config's directory ("fixtures/a.pt", "../ckpts/a.pt" for one elsewhere in
// the repository), so results and baselines are the same from any checkout. A file outside
// the repository (--allow-path, an installed plugin) keeps its absolute path.
std::string shown_path(const HarnessConfig& config, const std::string& file);
// The files a [[models]] entry's options give its plugin (files.*, resolved to open), each
// -> its shown_path: what a plugin's messages are rewritten with.
std::map<std::string, std::string> shown_model_files(const HarnessConfig& config,
                                                     const std::map<std::string, std::string>& options);
// A file beside the config named as the config itself was named on the command line
// ("ci/baseline.toml" for --config ci/harness.toml): for messages and source places.
std::string named_like_config(const HarnessConfig& config, const std::string& file);

// Golden-output files (NAME.golden.pt) sit beside checkpoints; globs never pick them.
bool is_golden_file(const std::string& path);

// The files of one group, in glob order without duplicates, relative to the current
// directory. A pattern that matches nothing is an error (a typo would silently test
// nothing), and so is a match outside the repository.
std::vector<std::string> expand_group(const HarnessConfig& config, const CheckpointGroup& group);
// Every group's files, without duplicates.
std::vector<std::string> expand_checkpoints(const HarnessConfig& config);

}  // namespace ckpt
