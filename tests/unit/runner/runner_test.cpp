// The supervisor's pure parts: filters and shards, expectations, the plan, the log tail.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "runner/case_filter.hpp"
#include "runner/expectations.hpp"
#include "runner/log_tail.hpp"
#include "runner/run_plan.hpp"
#include "support/temp_dir.hpp"

namespace ckpt::test {
namespace {

TEST(CaseFilter, GtestGrammar) {
  const CaseFilter all("");
  EXPECT_TRUE(all.selects("dcgan@1.0.0/a.pt/format"));
  const CaseFilter positive("*strict-load*:*shapes*");
  EXPECT_TRUE(positive.selects("dcgan@1.0.0/a.pt/strict-load/generator"));
  EXPECT_TRUE(positive.selects("dcgan@1.0.0/a.pt/shapes/generator"));
  EXPECT_FALSE(positive.selects("dcgan@1.0.0/a.pt/format"));
  const CaseFilter negative("-*discriminator*");
  EXPECT_TRUE(negative.selects("dcgan@1.0.0/a.pt/strict-load/generator"));
  EXPECT_FALSE(negative.selects("dcgan@1.0.0/a.pt/strict-load/discriminator"));
  const CaseFilter both("dcgan@2*:-*optimizer*");
  EXPECT_TRUE(both.selects("dcgan@2.0.0/a.pt/strict-load/generator"));
  EXPECT_FALSE(both.selects("dcgan@2.0.0/a.pt/optimizer-state/generator_optimizer"));
  EXPECT_FALSE(both.selects("dcgan@1.0.0/a.pt/strict-load/generator"));
}

TEST(Shard, SplitsStablyAndCompletely) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back("dcgan@1.0.0/runs/ckpt_" + std::to_string(i) + ".pt");
  std::set<std::string> seen;
  std::size_t smallest = ids.size();
  for (std::uint32_t k = 1; k <= 4; ++k) {
    std::size_t n = 0;
    for (const auto& id : ids) {
      if (Shard{k, 4}.selects(id)) {
        EXPECT_TRUE(seen.insert(id).second) << id << " in two shards";
        ++n;
      }
    }
    smallest = std::min(smallest, n);
  }
  EXPECT_EQ(seen.size(), ids.size());
  EXPECT_GT(smallest, 25u);  // roughly even
  // A unit's shard depends on its id alone.
  EXPECT_EQ(stable_hash(""), 14695981039346656037ull);  // FNV-1a 64: its offset basis
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(parse_shard("2/4").index, 2u);
  for (const char* bad : {"0/4", "5/4", "2", "a/b", "2/0", "1/4x"}) {
    EXPECT_THROW(parse_shard(bad), std::invalid_argument) << bad;
  }
}

TEST(LogTail, KeepsTheEndAndCountsTheRest) {
  LogTail tail(10);
  tail.append("hello ", 6);
  tail.append("world\nbye\n", 10);
  EXPECT_EQ(tail.total(), 16u);
  EXPECT_EQ(tail.text(), "[6 earlier bytes dropped]\nworld\nbye\n");
  EXPECT_EQ(tail.last_lines(1), "bye\n");
  tail.append(std::string(100, 'x').data(), 100);
  EXPECT_EQ(tail.text().substr(tail.text().size() - 10), std::string(10, 'x'));
}

CaseResult failing_case(const std::string& scenario, const std::string& component, std::vector<std::string> missing) {
  CaseResult c;
  c.scenario = scenario;
  c.component = component;
  c.outcome = Outcome::kFail;
  c.message = "does not load strictly";
  c.data = {{"missing", missing}, {"unexpected", nlohmann::json::array()}};
  return c;
}

class ExpectationsTest : public TempDirTest {
 protected:
  HarnessConfig config_with(const std::string& expectations) {
    const std::string path = (dir_ / "h.toml").string();
    std::ofstream(path) << "[[checkpoints]]\nfiles = [\"a.pt\"]\n" << expectations;
    return load_config(path);
  }
  UnitResult unit(const std::string& version, std::vector<CaseResult> cases) {
    UnitResult u;
    u.plugin = {"dcgan", version, "dcgan.so"};
    u.checkpoint = "old/a.pt";
    u.id = "dcgan@" + version + "/old/a.pt";
    u.cases = std::move(cases);
    return u;
  }
};

const char* kDeclared =
    "[[expectations]]\nplugin = \"dcgan@2.*\"\ncheckpoints = [\"old/*.pt\"]\nscenario = \"strict-load\"\n"
    "component = \"generator\"\nmissing = [\"main.0.weight\"]\nunexpected = []\nreason = \"widened\"\n";

TEST_F(ExpectationsTest, ExactDifferentAndStale) {
  const HarnessConfig config = config_with(kDeclared);
  UnitResult u = unit("2.0.0", {failing_case("strict-load", "generator", {"main.0.weight"}),
                                failing_case("strict-load", "discriminator", {"x"})});
  apply_expectations(config, u);
  EXPECT_EQ(u.cases[0].outcome, Outcome::kExpectedFail);
  EXPECT_NE(u.cases[0].expectation.find("as declared at " + (dir_ / "h.toml").string() + ":3 (widened)"), std::string::npos)
      << u.cases[0].expectation;
  EXPECT_EQ(u.cases[1].outcome, Outcome::kFail);  // no expectation for this component

  UnitResult different = unit("2.1.0", {failing_case("strict-load", "generator", {"main.0.weight", "main.1.weight"})});
  apply_expectations(config, different);
  EXPECT_EQ(different.cases[0].outcome, Outcome::kFail);
  EXPECT_NE(different.cases[0].message.find("missing keys differ: expected [main.0.weight], found [main.0.weight, main.1.weight]"),
            std::string::npos)
      << different.cases[0].message;

  CaseResult passing = failing_case("strict-load", "generator", {});
  passing.outcome = Outcome::kPass;
  UnitResult stale = unit("2.0.0", {passing});
  apply_expectations(config, stale);
  EXPECT_EQ(stale.cases[0].outcome, Outcome::kPass);
  EXPECT_TRUE(stale.cases[0].stale_expectation);

  UnitResult other_version = unit("1.0.0", {failing_case("strict-load", "generator", {"main.0.weight"})});
  apply_expectations(config, other_version);
  EXPECT_EQ(other_version.cases[0].outcome, Outcome::kFail);
}

TEST_F(ExpectationsTest, StaleCanFailTheRunAndCheckpointGlobsStayInTheirDirectory) {
  HarnessConfig config = config_with(std::string("[run]\nfail_on_stale_expectations = true\n") + kDeclared);
  CaseResult passing = failing_case("strict-load", "generator", {});
  passing.outcome = Outcome::kPass;
  UnitResult stale = unit("2.0.0", {passing});
  apply_expectations(config, stale);
  EXPECT_EQ(stale.cases[0].outcome, Outcome::kFail);

  UnitResult deeper = unit("2.0.0", {failing_case("strict-load", "generator", {"main.0.weight"})});
  deeper.checkpoint = "old/sub/a.pt";
  apply_expectations(config, deeper);
  EXPECT_EQ(deeper.cases[0].outcome, Outcome::kFail);  // 'old/*.pt' does not reach old/sub/
}

TEST_F(ExpectationsTest, BaselineRoundTrips) {
  const HarnessConfig config = config_with("");
  UnitResult u = unit("2.0.0", {failing_case("strict-load", "generator", {"main.0.weight", "a \"quoted\" key"})});
  const std::string baseline = expectations_baseline(config, {u});
  const std::string path = (dir_ / "baseline.toml").string();
  std::ofstream(path) << baseline;
  const HarnessConfig with = config_with("[run]\nexpectations_file = \"baseline.toml\"\n");
  ASSERT_EQ(with.expectations.size(), 1u) << baseline;
  apply_expectations(with, u);
  EXPECT_EQ(u.cases[0].outcome, Outcome::kExpectedFail) << baseline;
}

class PlanTest : public TempDirTest {
 protected:
  HarnessConfig config_with(const std::string& text) {
    for (const char* f : {"old/a.pt", "old/b.pt", "new/c.pt"}) {
      std::filesystem::create_directories((dir_ / f).parent_path());
      std::ofstream((dir_ / f).string()) << "x";
    }
    const std::string path = (dir_ / "h.toml").string();
    std::ofstream(path) << text;
    return load_config(path);
  }
  std::vector<DescribedPlugin> plugins_ = {
      {"/p/dcgan_v2.so", "dcgan", "2.0.0", "", {"generator", "discriminator"}, {"generator_optimizer"}, {{"nz", "16"}}},
      {"/p/dcgan_v1.so", "dcgan", "1.0.0", "", {"generator", "discriminator"}, {"generator_optimizer"}, {}},
      {"/p/other.so", "other", "0.1", "", {"net"}, {}, {}}};
};

TEST_F(PlanTest, UnitsPerPluginVersionAndCasesPerComponent) {
  const HarnessConfig config = config_with(
      "[scenarios]\nrun = [\"format\", \"strict-load\", \"optimizer-state\", \"epoch-resume\"]\n"
      "[[checkpoints]]\nfiles = [\"old/*.pt\"]\nplugins = [\"dcgan\"]\nlabel = \"1.x\"\n"
      "[[checkpoints]]\nfiles = [\"new/*.pt\"]\n");
  check_plugin_references(config, plugins_);
  const RunPlan plan = plan_run(config, plugins_, CaseFilter(""), Shard{});
  ASSERT_EQ(plan.units.size(), 5u);
  EXPECT_EQ(plan.units[0].result.id, "dcgan@1.0.0/old/a.pt");  // versions in order
  EXPECT_EQ(plan.units[1].result.id, "dcgan@2.0.0/old/a.pt");
  EXPECT_EQ(plan.units[0].result.label, "1.x");
  EXPECT_EQ(plan.units[4].result.id, "format-only/new/c.pt");
  const auto& cases = plan.units[0].request.cases;
  ASSERT_EQ(cases.size(), 5u);  // format, strict-load x2, optimizer-state, epoch-resume
  EXPECT_EQ(cases[1].scenario, "strict-load");
  EXPECT_EQ(cases[1].component, "generator");
  EXPECT_EQ(cases[3].component, "generator_optimizer");
  EXPECT_EQ(plan.units[4].request.cases.size(), 1u);  // format only
  EXPECT_EQ(plan.units[1].request.options, (std::map<std::string, std::string>{{"nz", "16"}}));  // the plugin's own
  EXPECT_TRUE(plan.units[0].request.options.empty());
  EXPECT_EQ(plan.cases, 4 * 5u + 1);

  const RunPlan filtered = plan_run(config, plugins_, CaseFilter("*@2*/*strict-load*"), Shard{});
  ASSERT_EQ(filtered.units.size(), 2u);
  EXPECT_EQ(filtered.cases, 4u);
  std::size_t sharded = 0;
  for (std::uint32_t k = 1; k <= 3; ++k) sharded += plan_run(config, plugins_, CaseFilter(""), Shard{k, 3}).units.size();
  EXPECT_EQ(sharded, 5u);
}

TEST_F(PlanTest, UnknownPluginsAreConfigErrorsAtTheirPlace) {
  auto error_of = [&](const std::string& text) {
    try {
      check_plugin_references(config_with(text), plugins_);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string typo = error_of("[[checkpoints]]\nfiles = [\"old/*.pt\"]\nplugins = [\"dcgn\"]\n");
  EXPECT_NE(typo.find(":3:12: [[checkpoints]] 'checkpoints[0]' plugins: no plugin matches 'dcgn' (found: "
                      "dcgan@2.0.0, dcgan@1.0.0, other@0.1); did you mean 'dcgan'?"),
            std::string::npos)
      << typo;
  EXPECT_NE(error_of("[[checkpoints]]\nfiles = [\"old/*.pt\"]\nplugins = [\"dcgan@3.*\"]\n").find("no plugin matches 'dcgan@3.*'"),
            std::string::npos);
  const std::string options = error_of("[[checkpoints]]\nfiles = [\"old/*.pt\"]\n[plugins.dcgn]\noptions = {}\n");
  EXPECT_NE(options.find(":3:10: [plugins.dcgn]: no plugin named 'dcgn'"), std::string::npos) << options;
}

}  // namespace
}  // namespace ckpt::test
