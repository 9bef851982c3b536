// The result model: its JSON (what merge reads back, and what a newer harness wrote), the
// verdict and the counts every report shows, and the error cases every part makes.
#include "results/result_model.hpp"

#include <gtest/gtest.h>

namespace ckpt::test {
namespace {

CaseResult case_with(Outcome outcome, bool stale = false) {
  CaseResult c;
  c.scenario = "strict-load";
  c.component = "generator";
  c.outcome = outcome;
  c.stale_expectation = stale;
  return c;
}

TEST(ResultModel, JsonRoundTrip) {
  RunResult run;
  run.environment.harness_version = "0.1.0";
  run.environment.jobs = 2;
  UnitResult u;
  u.id = "dcgan@1.0.0/a.pt";
  u.plugin = {"dcgan", "1.0.0", "/p.so"};
  u.checkpoint = "a.pt";
  CaseResult c;
  c.scenario = "strict-load";
  c.component = "generator";
  c.outcome = Outcome::kExpectedFail;
  c.message = "m";
  c.data = {{"missing", {"k"}}};
  c.stale_expectation = true;
  u.cases = {c};
  run.units = {u};
  const RunResult back = run_from_json(nlohmann::json::parse(to_json(run).dump()));
  ASSERT_EQ(back.units.size(), 1u);
  EXPECT_EQ(back.units[0].cases[0].outcome, Outcome::kExpectedFail);
  EXPECT_EQ(back.units[0].cases[0].data["missing"][0], "k");
  EXPECT_TRUE(back.units[0].cases[0].stale_expectation);
  EXPECT_EQ(back.environment.jobs, 2);
  EXPECT_EQ(to_json(run)["schema_version"], kResultsSchemaVersion);
  EXPECT_EQ(to_json(run)["totals"]["expected_failures"], 1);
}

// A results file says its schema version and is read only up to this harness's: one from a
// newer harness (merge of shards from mixed builds) is refused, saying which versions.
TEST(ResultModel, ResultsOfANewerSchemaVersionAreRefused) {
  nlohmann::json j = to_json(RunResult{});
  EXPECT_NO_THROW(run_from_json(j));
  j["schema_version"] = kResultsSchemaVersion + 1;
  try {
    run_from_json(j);
    ADD_FAILURE() << "read a newer schema version";
  } catch (const nlohmann::json::exception& e) {
    EXPECT_NE(std::string(e.what()).find("results schema version " + std::to_string(kResultsSchemaVersion + 1) +
                                         " is newer than this ckpt-harness reads (up to " +
                                         std::to_string(kResultsSchemaVersion) + ")"),
              std::string::npos)
        << e.what();
  }
  j.erase("schema_version");
  EXPECT_THROW(run_from_json(j), nlohmann::json::exception);
}

TEST(ResultModel, WorstIgnoresSkippedCases) {
  UnitResult u;
  EXPECT_EQ(u.worst(), Outcome::kSkipped);
  CaseResult pass, skip, expected;
  pass.outcome = Outcome::kPass;
  skip.outcome = Outcome::kSkipped;
  expected.outcome = Outcome::kExpectedFail;
  u.cases = {pass, skip};
  EXPECT_EQ(u.worst(), Outcome::kPass);
  u.cases.push_back(expected);
  EXPECT_EQ(u.worst(), Outcome::kExpectedFail);
}

TEST(ResultModel, UnitKindRoundTripsAndOlderResultsAreChecks) {
  UnitResult u;
  u.kind = UnitKind::kPluginFile;
  u.id = "plugin/x.so";
  nlohmann::json j = to_json(u);
  EXPECT_EQ(j.at("kind"), "plugin-file");
  EXPECT_EQ(unit_from_json(j).kind, UnitKind::kPluginFile);
  j.erase("kind");
  EXPECT_EQ(unit_from_json(j).kind, UnitKind::kCheck);
  j["kind"] = "chek";
  try {
    unit_from_json(j);
    ADD_FAILURE() << "an unknown kind was accepted";
  } catch (const nlohmann::json::exception& e) {
    EXPECT_NE(std::string(e.what()).find("unknown unit kind 'chek'"), std::string::npos) << e.what();
  }
}

// The verdict and the summary line: what the console, HTML, merge and JUnit all print.
TEST(ResultModel, TheVerdictFailsOnFailuresErrorsAndInterruptionsOnly) {
  RunResult run;
  UnitResult u;
  u.cases = {case_with(Outcome::kPass), case_with(Outcome::kExpectedFail, true), case_with(Outcome::kSkipped)};
  run.units = {u};
  EXPECT_TRUE(run.passed());
  EXPECT_EQ(run.summary(), "3 cases in 1 unit: 1 passed, 0 failed, 0 errors, 1 expected failures, 1 skipped");
  EXPECT_EQ(run.totals().stale, 1u);
  run.interrupted = true;
  EXPECT_FALSE(run.passed());
  run.interrupted = false;
  run.units[0].cases.push_back(case_with(Outcome::kFail));
  EXPECT_FALSE(run.passed());
  run.units[0].cases.back() = case_with(Outcome::kError);
  EXPECT_FALSE(run.passed());
  EXPECT_TRUE(run.totals().unexpected());
  run.units.push_back(u);
  EXPECT_EQ(run.summary(), "7 cases in 2 units: 2 passed, 0 failed, 1 errors, 2 expected failures, 2 skipped");
}

TEST(ResultModel, ErrorCasesAndUnitsCarryTheirWords) {
  const CaseResult c = error_case("golden-output", "generator", "could not read", "traceback");
  EXPECT_EQ(c.outcome, Outcome::kError);
  EXPECT_EQ(c.label(), "golden-output[generator]");
  EXPECT_EQ(c.details, "traceback");
  EXPECT_EQ(case_label("format", ""), "format");
  const UnitResult one_line = error_unit(UnitKind::kPluginFile, "plugin/x.so", "plugin-load", "refused: ABI 0");
  ASSERT_EQ(one_line.cases.size(), 1u);
  EXPECT_EQ(one_line.kind, UnitKind::kPluginFile);
  EXPECT_EQ(one_line.cases[0].message, "refused: ABI 0");
  EXPECT_EQ(one_line.cases[0].details, "");
  const UnitResult longer = error_unit(UnitKind::kPluginFile, "plugin/x.so", "plugin-load", "refused\nline two");
  EXPECT_EQ(longer.cases[0].message, "refused");
  EXPECT_EQ(longer.cases[0].details, "refused\nline two");
  EXPECT_EQ(seconds_text(0.4249), "0.42 s");
  EXPECT_EQ(seconds_text(12), "12.00 s");
}

}  // namespace
}  // namespace ckpt::test
