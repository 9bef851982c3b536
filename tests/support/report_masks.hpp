#pragma once
// What differs between two runs that give the same results: durations, timestamps and the
// host. Approval and merge tests compare reports with these masked, per format.
#include <regex>
#include <string>

namespace ckpt::test {

inline std::string masked(std::string text, const char* pattern, const char* replacement) {
  return std::regex_replace(text, std::regex(pattern), replacement);
}

inline std::string mask_junit(std::string xml) {
  xml = masked(xml, R"(\b(time|timestamp|hostname)="[^"]*")", R"($1="*")");
  return masked(xml, R"x((<property name="(?:hostname|started_at)" value=)"[^"]*")x", R"x($1"*")x");
}

inline std::string mask_json(std::string json) {
  return masked(json, R"x("(seconds|started_at|hostname)": ("[^"]*"|[-+0-9.eE]+))x", R"("$1": "*")");
}

inline std::string mask_html(std::string html) {
  html = masked(html, R"(\b\d+(\.\d+)? s\b)", "* s");
  html = masked(html, R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?)", "*");
  return masked(html, R"(\bhost [^,<]+)", "host *");
}

inline std::string mask_console(std::string text) { return masked(text, R"(\b\d+\.\d+ s\b)", "* s"); }

}  // namespace ckpt::test
