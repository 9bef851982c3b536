#pragma once
// `ckpt-harness merge SHARD.json...`: the results of a run split with --shard K/N over CI
// machines, merged into the reports the run would have written on one machine (units in
// plan order). Exit codes as for run: 0 all as expected, 1 unexpected failures or errors,
// 2 unreadable or overlapping inputs, 4 a report could not be written.
#include <string>
#include <vector>

#include "results/report_formats.hpp"
#include "results/result_model.hpp"

namespace CLI {
class App;
}

namespace ckpt {

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out = "ckpt-harness-report";
  std::vector<std::string> formats = report_formats();
  std::string html_assets = "inline";
};

void add_merge_command(CLI::App& app, MergeOptions& options, int& exit_code);
int run_merge(const MergeOptions& options);

// Throws std::runtime_error naming the file for a unit present in two inputs.
RunResult merge_results(const std::vector<std::pair<std::string, RunResult>>& shards);

}  // namespace ckpt
