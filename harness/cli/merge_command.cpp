#include "cli/merge_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include "reports/atomic_file.hpp"
#include "reports/report_files.hpp"
#include "text/counted.hpp"
#include "results/exit_codes.hpp"

namespace ckpt {

RunResult merge_results(const std::vector<std::pair<std::string, RunResult>>& shards) {
  RunResult merged;
  std::map<std::string, std::string> seen;  // unit id -> input file
  std::vector<std::string> shard_names;
  for (const auto& [file, run] : shards) {
    if (merged.units.empty() && merged.environment.harness_version.empty()) merged.environment = run.environment;
    merged.environment.started_at = std::min(merged.environment.started_at, run.environment.started_at);
    merged.seconds = std::max(merged.seconds, run.seconds);  // shards run side by side
    merged.interrupted = merged.interrupted || run.interrupted;
    if (!run.environment.shard.empty()) shard_names.push_back(run.environment.shard);
    for (const auto& note : run.notes) {
      if (std::find(merged.notes.begin(), merged.notes.end(), note) == merged.notes.end()) merged.notes.push_back(note);
    }
    for (const auto& unit : run.units) {
      auto [it, fresh] = seen.emplace(unit.id, file);
      if (!fresh) throw std::runtime_error("unit '" + unit.id + "' is in both " + it->second + " and " + file + ": the shards overlap");
      merged.units.push_back(unit);
    }
  }
  std::stable_sort(merged.units.begin(), merged.units.end(),
                   [](const UnitResult& a, const UnitResult& b) { return a.order < b.order; });
  merged.environment.shard.clear();
  const std::string list = comma_list(shard_names);
  if (!shards.empty()) merged.notes.push_back("merged from " + std::to_string(shards.size()) + " result file(s)" +
                                              (list.empty() ? "" : " (shards " + list + ")"));
  return merged;
}

void add_merge_command(CLI::App& app, MergeOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "merge", "Merge the results.json of sharded runs (--shard K/N) into the reports of one run. Exit 0 all as "
               "expected, 1 unexpected failures, 2 unreadable or overlapping inputs, 4 report not written.");
  cmd->add_option("inputs", o.inputs, "results.json of each shard")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o.out, "Directory for the merged reports (default: ckpt-harness-report)");
  cmd->add_option("--format", o.formats, "Formats to write: json, junit, html (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(report_formats()));
  cmd->add_option("--html-assets", o.html_assets,
                  "inline (default): report.html holds its style and script; beside: report.css and report.js next to it")
      ->check(CLI::IsMember(html_asset_modes()));
  cmd->callback([&] { exit_code = run_merge(o); });
}

int run_merge(const MergeOptions& o) {
  std::vector<std::pair<std::string, RunResult>> shards;
  for (const auto& file : o.inputs) {
    try {
      std::ifstream in(file);
      shards.emplace_back(file, run_from_json(nlohmann::json::parse(in)));
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "error [merge]: " << file << ": not a ckpt-harness results file: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  RunResult merged;
  try {
    merged = merge_results(shards);
  } catch (const std::runtime_error& e) {
    std::cerr << "error [merge]: " << e.what() << "\n";
    return kExitUsage;
  }
  const Totals t = merged.totals();
  std::cout << "merged " << shards.size() << " file(s): " << merged.summary() << "\n";
  try {
    for (const auto& path : write_reports(merged, o.out, o.formats, ReportOptions{o.html_assets})) std::cout << "report: " << path << "\n";
  } catch (const ReportWriteError& e) {
    std::cerr << "error [report]: " << e.what() << "\n";
    return kExitReportFailed;
  }
  if (merged.interrupted) return 130;
  return t.unexpected() ? kExitUnexpected : kExitOk;
}

}  // namespace ckpt
