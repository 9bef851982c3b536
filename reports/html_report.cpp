#include "reports/html_report.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "reports/text_sanitizer.hpp"
#include "reports/version_matrix.hpp"
#include "reports/xml_writer.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
constexpr std::size_t kMaxDetailBytes = 64 * 1024;

// Text and double-quoted attribute values of the page, escaped as the XML reports are.
std::string esc(const std::string& text) { return xml_escape_text(text); }

std::string anchor(const std::string& unit_id) {
  std::string out = "u-";
  for (unsigned char c : unit_id) {
    out += std::isalnum(c) ? static_cast<char>(c) : '-';
  }
  return out;
}



// A table from rows of {key, checkpoint, model} in the case's structured data.
void write_table(std::ostream& out, const nlohmann::json& rows, const char* title) {
  if (!rows.is_array() || rows.empty()) return;
  out << "<table><caption>" << title << "</caption><tr><th>key</th><th>checkpoint</th><th>model</th></tr>";
  for (const auto& r : rows) {
    out << "<tr><td><code>" << esc(r.value("key", "")) << "</code></td><td>" << esc(r["checkpoint"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << "</td><td>"
        << esc(r["model"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << "</td></tr>";
  }
  out << "</table>";
}

void write_keys(std::ostream& out, const nlohmann::json& keys, const char* title) {
  if (!keys.is_array() || keys.empty()) return;
  out << "<p class=\"keys\"><b>" << title << " (" << keys.size() << ")</b> ";
  std::size_t shown = 0;
  for (const auto& k : keys) {
    if (shown++ == 200) {
      out << "... and " << keys.size() - 200 << " more";
      break;
    }
    out << "<code>" << esc(k.is_string() ? k.get<std::string>() : k.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << "</code> ";
  }
  out << "</p>";
}

void write_case(std::ostream& out, const CaseResult& c) {
  const std::string outcome = to_string(c.outcome);
  out << "<details class=\"case " << outcome << "\" data-outcome=\"" << outcome << "\""
      << (c.outcome == Outcome::kFail || c.outcome == Outcome::kError ? " open" : "") << "><summary><span class=\"badge "
      << outcome << "\">" << outcome << "</span> <b>" << esc(c.label()) << "</b> " << esc(c.message)
      << " <span class=\"time\">" << seconds_text(c.seconds) << "</span></summary>";
  write_keys(out, c.data.value("missing", nlohmann::json()), "missing");
  write_keys(out, c.data.value("unexpected", nlohmann::json()), "unexpected");
  write_keys(out, c.data.value("left_at_initialisation", nlohmann::json()), "left at initialisation");
  write_table(out, c.data.value("shape_mismatches", nlohmann::json()), "shapes (checkpoint vs model)");
  write_table(out, c.data.value("dtype_mismatches", nlohmann::json()), "dtypes (checkpoint vs model)");
  if (!c.expectation.empty()) out << "<p class=\"expectation\">" << esc(c.expectation) << "</p>";
  if (!c.details.empty()) out << "<pre>" << esc(sanitize_capped(c.details, kMaxDetailBytes)) << "</pre>";
  out << "</details>\n";
}

void write_matrix(std::ostream& out, const RunResult& run) {
  for (const VersionMatrix& m : version_matrices(run)) {
    const std::string& name = m.plugin;
    out << "<h2>" << esc(name) << ": checkpoints &times; plugin versions</h2><table class=\"matrix\"><tr><th>checkpoint</th>";
    for (const auto& v : m.versions) out << "<th>" << esc(name + " " + v) << "</th>";
    out << "</tr>\n";
    for (const auto& c : m.checkpoints) {
      out << "<tr><th><code>" << esc(c) << "</code></th>";
      for (const auto& v : m.versions) {
        const UnitResult* cell = m.at(c, v);
        if (!cell) {
          out << "<td class=\"none\">&ndash;</td>";
          continue;
        }
        const UnitResult& u = *cell;
        const std::string worst = to_string(u.worst());
        out << "<td class=\"cell " << worst << "\"><a href=\"#" << anchor(u.id) << "\">" << worst << "</a><div class=\"strip\">";
        for (const auto& k : u.cases) {
          out << "<span class=\"" << to_string(k.outcome) << "\" title=\"" << esc(k.label() + ": " + to_string(k.outcome))
              << "\"></span>";
        }
        out << "</div></td>";
      }
      out << "</tr>\n";
    }
    out << "</table>\n";
  }
}
}  // namespace

const std::string& html_report_css() {
  static const std::string kCss = R"(body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
header{border-bottom:1px solid #ccc;margin-bottom:1em}h1 .verdict{padding:.1em .5em;border-radius:4px;color:#fff}
.verdict.passed{background:#2e7d32}.verdict.failed{background:#c62828}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.matrix td.cell{min-width:9em}.strip{display:flex;gap:1px;margin-top:2px}.strip span{flex:1;height:6px;min-width:3px}
.pass{background:#e8f5e9}.fail{background:#ffebee}.error{background:#fce4ec}.skipped{background:#fffde7}.expected-fail{background:#e3f2fd}
.strip .pass{background:#43a047}.strip .fail{background:#e53935}.strip .error{background:#8e24aa}.strip .skipped{background:#fdd835}
.strip .expected-fail{background:#1e88e5}.badge{padding:0 .4em;border-radius:3px;font-size:12px}
details.case{margin:.2em 0;padding:.2em .5em;border-left:4px solid #ccc}details.case.fail{border-color:#e53935}
details.case.error{border-color:#8e24aa}details.case.expected-fail{border-color:#1e88e5}details.case.pass{border-color:#43a047}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;max-height:30em;overflow:auto}.time{color:#888;font-size:12px}
.keys code{background:#f0f0f0;margin-right:.3em}#filters{margin:1em 0}.hidden{display:none}
)";
  return kCss;
}

const std::string& html_report_js() {
  static const std::string kJs = R"((function(){
var boxes=document.querySelectorAll('#filters input[type=checkbox]'),search=document.getElementById('search');
function apply(){var shown={};boxes.forEach(function(b){shown[b.value]=b.checked;});
var q=(search.value||'').toLowerCase();
document.querySelectorAll('details.case').forEach(function(d){
var ok=shown[d.getAttribute('data-outcome')]&&(!q||d.textContent.toLowerCase().indexOf(q)>=0);
d.classList.toggle('hidden',!ok);});
document.querySelectorAll('section.unit').forEach(function(s){
s.classList.toggle('hidden',!s.querySelector('details.case:not(.hidden)'));});}
boxes.forEach(function(b){b.addEventListener('change',apply);});search.addEventListener('input',apply);
document.getElementById('filters').classList.remove('hidden');})();
)";
  return kJs;
}

void write_html_report(const RunResult& run, std::ostream& out, const HtmlOptions& options) {
  const Totals t = run.totals();
  const bool passed = run.passed();
  const Environment& e = run.environment;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ckpt-harness: "
      << (passed ? "passed" : "FAILED") << "</title>\n";
  if (options.external_assets) {
    out << "<link rel=\"stylesheet\" href=\"report.css\">\n";
  } else {
    out << "<style>\n" << html_report_css() << "</style>\n";
  }
  out << "</head><body>\n<header><h1>ckpt-harness <span class=\"verdict " << (passed ? "passed" : "failed") << "\">"
      << (passed ? "PASSED" : run.interrupted ? "INTERRUPTED" : "FAILED") << "</span></h1>\n<p>" << run.summary() << ", " << t.stale
      << " stale expectations; " << seconds_text(run.seconds) << "</p>\n<p class=\"env\">ckpt-harness " << esc(e.harness_version)
      << ", LibTorch " << esc(e.torch_version) << ", host " << esc(e.hostname) << ", config <code>" << esc(e.config_file)
      << "</code>, started " << esc(e.started_at) << (e.shard.empty() ? "" : ", shard " + esc(e.shard)) << "</p>\n";
  for (const auto& n : run.notes) out << "<p class=\"note\">" << esc(n) << "</p>\n";
  out << "</header>\n";
  write_matrix(out, run);
  out << "<div id=\"filters\" class=\"hidden\"><b>show</b> ";
  for (const char* o : {"fail", "error", "expected-fail", "skipped", "pass"}) {
    out << "<label><input type=\"checkbox\" value=\"" << o << "\" checked> " << o << "</label> ";
  }
  out << "<input id=\"search\" type=\"search\" placeholder=\"search keys, messages\"></div>\n<h2>Units</h2>\n";
  for (const auto& u : run.units) {
    out << "<section class=\"unit\" id=\"" << anchor(u.id) << "\"><h3><span class=\"badge " << to_string(u.worst()) << "\">"
        << to_string(u.worst()) << "</span> " << esc(u.id) << "</h3><p>" << esc(u.label.empty() ? u.group : u.label)
        << (u.checkpoint_sha256.empty() ? "" : " &middot; sha256 <code>" + esc(u.checkpoint_sha256.substr(0, 16)) + "</code>")
        << " &middot; " << seconds_text(u.seconds) << "</p>\n";
    for (const auto& c : u.cases) write_case(out, c);
    if (!u.worker_log.empty()) out << "<details><summary>worker output</summary><pre>" << esc(sanitize_capped(u.worker_log, kMaxDetailBytes)) << "</pre></details>";
    out << "</section>\n";
  }
  if (options.external_assets) {
    out << "<script src=\"report.js\"></script>\n";
  } else {
    out << "<script>\n" << html_report_js() << "</script>\n";
  }
  out << "</body></html>\n";
}

}  // namespace ckpt
