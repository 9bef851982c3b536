#include "reports/report_files.hpp"

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
