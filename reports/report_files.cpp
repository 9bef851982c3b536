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
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::function<void(std::ostream&)>& body) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    write_file_atomically(path, body);
    written.push_back(path);
  };
  const HtmlOptions html{options.html_assets == "beside"};
  for (const auto& format : formats) {
    if (format == "html" && html.external_assets) {
      // The assets first: a page never refers to a file that is not there yet.
      write("report.css", [](std::ostream& out) { out << html_report_css(); });
      write("report.js", [](std::ostream& out) { out << html_report_js(); });
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
  return written;
}

}  // namespace ckpt
