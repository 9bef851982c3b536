// Approval tests: each writer's output for a real run's results (tests/approval/input)
// equals its golden file in tests/approval/, with durations, timestamps and the host
// masked. A change to a writer shows here as a diff to review; after review,
// CKPT_UPDATE_GOLDEN=1 ctest -R approval rewrites the golden files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/console_reporter.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit_report.hpp"
#include "support/report_masks.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/text_helpers.hpp"

namespace ckpt::test {
namespace {

const std::string kApprovalDir = CKPT_APPROVAL_DIR;


RunResult approval_run() {
  std::ifstream in(kApprovalDir + "/input/results.json");
  return run_from_json(nlohmann::json::parse(in));
}

class ReportApproval : public TempDirTest {
 protected:
  void approve(const std::string& golden_name, const std::string& actual) {
    const std::string golden = kApprovalDir + "/" + golden_name;
    if (std::getenv("CKPT_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(golden, std::ios::binary) << actual;
      GTEST_SKIP() << "rewrote " << golden;
    }
    const std::string expected = file_bytes(golden);
    if (actual == expected) return;
    const std::string actual_path = (dir_ / golden_name).string();
    std::ofstream(actual_path, std::ios::binary) << actual;
    const CommandResult diff = run_command("diff -u " + golden + " " + actual_path + " | head -80");
    ADD_FAILURE() << golden_name << " differs from its golden file (review, then CKPT_UPDATE_GOLDEN=1 ctest -R approval):\n"
                  << diff.out;
  }
};

TEST_F(ReportApproval, JUnit) {
  std::ostringstream out;
  write_junit_report(approval_run(), out);
  approve("junit.xml", mask_junit(out.str()));
}

TEST_F(ReportApproval, Html) {
  std::ostringstream out;
  write_html_report(approval_run(), out);
  approve("report.html", mask_html(out.str()));
}

TEST_F(ReportApproval, HtmlWithAssetsBeside) {
  std::ostringstream out;
  write_html_report(approval_run(), out, HtmlOptions{true});
  approve("report-assets-beside.html", mask_html(out.str()));
}

TEST_F(ReportApproval, Json) {
  std::ostringstream out;
  write_json_report(approval_run(), out);
  approve("results.json", mask_json(out.str()));
}

TEST_F(ReportApproval, Console) {
  const RunResult run = approval_run();
  std::ostringstream out;
  ConsoleReporter console(out, /*terminal=*/false);
  console.on_run_start(run.environment, run.units.size(), run.totals().cases);
  for (std::size_t i = 0; i < run.units.size(); ++i) console.on_unit_end(run.units[i], i + 1, run.units.size());
  console.on_run_end(run);
  approve("console.txt", mask_console(out.str()));
}

// The masks hide only what changes between runs: a changed outcome still shows.
TEST(ReportMasks, HideTimesAndHostsButNotResults) {
  EXPECT_EQ(mask_junit(R"(<testcase name="a" time="0.125" hostname="vm" timestamp="2026-01-01T00:00:00"/>)"),
            R"(<testcase name="a" time="*" hostname="*" timestamp="*"/>)");
  EXPECT_EQ(mask_json(R"({"seconds": 1.5e-05, "outcome": "pass", "hostname": "vm"})"),
            R"({"seconds": "*", "outcome": "pass", "hostname": "*"})");
  EXPECT_EQ(mask_html("took 0.17 s, host vm, started 2026-11-28T19:11:55Z, 3 cases"),
            "took * s, host *, started *, 3 cases");
  EXPECT_EQ(mask_console("[1/4] PASS x (19 cases, 0.17 s)"), "[1/4] PASS x (19 cases, * s)");
  EXPECT_NE(mask_json(R"({"outcome": "pass"})"), mask_json(R"({"outcome": "fail"})"));
}

}  // namespace
}  // namespace ckpt::test
