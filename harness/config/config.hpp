#pragma once
// The harness configuration (TOML). This first version knows which checkpoints a run
// covers and which non-allow-listed globals the team accepts in them; later sections
// (plugins, scenarios, expectations) extend the same file and the same checks.
#include <stdexcept>
#include <string>
#include <vector>

namespace ckpt {

// A configuration error, located like a compiler error: file:line:column: message
// (line 0 when the error has no place in the file).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& message);
};

// A value from the config with where it was written, for errors found later.
struct Located {
  std::string value;
  int line = 0;
  int column = 0;
};

struct HarnessConfig {
  std::string file;                           // the config file as given
  std::string base_dir;                       // paths in the config are relative to it
  std::vector<Located> checkpoint_globs;      // [checkpoints] files (at least one)
  // [security] allowed_globals: found in checkpoints, reviewed and accepted by the team
  // (for example "argparse.Namespace"); still listed, but not a failure.
  std::vector<std::string> allowed_globals;
  // [plugins] paths: plugin files or directories, relative to the config's directory.
  std::vector<Located> plugin_paths;

  bool allows_global(const std::string& name) const;
};

HarnessConfig load_config(const std::string& path);

// A config path made absolute against the config's directory.
std::string config_relative(const HarnessConfig& config, const std::string& path);

// The checkpoint files the config names, in glob order without duplicates. A pattern
// that matches nothing is an error (a typo would otherwise silently test nothing).
std::vector<std::string> expand_checkpoints(const HarnessConfig& config);

}  // namespace ckpt
