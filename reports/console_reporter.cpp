#include "reports/console_reporter.hpp"
#include "reports/text_sanitizer.hpp"
#include "reports/version_matrix.hpp"
#include "text/counted.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace ckpt {

namespace {
std::string upper(const char* text) {
  std::string s = text;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}


std::string pad(const std::string& s, std::size_t width) { return s.size() >= width ? s : s + std::string(width - s.size(), ' '); }


bool notable(const CaseResult& c) { return c.outcome == Outcome::kFail || c.outcome == Outcome::kError; }

// What would fix the case, when a scenario knows (a key rule for a prefix, a rename, a norm
// change): the console shows it under the failure, as diff and the reports do.
std::string hint_of(const CaseResult& c) {
  if (!c.data.is_object()) return "";
  const auto hint = c.data.find("hint");
  return hint != c.data.end() && hint->is_string() ? hint->get<std::string>() : "";
}
}  // namespace

ConsoleReporter::ConsoleReporter(std::ostream& out, bool terminal, bool verbose)
    : out_(out), terminal_(terminal), verbose_(verbose), colour_(terminal && std::getenv("NO_COLOR") == nullptr) {}

std::string ConsoleReporter::painted(Outcome outcome, const std::string& text) const {
  if (!colour_) return text;
  const char* code = outcome == Outcome::kPass           ? "32"
                     : outcome == Outcome::kExpectedFail ? "36"
                     : outcome == Outcome::kSkipped      ? "33"
                                                         : "1;31";
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

void ConsoleReporter::on_run_start(const Environment& e, std::size_t units, std::size_t cases) {
  out_ << "ckpt-harness " << e.harness_version << ": " << units << " unit(s), " << cases << " case(s), " << e.jobs
       << " worker(s)" << (e.shard.empty() ? "" : ", shard " + e.shard) << (e.filter.empty() ? "" : ", filter " + e.filter)
       << "\n";
  out_.flush();
}

void ConsoleReporter::on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) {
  const std::string counter = "[" + std::to_string(done) + "/" + std::to_string(total) + "]";
  const Outcome worst = unit.worst();
  if (terminal_ && !notable_unit(unit) && !verbose_) {
    out_ << "\r\033[K" << counter << " " << painted(worst, to_string(worst)) << "  " << one_line(unit.id) << std::flush;
    if (done == total) out_ << "\r\033[K";
    return;
  }
  if (terminal_) out_ << "\r\033[K";
  out_ << counter << " " << painted(worst, pad(upper(to_string(worst)), 13)) << " " << one_line(unit.id) << " (" << counted(unit.cases.size(), "case") << ", "
       << seconds_text(unit.seconds) << ")\n";
  std::set<std::string> hinted;  // a hint shared by the unit's cases (strict and relaxed, G and D) once
  for (const auto& c : unit.cases) {
    if (notable(c) || verbose_) {
      out_ << "    " << painted(c.outcome, pad(to_string(c.outcome), 13)) << " " << one_line(c.label()) << ": "
           << console_line(c.message) << "\n";
      const std::string hint = hint_of(c);
      if (notable(c) && !hint.empty() && hinted.insert(hint).second) out_ << "                  hint: " << console_line(hint) << "\n";
    }
  }
  out_.flush();
}

bool ConsoleReporter::notable_unit(const UnitResult& unit) {
  for (const auto& c : unit.cases) {
    if (notable(c)) return true;
  }
  return false;
}

void write_console_matrix(const RunResult& run, std::ostream& out) {
  for (const VersionMatrix& m : version_matrices(run)) {
    const std::string corner = m.plugin + " (checkpoint \\ plugin version)";
    std::size_t width = corner.size() + 2;
    for (const auto& c : m.checkpoints) width = std::max(width, one_line(c).size() + 2);
    // Rows without trailing blanks: logs and copied tables stay clean.
    auto row = [&out, width](const std::string& first, const std::vector<std::string>& cells) {
      std::string line = pad(one_line(first), width);
      for (const auto& text : cells) line += pad(text, 15);
      line.erase(line.find_last_not_of(' ') + 1);
      out << line << "\n";
    };
    out << "\n";
    row(corner, m.versions);
    for (const auto& c : m.checkpoints) {
      std::vector<std::string> cells;
      for (const auto& v : m.versions) {
        const UnitResult* u = m.at(c, v);
        cells.push_back(u ? to_string(u->worst()) : "-");
      }
      row(c, cells);
    }
  }
}

void ConsoleReporter::on_run_end(const RunResult& run) {
  write_console_matrix(run, out_);
  std::vector<std::string> failures, stale;
  for (const auto& u : run.units) {
    std::set<std::string> hinted;
    for (const auto& c : u.cases) {
      if (notable(c)) {
        failures.push_back(std::string(upper(to_string(c.outcome))) + " " + c.id(u.id) + ": " + c.message);
        const std::string hint = hint_of(c);
        if (!hint.empty() && hinted.insert(hint).second) failures.back() += "\nhint: " + hint;
      }
      if (c.stale_expectation) stale.push_back(c.id(u.id) + ": " + c.expectation);
    }
  }
  if (!failures.empty()) {
    out_ << "\nUnexpected failures and errors (" << failures.size() << "):\n";
    for (const auto& f : failures) out_ << "  " << console_line(f) << "\n";
  }
  if (!stale.empty()) {
    out_ << "\nExpectations that no longer happen (" << stale.size() << "), tighten the baseline:\n";
    for (const auto& s : stale) out_ << "  " << console_line(s) << "\n";
  }
  for (const auto& n : run.notes) out_ << "note: " << console_line(n) << "\n";
  out_ << "\n" << run.summary() << " (" << seconds_text(run.seconds) << ")" << (run.interrupted ? " INTERRUPTED" : "") << "\n";
  out_ << (run.passed() ? painted(Outcome::kPass, "PASSED: every checkpoint behaves as expected")
                  : painted(Outcome::kFail, "FAILED: see the cases above"))
       << "\n";
  out_.flush();
}

}  // namespace ckpt
