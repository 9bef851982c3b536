#include "cli/run_command.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/version.hpp"
#include "cli/worker_path.hpp"
#include "config/config.hpp"
#include "plugin_host/plugin_paths.hpp"
#include "reports/atomic_file.hpp"
#include "reports/console_reporter.hpp"
#include "reports/progressive_junit.hpp"
#include "reports/report_files.hpp"
#include "runner/expectations.hpp"
#include "runner/interrupt.hpp"
#include "runner/run_plan.hpp"
#include "runner/supervisor.hpp"

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

// The plugin files of the run: the config's [plugins] paths, else --plugin-dir, the
// environment and the directory beside the executable.
std::vector<std::string> plugin_files(const HarnessConfig& config, const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> files;
  if (!config.plugin_paths.empty()) {
    for (const Located& p : config.plugin_paths) {
      const std::string path = config_relative(config, p.value);
      if (!fs::exists(path)) {
        throw ConfigError(config.file, p.line, p.column, "[plugins] paths: '" + p.value + "' does not exist (" + path + ")");
      }
      for (auto& f : plugin_files_in(path)) files.push_back(std::move(f));
    }
  }
  for (const auto& dir : plugin_search_dirs(extra_dirs)) {
    if (!config.plugin_paths.empty() && std::find(extra_dirs.begin(), extra_dirs.end(), dir) == extra_dirs.end()) continue;
    for (auto& f : plugin_files_in(dir)) {
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
    }
  }
  return files;
}

bool needs_plugins(const HarnessConfig& config) {
  for (const auto& g : config.groups) {
    if (!g.plugins.empty()) return true;
  }
  return false;
}

