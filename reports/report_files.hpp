#pragma once
// The report files of a run in a directory, by format: "json" -> results.json, "junit" ->
// junit.xml, "html" -> report.html (and report.css / report.js beside it when asked).
// Shared by `run` and `merge`, so both write the same files the same way.
#include <string>
#include <vector>

#include "confine/confined_open.hpp"
#include "results/report_formats.hpp"
#include "results/result_model.hpp"

namespace ckpt {

std::string report_file_name(const std::string& format);

// "inline": report.html holds its style and script; "beside": they go to report.css and
// report.js next to it, for servers whose content policy blocks inline ones (Jenkins').
std::vector<std::string> html_asset_modes();

struct ReportOptions {
  std::string html_assets = "inline";
  AllowedDirs confine_to{};  // directories the reports must really lie in (empty: anywhere)
};

// Writes each format atomically; returns the paths written. When some cannot be written,
// the others still are, and one ReportWriteError names every failure and what was written.
std::vector<std::string> write_reports(const RunResult& run, const std::string& dir, const std::vector<std::string>& formats,
                                       const ReportOptions& options = {});

}  // namespace ckpt
