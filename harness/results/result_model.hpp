#pragma once
// The result model: what a run found, written by the runner, read (const) by every
// reporter. Plain values only: reporters never see a tensor or a plugin.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "results/outcome.hpp"

namespace ckpt {

struct CaseResult {
  std::string scenario;   // "strict-load"
  std::string component;  // "generator", "generator_optimizer", or "" for the checkpoint as a whole
  Outcome outcome = Outcome::kError;
  std::string message;    // one line: what a CI log shows
  std::string details;    // full text: key lists, tables, hints (several lines)
  // Structured facts, by scenario (documented in reports/README.md): missing, unexpected,
  // shape_mismatches, dtype_mismatches, left_at_initialisation, fraction, ...
  nlohmann::json data = nlohmann::json::object();
  std::string expectation;  // why an expectation applied (or failed to), "" when none did
  bool stale_expectation = false;  // an expected failure that no longer happens
  double seconds = 0;

  std::string id(const std::string& unit_id) const;  // unit id + "/scenario[/component]"
  std::string label() const;  // as people read it: "strict-load[generator]", "format"
};

// "strict-load[generator]", or the scenario alone when it is not per component: the one
// spelling of a case in reports, the console and the supervisor's notes.
std::string case_label(const std::string& scenario, const std::string& component);

struct PluginRef {
  std::string name;     // "" for a checkpoint no plugin is meant for (format only)
  std::string version;
  std::string file;
  std::string label() const;  // "dcgan@2.0.0", or "(no plugin)"
};

// What a unit is: which of the reports' groupings and labels it takes.
enum class UnitKind {
  kCheck,       // a checkpoint against a plugin version, or its format alone (no plugin meant)
  kPluginFile,  // a plugin file that could not be used: its one case says why
  kRunEnd,      // why a run ended before its plan (config error, interrupt): one case
};
const char* to_string(UnitKind kind);  // "check", "plugin-file", "run-end"

struct UnitResult {
  UnitKind kind = UnitKind::kCheck;
  std::string id;          // "dcgan@2.0.0/fixtures/dcgan/current.pt": stable, used by shards
  PluginRef plugin;
  std::string checkpoint;  // as the config names it (relative to the config's directory)
  std::string checkpoint_sha256;
  std::string group;       // the [[checkpoints]] entry: its name
  std::string label;       // the model version that wrote the checkpoint ("dcgan 1.x")
  std::size_t order = 0;   // position in the whole (unsharded) plan: merged shards sort by it
  std::vector<CaseResult> cases;
  double seconds = 0;
  std::string worker_log;  // the worker's captured output while it ran this unit (capped)
  Outcome worst() const;   // of the cases that ran; kSkipped when none did
};

struct Environment {
  std::string harness_version;
  std::string torch_version;
  std::string hostname;
  std::string config_file;
  std::string started_at;  // UTC, YYYY-MM-DDTHH:MM:SSZ
  std::string command_line;
  int jobs = 1;
  std::string shard;       // "K/N" or ""
  std::string filter;
};

struct Totals {
  std::size_t cases = 0, passed = 0, failed = 0, errors = 0, skipped = 0, expected_failures = 0, stale = 0;
  void add(const CaseResult& c);
  bool unexpected() const { return failed + errors > 0; }  // what fails a run
  // "1599 passed, 0 failed, 0 errors, 368 expected failures, 772 skipped": every summary's counts.
  std::string text() const;
};

struct RunResult {
  Environment environment;
  std::vector<UnitResult> units;
  double seconds = 0;
  bool interrupted = false;
  std::vector<std::string> notes;  // run-level problems (a plugin that would not load, ...)
  Totals totals() const;
  // The verdict: nothing unexpected, and not interrupted (stale expectations aside: the
  // command decides whether they fail it).
  bool passed() const;
  // "2739 cases in 153 units: 1599 passed, ... 772 skipped": the summary line.
  std::string summary() const;
};

// The error cases and units every part makes, one factory each. An error case: the check
// could not run. An error unit: not a check (a plugin file that could not be used, why a run
// ended) with its one error case, whose message is the first line of `text` and whose details
// are all of it when longer.
CaseResult error_case(const std::string& scenario, const std::string& component, std::string message,
                      std::string details = {});
UnitResult error_unit(UnitKind kind, const std::string& id, const std::string& scenario, const std::string& text);

// "0.42 s": a duration as people read it (the reports, the console).
std::string seconds_text(double seconds);

nlohmann::json to_json(const CaseResult& c);
CaseResult case_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
nlohmann::json to_json(const UnitResult& u);
UnitResult unit_from_json(const nlohmann::json& j);
nlohmann::json to_json(const RunResult& r);
RunResult run_from_json(const nlohmann::json& j);

inline constexpr int kResultsSchemaVersion = 1;

}  // namespace ckpt
