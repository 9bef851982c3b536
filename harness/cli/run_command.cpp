#include "cli/run_command.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

#include "cli/version.hpp"
#include "cli/worker_path.hpp"
#include "confine/confined_open.hpp"
#include "config/config.hpp"
#include "plugin_host/plugin_paths.hpp"
#include "protocol/unit_request.hpp"
#include "reports/atomic_file.hpp"
#include "reports/console_reporter.hpp"
#include "reports/progressive_junit.hpp"
#include "reports/report_files.hpp"
#include "runner/expectations.hpp"
#include "runner/interrupt.hpp"
#include "runner/plugin_catalogue.hpp"
#include "runner/run_plan.hpp"
#include "runner/supervisor.hpp"
#include "runner/worker_process.hpp"

namespace ckpt {

namespace {
namespace fs = std::filesystem;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

Environment run_environment(const RunOptions& o, const std::string& config_file, int jobs) {
  return {kHarnessVersion, kTorchVersion, host_name(), config_file, utc_now(), o.command_line, jobs, o.shard, o.filter};
}

void print_plan(const RunPlan& plan, std::ostream& out) {
  for (const auto& unit : plan.units) {
    out << unit.result.id << "\n";
    for (const auto& c : unit.request.cases) out << "  " << c.scenario << (c.component.empty() ? "" : "/" + c.component) << "\n";
  }
  out << plan.units.size() << " unit(s), " << plan.cases << " case(s) of " << plan.units_before_selection
      << " unit(s) in the config\n";
}

// A run that ends before its plan (a config error, an interrupt while plugins are
// described) still leaves reports when it is known where they go: the CI system's test view
// shows why (not the last run's results, nor "no test results found").
void report_early_end(const std::string& report_dir, const AllowedDirs& report_roots, const RunOptions& o,
                      const std::string& scenario, const std::string& message, bool interrupted = false) {
  if (report_dir.empty()) return;
  RunResult run;
  run.interrupted = interrupted;
  run.environment = run_environment(o, o.config, 0);
  run.units.push_back(error_unit(UnitKind::kRunEnd, scenario + "/" + o.config, scenario, message));
  try {
    ReportOptions options;
    options.confine_to = report_roots;
    for (const auto& path : write_reports(run, report_dir, report_formats(), options)) std::cout << "report: " << path << "\n";
  } catch (const ReportWriteError& e) {
    std::cerr << "error [report]: " << e.what() << "\n";
  }
}

// Where --report-dir may lead: the command line chose it, so it may lie outside the
// repository; but a committed link it passes through may not lead it out (CI templates
// write to ckpt-report/shard-N inside the checkout). Throws ConfigError; returns the
// directories the reports may really be written in.
AllowedDirs report_dir_option_roots(const RunOptions& o) {
  const PathConfinement confinement(fs::absolute(o.config).parent_path().string(), o.allowed_dirs);
  if (auto why = confinement.command_line_violation(o.report_dir)) throw ConfigError(o.config, 0, 0, "--report-dir: " + *why);
  AllowedDirs roots = confinement.roots();
  const ResolvedPath real = resolve_path(o.report_dir);
  if (!is_within_any(real.path, roots)) roots.push_back(real.path);  // outside the repository, as the command line says
  return roots;
}

SupervisorOptions supervisor_options(const HarnessConfig& config, const RunOptions& o) {
  SupervisorOptions so;
  so.worker_executable = worker_executable(nullptr);
  const int jobs = o.jobs >= 0 ? o.jobs : config.run.jobs;
  so.jobs = jobs > 0 ? jobs : available_cpus();
  so.unit_timeout_seconds = o.timeout_seconds > 0 ? o.timeout_seconds : config.run.timeout_seconds;
  so.limits.memory_bytes = config.run.memory_limit_mib << 20;
  so.cpu_seconds_per_unit = config.run.cpu_seconds_per_unit;
  return so;
}

// The planned units that have no result among `ran`, every case an error saying why.
std::vector<UnitResult> not_run_units(const std::vector<UnitPlan>& planned, const std::vector<UnitResult>& ran,
                                      const std::string& why) {
  std::unordered_set<std::string> ran_ids;  // a plan may hold thousands of units
  for (const auto& r : ran) ran_ids.insert(r.id);
  std::vector<UnitResult> units;
  for (const auto& unit : planned) {
    if (ran_ids.count(unit.result.id)) continue;
    std::vector<std::pair<std::string, std::string>> cases;
    for (const auto& c : unit.request.cases) cases.emplace_back(c.scenario, c.component);
    units.push_back(not_run_unit(unit.result, cases, why));
  }
  return units;
}

// junit.xml from the start, every planned unit "not run": a run killed from outside still
// leaves a valid report, replaced as units finish.
std::optional<ProgressiveJunit> progressive_junit(const HarnessConfig& config, const std::string& report_dir,
                                                  const AllowedDirs& report_roots, const RunResult& run,
                                                  const std::vector<UnitPlan>& planned) {
  std::optional<ProgressiveJunit> junit;
  const auto& formats = config.run.formats;
  if (std::find(formats.begin(), formats.end(), "junit") == formats.end()) return junit;
  RunResult start = run;
  for (auto& u : not_run_units(planned, run.units, kNotRunYet)) start.units.push_back(std::move(u));
  junit.emplace((fs::path(report_dir) / report_file_name("junit")).string(), std::move(start), report_roots);
  try {
    junit->write_now();
  } catch (const ReportWriteError&) {
    // Reported when the final reports are written.
  }
  return junit;
}

// Exit status `status`, or kExitReportFailed if it was 0 and a report could not be written.
int write_final_reports(const RunResult& run, const HarnessConfig& config, const RunOptions& o,
                        const std::string& report_dir, const AllowedDirs& report_roots, int status) {
  try {
    const ReportOptions report_options{o.html_assets.empty() ? config.run.html_assets : o.html_assets, report_roots};
    for (const auto& path : write_reports(run, report_dir, config.run.formats, report_options)) std::cout << "report: " << path << "\n";
  } catch (const ReportWriteError& e) {
    std::cerr << "error [report]: " << e.what() << "\n";
    if (status == 0) status = kExitReportFailed;
  }
  return status;
}

// --update-expectations: today's failures as the baseline, for review.
int write_expectations_baseline(const RunResult& run, const HarnessConfig& config, int status) {
  std::string path = config.run.expectations_file;
  if (path.empty()) path = config_relative(config, fs::path(config.file).stem().string() + ".expectations.toml");
  try {
    write_file_atomically(path, [&](std::ostream& out) { out << expectations_baseline(config, run.units); },
                          config.confinement.roots());
    std::cout << "expectations baseline written: " << named_like_config(config, path) << " (review it with git diff)\n";
    if (config.run.expectations_file.empty()) {
      std::cout << "note: add [run] expectations_file = \"" << fs::path(path).filename().string() << "\" to "
                << config.file << " so runs use it\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error [report]: " << e.what() << "\n";
    if (status == 0) status = kExitReportFailed;
  }
  return status;
}

int exit_code_of(const RunResult& run, bool fail_on_stale) {
  if (run.interrupted) return kExitInterrupted;
  const Totals t = run.totals();
  return t.unexpected() || (fail_on_stale && t.stale > 0) ? kExitUnexpected : kExitOk;
}
}  // namespace

void add_run_command(CLI::App& app, RunOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "run", "The main job: every checkpoint x plugin version x scenario of the config, in isolated workers. Exit 0 "
             "all as expected, 1 unexpected failures, 2 config/usage error, 3 nothing selected, 4 report not written, "
             "130 interrupted.");
  cmd->add_option("--config", o.config, "The config (default: ckpt-harness.toml)");
  cmd->add_option("--jobs,-j", o.jobs, "Workers in parallel (default: [run] jobs, 0 = one per core)")->check(CLI::Range(0, 256));
  cmd->add_option("--shard", o.shard, "K/N: run the K-th of N shards (units split by a stable hash of their id)");
  cmd->add_option("--filter", o.filter,
                  "Cases to run, gtest-style: 'POS[:POS]-NEG[:NEG]' globs over ids like "
                  "'dcgan@2.0.0/fixtures/dcgan/current.pt/strict-load/generator'");
  cmd->add_flag("--list", o.list, "Show the units and cases that would run, and run nothing");
  cmd->add_flag("--update-expectations", o.update_expectations,
                "Write today's failures as the expectations baseline ([run] expectations_file) for review");
  cmd->add_option("--report-dir", o.report_dir, "Where reports go (default: [run] report_dir)");
  cmd->add_option("--html-assets", o.html_assets,
                  "inline: report.html holds its style and script; beside: report.css and report.js next to it, for "
                  "servers that block inline ones (default: [run] html_assets)")
      ->check(CLI::IsMember(html_asset_modes()));
  cmd->add_option("--timeout", o.timeout_seconds, "Seconds per unit (default: [run] timeout_seconds)")->check(CLI::PositiveNumber);
  cmd->add_option("--plugin-dir", o.plugin_dirs, "More directories with plugins");
  cmd->add_option("--allow-path", o.allowed_dirs, kAllowPathHelp);
  cmd->add_flag("--verbose,-v", o.verbose, "Print every case, not only failures");
  cmd->callback([&] { exit_code = run_harness(o); });
}

int run_harness(const RunOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  install_interrupt_handlers();  // first: a signal at any point ends the run the same way
  std::string report_dir;  // "" until known to be safe: a config that does not parse has none
  AllowedDirs report_roots;  // where reports may really be written (checked again at each write)
  try {
    // --report-dir first, so that a config error is reported there (or nowhere, if it is
    // not safe to write to).
    if (!o.report_dir.empty()) report_roots = report_dir_option_roots(o);
    report_dir = o.report_dir;
    const HarnessConfig config = load_config(o.config, o.allowed_dirs);
    if (report_dir.empty()) {
      const std::string configured = config_relative(config, config.run.report_dir);
      // A [run] report_dir written in the config was checked where it is written; the
      // default's place is the config itself.
      if (auto why = config.confinement.violation(configured, config.run.report_dir)) {
        throw ConfigError(config.file, 0, 0, "[run] report_dir (not set, so reports go to the default '" +
                                                 config.run.report_dir + "'): " + *why);
      }
      report_dir = configured;
      report_roots = config.confinement.roots();
    }
    const CaseFilter filter(o.filter);
    Shard shard;
    if (!o.shard.empty()) {
      try {
        shard = parse_shard(o.shard);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    }
    const SupervisorOptions so = supervisor_options(config, o);
    Supervisor supervisor(so);
    PluginCatalogue described = build_plugin_catalogue(
        config, o.plugin_dirs, [&supervisor](std::vector<protocol::DescribeRequest> r) { return supervisor.describe(std::move(r)); },
        interrupted);
    if (interrupted()) {
      const std::string why = "interrupted while the plugins were described: no unit ran";
      std::cerr << why << "\n";
      report_early_end(report_dir, report_roots, o, "run", why, true);
      return kExitInterrupted;
    }
    // A plugin file that would not load has no known name: names the config gives that
    // match nothing may be it, so they are reported with it instead of stopping the run.
    std::vector<std::string> unresolved;
    check_plugin_references(config, described.plugins, described.failures.empty() ? nullptr : &unresolved);
    const RunPlan plan = plan_run(config, described.plugins, filter, shard);
    if (o.list) {
      print_plan(plan, std::cout);
      return plan.units.empty() ? kExitNothingSelected : 0;
    }
    if (plan.units.empty() && described.failures.empty()) {
      std::cerr << "nothing selected: " << plan.units_before_selection << " unit(s) in " << config.file
                << (o.filter.empty() ? "" : ", none with a case matching --filter '" + o.filter + "'")
                << (o.shard.empty() ? "" : ", none in shard " + o.shard) << "\n";
      return kExitNothingSelected;
    }

    RunResult run;
    run.environment = run_environment(o, config.file, so.jobs);
    // Why plugins could not be described, for the units meant for them (read before the
    // failure units move into the run).
    const std::string describe_failure = described.failures.empty() ? "" : described.failures.front().cases.front().message;
    for (auto& f : described.failures) {
      const std::string what = f.plugin.name.empty() ? "plugin " + f.plugin.file : "[[models]] " + f.plugin.label();
      run.notes.push_back(what + " could not be used: " + f.cases.front().message);
      run.units.push_back(std::move(f));
    }
    for (auto& u : unresolved) run.notes.push_back(u + " (a plugin file that could not be loaded may be it)");
    if (!describe_failure.empty()) {
      // Checkpoints meant for a plugin that could not be described: errors, never left out.
      const std::string& why = describe_failure;
      for (const UnplannedUnit& p : unplanned_units(config, described.plugins, shard)) {
        UnitResult u = error_unit(UnitKind::kCheck, p.id, "plugin-load",
                                  "not run: no plugin matching '" + p.selector.text() +
                                      "' could be described; a plugin file that could not be used may be it: " + why);
        u.checkpoint = p.checkpoint;
        u.group = p.group;
        u.label = p.label;
        u.plugin.name = p.selector.name;
        run.units.push_back(std::move(u));
      }
    }

    RunListeners listeners;
    const bool terminal = ::isatty(STDOUT_FILENO) && !std::getenv("CI");
    ConsoleReporter console(std::cout, terminal, o.verbose);
    listeners.add(console);
    std::optional<ProgressiveJunit> junit = progressive_junit(config, report_dir, report_roots, run, plan.units);
    if (junit) listeners.add(*junit);
    listeners.on_run_start(run.environment, plan.units.size(), plan.cases);
    const auto finish = [&config](UnitResult& u) { apply_expectations(config, u); };
    for (auto& u : supervisor.run(plan.units, finish, listeners)) run.units.push_back(std::move(u));
    run.notes.insert(run.notes.end(), supervisor.notes().begin(), supervisor.notes().end());
    run.interrupted = interrupted();
    if (run.interrupted) {
      for (auto& u : not_run_units(plan.units, run.units, kNotRunInterrupted)) run.units.push_back(std::move(u));
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    listeners.on_run_end(run);

    int status = write_final_reports(run, config, o, report_dir, report_roots,
                                     exit_code_of(run, config.run.fail_on_stale_expectations));
    if (o.update_expectations && !run.interrupted) status = write_expectations_baseline(run, config, status);
    return status;
  } catch (const ConfigError& e) {
    std::cerr << "error [config]: " << e.what() << "\n";
    report_early_end(report_dir, report_roots, o, "config", e.what());
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "error [usage]: " << e.what() << "\n";
    return kExitUsage;
  }
}

}  // namespace ckpt
