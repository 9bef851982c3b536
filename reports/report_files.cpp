#include "reports/report_files.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "reports/atomic_file.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit_report.hpp"

namespace ckpt {

std::vector<std::string> report_formats() { return {"json", "junit", "html"}; }

std::string report_file_name(const std::string& format) {
  return format == "junit" ? "junit.xml" : format == "html" ? "report.html" : "results.json";
}

std::vector<std::string> html_asset_modes() { return {"inline", "beside"}; }

std::vector<std::string> write_reports(const RunResult& run, const std::string& dir, const std::vector<std::string>& formats,
                                       const ReportOptions& options) {
  // Every format is tried even when one fails (a full disk may still take the small JUnit
  // file); the failures are thrown together at the end.
  std::vector<std::string> written, failures;
  auto write = [&](const std::string& name, const std::function<void(std::ostream&)>& body) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    try {
      write_file_atomically(path, body, options.confine_to);
      written.push_back(path);
      return true;
    } catch (const ReportWriteError& e) {
      failures.push_back(e.what());
      return false;
    }
  };
  const HtmlOptions html{options.html_assets == "beside"};
  for (const auto& format : formats) {
    if (format == "html" && html.external_assets) {
      // The assets first: a page never refers to a file that is not there.
      const bool css = write("report.css", [](std::ostream& out) { out << html_report_css(); });
      const bool js = write("report.js", [](std::ostream& out) { out << html_report_js(); });
      if (!css || !js) continue;
    }
    write(report_file_name(format), [&](std::ostream& out) {
      if (format == "junit") {
        write_junit_report(run, out);
      } else if (format == "html") {
        write_html_report(run, out, html);
      } else {
        write_json_report(run, out);
      }
    });
  }
  // A junit.xml that could not be replaced would still be the one written while the run went
  // on (every case "not run"), which a CI system reads as the run's result. It is removed, and
  // a one-case JUnit file saying what happened takes its place where the disk allows.
  const bool junit_failed = std::find(formats.begin(), formats.end(), "junit") != formats.end() &&
                            std::find(written.begin(), written.end(),
                                      (std::filesystem::path(dir) / report_file_name("junit")).string()) == written.end();
  if (junit_failed) {
    std::error_code ignored;
    std::filesystem::remove(std::filesystem::path(dir) / report_file_name("junit"), ignored);
    const Totals t = run.totals();
    RunResult summary;
    summary.environment = run.environment;
    summary.seconds = run.seconds;
    summary.interrupted = run.interrupted;
    UnitResult unit;
    unit.kind = UnitKind::kRunEnd;
    unit.id = "reports";
    CaseResult c;
    c.scenario = "junit";
    c.outcome = Outcome::kError;
    c.message = "junit.xml could not be written in full (" + failures.back() + "); the run itself had " +
                std::to_string(t.cases) + " cases: " + std::to_string(t.passed) + " passed, " + std::to_string(t.failed) +
                " failed, " + std::to_string(t.errors) + " errors, " + std::to_string(t.expected_failures) +
                " expected failures, " + std::to_string(t.skipped) + " skipped" + (run.interrupted ? ", interrupted" : "");
    unit.cases.push_back(std::move(c));
    summary.units.push_back(std::move(unit));
    write(report_file_name("junit"), [&](std::ostream& out) { write_junit_report(summary, out); });
  }
  if (!failures.empty()) {
    std::string message;
    for (const auto& f : failures) message += (message.empty() ? "" : "; ") + f;
    std::string names;
    for (const auto& w : written) names += (names.empty() ? "" : ", ") + std::filesystem::path(w).filename().string();
    throw ReportWriteError(message + (names.empty() ? "" : " (written: " + names + ")"));
  }
  return written;
}

}  // namespace ckpt
