#include "reports/report_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "confine/confined_open.hpp"
#include "reports/atomic_file.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "text/counted.hpp"
#include "reports/junit_report.hpp"

namespace ckpt {

std::string report_file_name(const std::string& format) {
  for (const auto& f : all_report_formats()) {
    if (format == f.name) return f.file;
  }
  throw std::invalid_argument("unknown report format '" + format + "'");
}

std::vector<std::string> html_asset_modes() { return {"inline", "beside"}; }

namespace {
// The files written, or, when any failed, a ReportWriteError naming every failure and what
// was written all the same.
std::vector<std::string> finish_with_failures(const std::vector<std::string>& written,
                                              const std::vector<std::string>& failures) {
  if (failures.empty()) return written;
  std::string message;
  for (const auto& f : failures) message += (message.empty() ? "" : "; ") + f;
  std::string names;
  for (const auto& w : written) names += (names.empty() ? "" : ", ") + std::filesystem::path(w).filename().string();
  throw ReportWriteError(message + (names.empty() ? "" : " (written: " + names + ")"));
}
}  // namespace

std::vector<std::string> write_reports(const RunResult& run, const std::string& dir, const std::vector<std::string>& formats,
                                       const ReportOptions& options) {
  // Every format is tried even when one fails (a full disk may still take the small JUnit
  // file); the failures are thrown together at the end.
  std::vector<std::string> written, failures;
  std::string junit_failure;
  auto write = [&](const std::string& name, const std::function<void(std::ostream&)>& body) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    try {
      write_file_atomically(path, body, options.confine_to);
      written.push_back(path);
      return true;
    } catch (const ReportWriteError& e) {
      failures.push_back(e.what());
      if (name == report_file_name("junit")) junit_failure = e.what();
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
  if (!junit_failure.empty()) {
    // Removed through the directory as it really is, and only where reports may be written.
    const ConfinedFd report_dir = open_directory_for_writing(dir, options.confine_to);
    if (!report_dir.fd || report_dir.outside) return finish_with_failures(written, failures);
    ::unlinkat(report_dir.fd.get(), report_file_name("junit").c_str(), 0);
    const Totals t = run.totals();
    RunResult summary;
    summary.environment = run.environment;
    summary.seconds = run.seconds;
    summary.interrupted = run.interrupted;
    summary.units.push_back(error_unit(UnitKind::kRunEnd, "reports", "junit",
                                       "junit.xml could not be written in full (" + junit_failure + "); the run itself had " +
                                           counted(t.cases, "case") + ": " + t.text() +
                                           (run.interrupted ? ", interrupted" : "")));
    write(report_file_name("junit"), [&](std::ostream& out) { write_junit_report(summary, out); });
  }
  return finish_with_failures(written, failures);
}

}  // namespace ckpt
