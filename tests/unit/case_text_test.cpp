// How scenarios word their numbers: a fraction that misses never reads as 100%.
#include <gtest/gtest.h>

#include "scenarios/case_text.hpp"

namespace ckpt::test {
namespace {

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
