#include "reports/report_files.hpp"

#include <filesystem>

#include "reports/atomic_file.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit_report.hpp"

namespace ckpt {

std::vector<std::string> report_formats() { return {"json", "junit", "html"}; }

std::string report_file_name(const std::string& format) {
  return format == "junit" ? "junit.xml" : format == "html" ? "report.html" : "results.json";
}

std::vector<std::string> write_reports(const RunResult& run, const std::string& dir, const std::vector<std::string>& formats) {
  std::vector<std::string> written;
  for (const auto& format : formats) {
    const std::string path = (std::filesystem::path(dir) / report_file_name(format)).string();
    write_file_atomically(path, [&](std::ostream& out) {
      if (format == "junit") {
        write_junit_report(run, out);
      } else if (format == "html") {
        write_html_report(run, out);
      } else {
        write_json_report(run, out);
      }
    });
    written.push_back(path);
  }
  return written;
}

}  // namespace ckpt
