#include "results/result_model.hpp"

#include <cstdio>

#include "text/counted.hpp"

#include <algorithm>

namespace ckpt {

std::string CaseResult::id(const std::string& unit_id) const {
  return unit_id + "/" + scenario + (component.empty() ? "" : "/" + component);
}

std::string case_label(const std::string& scenario, const std::string& component) {
  return component.empty() ? scenario : scenario + "[" + component + "]";
}

std::string CaseResult::label() const { return case_label(scenario, component); }

std::string PluginRef::label() const { return name.empty() ? "(no plugin)" : name + "@" + version; }

Outcome UnitResult::worst() const {
  // Skipped cases (no golden outputs recorded, a module that did not load) do not make a
  // unit look worse than what did run; a unit where nothing ran is skipped.
  Outcome worst = Outcome::kSkipped;
  bool ran = false;
  for (const auto& c : cases) {
    if (c.outcome == Outcome::kSkipped) continue;
    if (!ran || severity(c.outcome) > severity(worst)) worst = c.outcome;
    ran = true;
  }
  return worst;
}

void Totals::add(const CaseResult& c) {
  ++cases;
  switch (c.outcome) {
    case Outcome::kPass: ++passed; break;
    case Outcome::kFail: ++failed; break;
    case Outcome::kError: ++errors; break;
    case Outcome::kSkipped: ++skipped; break;
    case Outcome::kExpectedFail: ++expected_failures; break;
  }
  if (c.stale_expectation) ++stale;
}

std::string Totals::text() const {
  return std::to_string(passed) + " passed, " + std::to_string(failed) + " failed, " + std::to_string(errors) + " errors, " +
         std::to_string(expected_failures) + " expected failures, " + std::to_string(skipped) + " skipped";
}

bool RunResult::passed() const { return !totals().unexpected() && !interrupted; }

std::string RunResult::summary() const {
  return counted(totals().cases, "case") + " in " + counted(units.size(), "unit") + ": " + totals().text();
}

CaseResult error_case(const std::string& scenario, const std::string& component, std::string message,
                      std::string details) {
  CaseResult c;
  c.scenario = scenario;
  c.component = component;
  c.outcome = Outcome::kError;
  c.message = std::move(message);
  c.details = std::move(details);
  return c;
}

UnitResult error_unit(UnitKind kind, const std::string& id, const std::string& scenario, const std::string& text) {
  UnitResult u;
  u.kind = kind;
  u.id = id;
  const std::string first_line = text.substr(0, text.find('\n'));
  u.cases.push_back(error_case(scenario, "", first_line, first_line == text ? "" : text));
  return u;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

Totals RunResult::totals() const {
  Totals t;
  for (const auto& u : units) {
    for (const auto& c : u.cases) t.add(c);
  }
  return t;
}

using nlohmann::json;

json to_json(const CaseResult& c) {
  return json{{"scenario", c.scenario},   {"component", c.component},       {"outcome", to_string(c.outcome)},
              {"message", c.message},     {"details", c.details},           {"data", c.data},
              {"expectation", c.expectation}, {"stale_expectation", c.stale_expectation}, {"seconds", c.seconds}};
}

CaseResult case_from_json(const json& j) {
  CaseResult c;
  c.scenario = j.at("scenario").get<std::string>();
  c.component = j.value("component", "");
  const auto outcome = parse_outcome(j.at("outcome").get<std::string>());
  if (!outcome) throw json::other_error::create(501, "unknown outcome '" + j.at("outcome").get<std::string>() + "'", &j);
  c.outcome = *outcome;
  c.message = j.value("message", "");
  c.details = j.value("details", "");
  c.data = j.value("data", json::object());
  c.expectation = j.value("expectation", "");
  c.stale_expectation = j.value("stale_expectation", false);
  c.seconds = j.value("seconds", 0.0);
  return c;
}

const char* to_string(UnitKind kind) {
  switch (kind) {
    case UnitKind::kCheck: return "check";
    case UnitKind::kPluginFile: return "plugin-file";
    case UnitKind::kRunEnd: return "run-end";
  }
  return "check";
}

namespace {
UnitKind unit_kind_from(const std::string& text) {
  for (UnitKind k : {UnitKind::kCheck, UnitKind::kPluginFile, UnitKind::kRunEnd}) {
    if (text == to_string(k)) return k;
  }
  throw json::other_error::create(501, "unknown unit kind '" + text + "' (expected check, plugin-file or run-end)", nullptr);
}
}  // namespace

json to_json(const UnitResult& u) {
  json cases = json::array();
  for (const auto& c : u.cases) cases.push_back(to_json(c));
  return json{{"id", u.id},
              {"kind", to_string(u.kind)},
              {"plugin", {{"name", u.plugin.name}, {"version", u.plugin.version}, {"file", u.plugin.file}}},
              {"checkpoint", u.checkpoint},
              {"checkpoint_sha256", u.checkpoint_sha256},
              {"group", u.group},
              {"label", u.label},
              {"order", u.order},
              {"outcome", to_string(u.worst())},
              {"seconds", u.seconds},
              {"worker_log", u.worker_log},
              {"cases", cases}};
}

UnitResult unit_from_json(const json& j) {
  UnitResult u;
  u.id = j.at("id").get<std::string>();
  u.kind = unit_kind_from(j.value("kind", "check"));  // results written before kinds were recorded
  const json& p = j.at("plugin");
  u.plugin = {p.value("name", ""), p.value("version", ""), p.value("file", "")};
  u.checkpoint = j.at("checkpoint").get<std::string>();
  u.checkpoint_sha256 = j.value("checkpoint_sha256", "");
  u.group = j.value("group", "");
  u.label = j.value("label", "");
  u.order = j.value("order", std::size_t{0});
  u.seconds = j.value("seconds", 0.0);
  u.worker_log = j.value("worker_log", "");
  for (const auto& c : j.at("cases")) u.cases.push_back(case_from_json(c));
  return u;
}

json to_json(const RunResult& r) {
  const Environment& e = r.environment;
  const Totals t = r.totals();
  json units = json::array();
  for (const auto& u : r.units) units.push_back(to_json(u));
  return json{{"schema", "ckpt-harness.results"},
              {"schema_version", kResultsSchemaVersion},
              {"environment",
               {{"harness_version", e.harness_version},
                {"torch_version", e.torch_version},
                {"hostname", e.hostname},
                {"config_file", e.config_file},
                {"started_at", e.started_at},
                {"command_line", e.command_line},
                {"jobs", e.jobs},
                {"shard", e.shard},
                {"filter", e.filter}}},
              {"seconds", r.seconds},
              {"interrupted", r.interrupted},
              {"notes", r.notes},
              {"totals",
               {{"cases", t.cases},
                {"passed", t.passed},
                {"failed", t.failed},
                {"errors", t.errors},
                {"skipped", t.skipped},
                {"expected_failures", t.expected_failures},
                {"stale_expectations", t.stale}}},
              {"units", units}};
}

RunResult run_from_json(const json& j) {
  if (j.value("schema", "") != "ckpt-harness.results") {
    throw json::other_error::create(501, "not a ckpt-harness results file (schema is not ckpt-harness.results)", &j);
  }
  // Older versions are read (what they lack has defaults); a newer one may mean what this
  // harness cannot know.
  const json* version = j.contains("schema_version") ? &j.at("schema_version") : nullptr;
  if (!version || !version->is_number_integer() || version->get<int>() < 1) {
    throw json::other_error::create(501, "no results schema_version (an integer from 1) beside its schema", &j);
  }
  if (version->get<int>() > kResultsSchemaVersion) {
    throw json::other_error::create(
        501,
        "results schema version " + std::to_string(version->get<int>()) + " is newer than this ckpt-harness reads (up to " +
            std::to_string(kResultsSchemaVersion) + "): read it with the ckpt-harness that wrote it, or a newer one",
        &j);
  }
  RunResult r;
  const json& e = j.at("environment");
  r.environment = {e.value("harness_version", ""), e.value("torch_version", ""), e.value("hostname", ""),
                   e.value("config_file", ""),     e.value("started_at", ""),    e.value("command_line", ""),
                   e.value("jobs", 1),             e.value("shard", ""),         e.value("filter", "")};
  r.seconds = j.value("seconds", 0.0);
  r.interrupted = j.value("interrupted", false);
  r.notes = j.value("notes", std::vector<std::string>{});
  for (const auto& u : j.at("units")) r.units.push_back(unit_from_json(u));
  return r;
}

}  // namespace ckpt
