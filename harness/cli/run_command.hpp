#pragma once
// `ckpt-harness run`: the main job. Every checkpoint against every plugin version it is
// meant for, through every scenario, in worker processes; fails only on what was not
// expected.
//
// Exit codes: 0 all as expected, 1 unexpected failures or errors, 2 usage or configuration
// error, 3 nothing selected (--filter/--shard), 4 a report could not be written,
// 130 interrupted (SIGINT or SIGTERM; finished results are still reported).
#include <string>
#include <vector>

#include "results/exit_codes.hpp"

namespace CLI {
class App;
}

namespace ckpt {

struct RunOptions {
  std::string config = "ckpt-harness.toml";
  int jobs = -1;               // -1: the config's
  std::string shard;           // "K/N"
  std::string filter;          // gtest-style
  bool list = false;
  bool update_expectations = false;
  std::string report_dir;      // "": the config's
  std::string html_assets;     // "": the config's
  double timeout_seconds = 0;  // 0: the config's
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> allowed_dirs;  // --allow-path
  bool verbose = false;
  std::string command_line;
};

void add_run_command(CLI::App& app, RunOptions& options, int& exit_code);
int run_harness(const RunOptions& options);

}  // namespace ckpt
