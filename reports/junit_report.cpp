#include "reports/junit_report.hpp"

#include <cstdio>

#include "reports/text_sanitizer.hpp"
#include "reports/xml_writer.hpp"

namespace ckpt {

namespace {
constexpr std::size_t kMaxDetailBytes = 64 * 1024;

std::string junit_time(double s) {  // the time attribute: seconds, no unit
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", s < 0 ? 0.0 : s);  // C locale: a '.' always
  return text;
}

std::string undotted(std::string s) {
  for (char& c : s) {
    if (c == '.' || c == ' ') c = '_';
  }
  return s;
}

// JUnit's timestamp has no zone: YYYY-MM-DDTHH:MM:SS (UTC).
std::string junit_timestamp(const std::string& utc) {
  return utc.size() >= 19 ? utc.substr(0, 19) : "1970-01-01T00:00:00";
}


std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// CI systems group suites by package: the plugin version checked, else the prefix of the
// unit's id ("format-only", "plugin" for a file that could not be used, "config" or "run"
// for a run that ended before its plan).
std::string junit_package(const UnitResult& unit) {
  switch (unit.kind) {
    case UnitKind::kCheck: return unit.plugin.name.empty() ? "format-only" : unit.plugin.label();
    case UnitKind::kPluginFile: return "plugin";
    case UnitKind::kRunEnd: return unit.cases.empty() ? "run" : unit.cases.front().scenario;
  }
  return "run";
}
}  // namespace

void write_junit_report(const RunResult& run, std::ostream& out) {
  const Environment& env = run.environment;
  XmlWriter xml(out);
  XmlWriter::Scope suites(xml, "testsuites");
  int id = 0;
  for (const UnitResult& unit : run.units) {
    Totals t;
    for (const auto& c : unit.cases) t.add(c);
    const std::string package = junit_package(unit);
    const std::string classname =
        undotted(package) + "." + undotted(unit.kind == UnitKind::kRunEnd   ? env.config_file
                                           : unit.kind == UnitKind::kPluginFile ? unit.plugin.file
                                                                                : unit.checkpoint);
    XmlWriter::Scope suite(xml, "testsuite",
                           {{"name", one_line(unit.id)},
                            {"package", one_line(undotted(package))},
                            {"id", std::to_string(id++)},
                            {"tests", std::to_string(t.cases)},
                            {"failures", std::to_string(t.failed)},
                            {"errors", std::to_string(t.errors)},
                            {"skipped", std::to_string(t.skipped)},
                            {"time", junit_time(unit.seconds)},
                            {"timestamp", junit_timestamp(env.started_at)},
                            {"hostname", env.hostname.empty() ? "localhost" : one_line(env.hostname)}});
    {
      XmlWriter::Scope properties(xml, "properties");
      const std::pair<const char*, std::string> facts[] = {
          {"harness_version", env.harness_version}, {"torch_version", env.torch_version},
          {"plugin", unit.plugin.name},             {"plugin_version", unit.plugin.version},
          {"plugin_file", unit.plugin.file},        {"checkpoint", unit.checkpoint},
          {"checkpoint_sha256", unit.checkpoint_sha256}, {"checkpoint_label", unit.label},
          {"config", env.config_file}};
      for (const auto& [name, value] : facts) xml.leaf("property", {{"name", name}, {"value", value}});
    }
    std::string expectations;
    for (const CaseResult& c : unit.cases) {
      XmlWriter::Scope testcase(xml, "testcase", {{"classname", one_line(classname)},
                                                  {"name", one_line(c.label())},
                                                  {"time", junit_time(c.seconds)}});
      const std::string text = sanitize_capped(c.details.empty() ? c.message : c.message + "\n\n" + c.details, kMaxDetailBytes);
      switch (c.outcome) {
        case Outcome::kFail: xml.leaf("failure", {{"message", one_line(first_line(c.message))}, {"type", c.scenario}}, text); break;
        case Outcome::kError: xml.leaf("error", {{"message", one_line(first_line(c.message))}, {"type", c.scenario}}, text); break;
        case Outcome::kSkipped: xml.leaf("skipped", {{"message", one_line(first_line(c.message))}}); break;
        case Outcome::kPass:
        case Outcome::kExpectedFail: break;
      }
      if (!c.expectation.empty()) expectations += c.label() + ": " + c.expectation + "\n";
    }
    xml.leaf("system-out", {}, expectations);
    xml.leaf("system-err", {}, sanitize_capped(unit.worker_log, kMaxDetailBytes));
  }
}

}  // namespace ckpt
