// How scenarios word their numbers (a fraction that misses never reads as 100%), and that the
// catalogue of scenarios and the worker's functions are one list.
#include <gtest/gtest.h>

#include <algorithm>

#include "results/scenarios.hpp"
#include "scenarios/case_text.hpp"
#include "scenarios/run_unit.hpp"

namespace ckpt::test {
namespace {

// The scenario catalogue (planning, filters, config checks) and the worker's functions are
// one list: a scenario added to one and not the other fails here, not in a run.
TEST(ScenarioCatalogue, EveryScenarioHasItsFunctionAndNoOther) {
  std::vector<std::string> catalogue = scenario_names(), runnable = runnable_scenarios();
  std::sort(catalogue.begin(), catalogue.end());
  std::sort(runnable.begin(), runnable.end());
  EXPECT_EQ(catalogue, runnable);
}

TEST(CaseText, PercentNeverRoundsAMissToAllOrNothing) {
  EXPECT_EQ(percent(1.0), "100.0%");
  EXPECT_EQ(percent(0.875), "87.5%");
  EXPECT_EQ(percent(0.0), "0.0%");
  EXPECT_EQ(percent(0.9996), "99.96%");     // an instance-norm checkpoint in a batch-norm model
  EXPECT_EQ(percent(0.9999996), "99.99996%");
  EXPECT_EQ(percent(0.00002), "0.002%");
}

TEST(CaseText, ThousandsSeparated) {
  EXPECT_EQ(with_thousands(1204), "1,204");
  EXPECT_EQ(with_thousands(12), "12");
}

}  // namespace
}  // namespace ckpt::test
