#pragma once
// The report formats a run writes, one list: each format's name (what [run] formats and
// --format take) and its file. The writers are registered in reports/report_files.cpp; the
// config, the command line and merge take the names from here.
#include <string>
#include <vector>

namespace ckpt {

struct ReportFormat {
  const char* name;  // "junit"
  const char* file;  // "junit.xml"
};

inline const std::vector<ReportFormat>& all_report_formats() {
  static const std::vector<ReportFormat> kAll = {{"json", "results.json"}, {"junit", "junit.xml"}, {"html", "report.html"}};
  return kAll;
}

inline std::vector<std::string> report_formats() {
  std::vector<std::string> names;
  for (const auto& f : all_report_formats()) names.emplace_back(f.name);
  return names;
}

}  // namespace ckpt
