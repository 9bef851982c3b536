// The words of messages: counts, lists, and "did you mean".
#include <gtest/gtest.h>

#include <set>

#include "text/counted.hpp"
#include "text/edit_distance.hpp"
#include "text/suggest.hpp"

namespace ckpt::test {
namespace {

TEST(Text, CountsAgreeWithTheirNumber) {
  EXPECT_EQ(counted(1, "case"), "1 case");
  EXPECT_EQ(counted(0, "case"), "0 cases");
  EXPECT_EQ(counted(2, "size mismatch", "size mismatches"), "2 size mismatches");
}

TEST(Text, CommaListsShowEveryItemOrTheFirstFew) {
  EXPECT_EQ(comma_list(std::vector<std::string>{}), "");
  EXPECT_EQ(comma_list(std::vector<std::string>{"G_A"}), "G_A");
  EXPECT_EQ(comma_list(std::set<std::string>{"b", "a"}), "a, b");
  // An empty item still takes its place.
  EXPECT_EQ(comma_list(std::vector<std::string>{"", "x"}), ", x");
  const std::vector<int> dims{4, 3, 256};
  EXPECT_EQ(comma_list(dims, [](int d) { return std::to_string(d); }), "4, 3, 256");
  EXPECT_EQ(comma_list(dims, [](int d) { return std::to_string(d); }, 2), "4, 3, ...");
  EXPECT_EQ(comma_list(dims, [](int d) { return std::to_string(d); }, 3), "4, 3, 256");
  EXPECT_EQ(comma_list(dims, [](int d) { return std::to_string(d); }, 0), "...");
}

TEST(Text, DidYouMeanTakesOnlyTheNearestCloseWord) {
  EXPECT_EQ(edit_distance("strict-load", "strict-load"), 0u);
  EXPECT_EQ(edit_distance("strcit-load", "strict-load"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  const std::vector<std::string> scenarios{"strict-load", "relaxed-load", "shapes"};
  EXPECT_EQ(nearest_word("strcit-load", scenarios), "strict-load");
  EXPECT_EQ(nearest_word("shape", scenarios), "shapes");
  EXPECT_EQ(nearest_word("golden-output", scenarios), "") << "nothing is close enough to be a typo";
  EXPECT_EQ(join_words({"a", "b"}), "'a', 'b'");
  EXPECT_EQ(join_words({}), "");
}

}  // namespace
}  // namespace ckpt::test