// A plugin file that would not load (or killed its worker) fails as its own unit.
UnitResult plugin_failure_unit(const DescribeOutcome& d) {
  UnitResult u;
  u.id = "plugin/" + d.file;
  u.plugin.file = d.file;
  u.checkpoint = "";
  CaseResult c;
  c.scenario = "plugin-load";
  c.outcome = Outcome::kError;
  c.message = d.error.substr(0, d.error.find('\n'));
  c.details = d.error;
  u.cases.push_back(c);
  return u;
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
void report_early_end(const std::string& report_dir, const RunOptions& o, const std::string& scenario,
                      const std::string& message, bool interrupted = false) {
  if (report_dir.empty()) return;
  RunResult run;
  run.interrupted = interrupted;
  run.environment = {kHarnessVersion, kTorchVersion, host_name(), o.config, utc_now(), o.command_line, 0, o.shard, o.filter};
  UnitResult u;
  u.id = scenario + "/" + o.config;
  CaseResult c;
  c.scenario = scenario;
  c.outcome = Outcome::kError;
  c.message = message;
  u.cases.push_back(c);
  run.units.push_back(u);
  try {
    for (const auto& path : write_reports(run, report_dir, report_formats())) std::cout << "report: " << path << "\n";
  } catch (const ReportWriteError& e) {
    std::cerr << "error [report]: " << e.what() << "\n";
  }
}

int exit_code_of(const RunResult& run, bool fail_on_stale) {
  if (run.interrupted) return kExitInterrupted;
  const Totals t = run.totals();
  return t.failed + t.errors > 0 || (fail_on_stale && t.stale > 0) ? 1 : 0;
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
  std::string report_dir = o.report_dir;  // "" until known: a config that does not parse has none
  try {
    const HarnessConfig config = load_config(o.config, o.allowed_dirs);
    if (report_dir.empty()) report_dir = config_relative(config, config.run.report_dir);
    const CaseFilter filter(o.filter);
    Shard shard;
    if (!o.shard.empty()) {
      try {
        shard = parse_shard(o.shard);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    }
    SupervisorOptions so;
    so.worker_executable = worker_executable(nullptr);
    const int jobs = o.jobs >= 0 ? o.jobs : config.run.jobs;
    so.jobs = jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    so.unit_timeout_seconds = o.timeout_seconds > 0 ? o.timeout_seconds : config.run.timeout_seconds;
    so.limits.memory_bytes = config.run.memory_limit_mib << 20;
    so.cpu_seconds_per_unit = config.run.cpu_seconds_per_unit;
    Supervisor supervisor(so);

    std::vector<DescribedPlugin> plugins;
    std::vector<UnitResult> plugin_failures;
    if (needs_plugins(config)) {
      const std::vector<std::string> files = plugin_files(config, o.plugin_dirs);
      if (files.empty()) {
        throw ConfigError(config.file, 0, 0,
                          "no plugin files found: build them (cmake --build build) or name them in [plugins] paths");
      }
      nlohmann::json options = nlohmann::json::object();
      for (const auto& [name, settings] : config.plugin_settings) options[name] = settings.options;
      nlohmann::json selectors = nlohmann::json::array();
      for (const auto& g : config.groups) {
        for (const auto& sel : g.plugins) selectors.push_back({sel.name, sel.version_glob});
      }
      for (const DescribeOutcome& d : supervisor.describe(files, options, selectors)) {
        if (d.plugin) {
          for (const auto& p : plugins) {
            if (p.name == d.plugin->name && p.version == d.plugin->version) {
              throw ConfigError(config.file, 0, 0, "two plugin files are " + p.name + "@" + p.version + ": " + p.file +
                                                       " and " + d.file + " (keep one)");
            }
          }
          plugins.push_back(*d.plugin);
        } else {
          plugin_failures.push_back(plugin_failure_unit(d));
        }
      }
    }
    if (interrupted()) {
      std::cerr << "interrupted while the plugins were described: no unit ran\n";
      report_early_end(report_dir, o, "run", "interrupted while the plugins were described: no unit ran", true);
      return kExitInterrupted;
    }
    // A plugin file that would not load has no known name: names the config gives that
    // match nothing may be it, so they are reported with it instead of stopping the run.
    std::vector<std::string> unresolved;
    check_plugin_references(config, plugins, plugin_failures.empty() ? nullptr : &unresolved);
    RunPlan plan = plan_run(config, plugins, filter, shard);
    if (o.list) {
      print_plan(plan, std::cout);
      return plan.units.empty() ? kExitNothingSelected : 0;
    }
    if (plan.units.empty() && plugin_failures.empty()) {
      std::cerr << "nothing selected: " << plan.units_before_selection << " unit(s) in " << config.file
                << (o.filter.empty() ? "" : ", none with a case matching --filter '" + o.filter + "'")
                << (o.shard.empty() ? "" : ", none in shard " + o.shard) << "\n";
      return kExitNothingSelected;
    }

    RunResult run;
    Environment& env = run.environment;
    env = {kHarnessVersion, kTorchVersion, host_name(), config.file, utc_now(), o.command_line, so.jobs, o.shard, o.filter};
    const bool terminal = ::isatty(STDOUT_FILENO) && !std::getenv("CI");
    for (auto& f : plugin_failures) {
      run.notes.push_back("plugin " + f.plugin.file + " could not be used: " + f.cases.front().message);
      run.units.push_back(f);
    }
    for (auto& u : unresolved) run.notes.push_back(u + " (a plugin file that could not be loaded may be it)");

    RunListeners listeners;
    ConsoleReporter console(std::cout, terminal, o.verbose);
    listeners.add(console);
    // Every planned unit as "not run": the progressive JUnit starts from it, and an
    // interrupted run reports the units it never started with it.
    std::vector<UnitResult> not_run;
    for (const auto& unit : plan.units) {
      std::vector<std::pair<std::string, std::string>> cases;
      for (const auto& c : unit.request.cases) cases.emplace_back(c.scenario, c.component);
      not_run.push_back(not_run_unit(unit.result, cases));
    }
    std::optional<ProgressiveJunit> junit;
    const auto& formats = config.run.formats;
    if (std::find(formats.begin(), formats.end(), "junit") != formats.end()) {
      RunResult planned = run;
      planned.units.insert(planned.units.end(), not_run.begin(), not_run.end());
      junit.emplace((fs::path(report_dir) / report_file_name("junit")).string(), std::move(planned));
      try {
        junit->write_now();  // a run killed from outside still leaves a valid report
      } catch (const ReportWriteError&) {
        // Reported when the final reports are written.
      }
      listeners.add(*junit);
    }
    listeners.on_run_start(env, plan.units.size(), plan.cases);
    for (auto& u : supervisor.run(std::move(plan.units), [&](UnitResult& u) { apply_expectations(config, u); }, listeners)) {
      run.units.push_back(std::move(u));
    }
    run.notes.insert(run.notes.end(), supervisor.notes().begin(), supervisor.notes().end());
    run.interrupted = interrupted();
    if (run.interrupted) {
      for (auto& u : not_run) {
        const bool ran = std::any_of(run.units.begin(), run.units.end(), [&u](const UnitResult& r) { return r.id == u.id; });
        if (ran) continue;
        for (auto& c : u.cases) c.message = kNotRunInterrupted;
        run.units.push_back(std::move(u));
      }
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    listeners.on_run_end(run);

    int status = exit_code_of(run, config.run.fail_on_stale_expectations);
    try {
      const ReportOptions report_options{o.html_assets.empty() ? config.run.html_assets : o.html_assets};
      for (const auto& path : write_reports(run, report_dir, config.run.formats, report_options)) std::cout << "report: " << path << "\n";
    } catch (const ReportWriteError& e) {
      std::cerr << "error [report]: " << e.what() << "\n";
      if (status == 0) status = kExitReportFailed;
    }
    if (o.update_expectations && !run.interrupted) {
      std::string path = config.run.expectations_file;
      if (path.empty()) path = config_relative(config, fs::path(config.file).stem().string() + ".expectations.toml");
      try {
        write_file_atomically(path, [&](std::ostream& out) { out << expectations_baseline(config, run.units); });
        std::cout << "expectations baseline written: " << path << " (review it with git diff)\n";
        if (config.run.expectations_file.empty()) {
          std::cout << "note: add [run] expectations_file = \"" << fs::path(path).filename().string()
                    << "\" to " << config.file << " so runs use it\n";
        }
      } catch (const std::exception& e) {
        std::cerr << "error [report]: " << e.what() << "\n";
        if (status == 0) status = kExitReportFailed;
      }
    }
    return status;
  } catch (const ConfigError& e) {
    std::cerr << "error [config]: " << e.what() << "\n";
    report_early_end(report_dir, o, "config", e.what());
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "error [usage]: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace ckpt
