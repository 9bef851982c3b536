#pragma once
// `ckpt-harness inspect FILE...`: shows what checkpoints hold without reading tensor bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/locator_options.hpp"

namespace CLI {
class App;
}

namespace ckpt {

struct InspectOptions {
  std::vector<std::string> files;
  std::string config;  // take the checkpoints (and accepted globals) from this config
  std::vector<std::string> allowed_dirs;  // --allow-path: outside the config's repository
  bool json = false;
  int depth = -1;  // -1: unlimited
  bool expand_optimizers = false;
  std::uint64_t max_file_mib = 0;  // 0: no limit
  // Where the files' components are: the files the layout reads beside each (net-files
  // siblings, component files) are inspected too, and each component's place is shown.
  LocatorOptions locator;
};

// Registers the subcommand; the callback sets `exit_code`.
void add_inspect_command(CLI::App& app, InspectOptions& options, int& exit_code);

// Exit code: 0 when every file was read and has no security finding the config does not
// accept, 1 otherwise, 2 for a configuration error. With --config, every file a unit of the
// run reads is inspected: each group's files and what its layout reads beside them.
int run_inspect(const InspectOptions& options);

}  // namespace ckpt
