#pragma once
// The report files of a run in a directory, by format: "json" -> results.json, "junit" ->
// junit.xml. Shared by `run` and `merge`, so both write the same files the same way.
#include <string>
#include <vector>

#include "results/result_model.hpp"

namespace ckpt {

std::vector<std::string> report_formats();  // known formats
std::string report_file_name(const std::string& format);

// Writes each format atomically; returns the paths written. Throws ReportWriteError (the
// formats before the failing one are written).
std::vector<std::string> write_reports(const RunResult& run, const std::string& dir, const std::vector<std::string>& formats);

}  // namespace ckpt
