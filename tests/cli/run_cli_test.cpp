// `ckpt-harness run` end to end: the real executable, its workers and the dcgan plugins
// on fixtures written by Python's torch.save, checked through results.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/pickle_writer.hpp"
#include "support/report_masks.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"
#include "support/zip_builder.hpp"

namespace ckpt::test {
namespace {

using Json = nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

class RunCli : public TempDirTest {
 protected:
  CommandResult run(const std::string& args) {
    return run_command(std::string(CKPT_HARNESS_BIN) + " run " + args + " --report-dir " + report_dir() + " 2>&1");
  }
  // A config in the temp dir that names fixtures by absolute path.
  std::string config(const std::string& text) {
    const std::string path = (dir_ / "harness.toml").string();
    std::ofstream(path) << "[plugins.dcgan]\noptions = { nz = 16, ngf = 4, ndf = 4 }\n" << text;
    return path;
  }
  std::string report_dir() const { return (dir_ / "report").string(); }
  Json results() const {
    std::ifstream in(report_dir() + "/results.json");
    return Json::parse(in);
  }
  static const Json& unit(const Json& results, const std::string& id_suffix) {
    for (const auto& u : results["units"]) {
      const std::string id = u["id"];
      if (id.size() >= id_suffix.size() && id.compare(id.size() - id_suffix.size(), id_suffix.size(), id_suffix) == 0) return u;
    }
    static const Json none;
    ADD_FAILURE() << "no unit " << id_suffix;
    return none;
  }
  static std::string outcome(const Json& unit, const std::string& scenario, const std::string& component = "") {
    for (const auto& c : unit["cases"]) {
      if (c["scenario"] == scenario && c["component"] == component) return c["outcome"];
    }
    return "absent";
  }
  static const Json& case_of(const Json& unit, const std::string& scenario, const std::string& component = "") {
    for (const auto& c : unit["cases"]) {
      if (c["scenario"] == scenario && c["component"] == component) return c;
    }
    static const Json none;
    return none;
  }
  static std::string group(const std::string& name, const std::vector<std::string>& files, const std::string& extra = "") {
    std::string out = "[[checkpoints]]\nname = \"" + name + "\"\nplugins = [\"dcgan\"]\nfiles = [";
    for (const auto& f : files) out += "\"" + fixture(f) + "\", ";
    return out + "]\n" + extra;
  }
};

TEST_F(RunCli, DefaultConfigGivesTheExpectedMatrix) {
  const CommandResult r = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN +
                                      " run --report-dir " + report_dir() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "PASSED: every checkpoint behaves as expected")) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nfixtures/dcgan/v2/current\.pt +expected-fail +pass +\n)"))) << r.out;
  const Json j = results();
  EXPECT_EQ(j["schema"], "ckpt-harness.results");
  for (const char* schema : {"junit-ant-windyroad.xsd", "junit-10-jenkins-xunit.xsd"}) {
    const CommandResult valid = run_command("xmllint --noout --schema " + std::string(CKPT_SCHEMAS_DIR) + "/" + schema +
                                            " " + report_dir() + "/junit.xml 2>&1");
    EXPECT_EQ(valid.exit_code, 0) << schema << "\n" << valid.out;
  }
  std::ifstream page(report_dir() + "/report.html");
  const std::string html((std::istreambuf_iterator<char>(page)), {});
  EXPECT_TRUE(contains(html, "<h2>dcgan: checkpoints &times; plugin versions</h2>")) << html.substr(0, 2000);
  EXPECT_TRUE(contains(html, "<td class=\"cell expected-fail\"><a href=\"#u-dcgan-2-0-0-fixtures-dcgan-current-pt\">"));
  EXPECT_TRUE(contains(html, "<section class=\"unit\" id=\"u-dcgan-2-0-0-fixtures-dcgan-current-pt\">"));
  EXPECT_EQ(j["totals"]["failed"], 0);
  EXPECT_EQ(j["totals"]["errors"], 0);
  EXPECT_GT(j["totals"]["expected_failures"].get<int>(), 20);

  // Version 1 on its own checkpoint: every scenario runs and passes.
  const Json& v1 = unit(j, "dcgan@1.0.0/fixtures/dcgan/current.pt");
  for (const char* s : {"strict-load", "relaxed-load", "shapes", "dtypes", "eval-mode", "train-mode", "golden-output"}) {
    EXPECT_EQ(outcome(v1, s, "generator"), "pass") << s << "\n" << v1.dump(1);
    EXPECT_EQ(outcome(v1, s, "discriminator"), "pass") << s;
  }
  for (const char* s : {"format", "epoch-resume", "resume-determinism"}) EXPECT_EQ(outcome(v1, s), "pass") << s;
  EXPECT_EQ(outcome(v1, "optimizer-state", "generator_optimizer"), "pass");
  EXPECT_EQ(case_of(v1, "golden-output", "generator")["data"]["elements_outside"], 0);

  // Version 2 (a Dropout in the discriminator) on its own checkpoint: eval switches it off.
  const Json& v2 = unit(j, "dcgan@2.0.0/fixtures/dcgan/v2/current.pt");
  EXPECT_EQ(outcome(v2, "eval-mode", "discriminator"), "pass");
  EXPECT_EQ(outcome(v2, "epoch-resume"), "pass");  // epoch 1, one step per epoch, Adam at step 2
  EXPECT_EQ(case_of(v2, "epoch-resume")["data"]["resume_epoch"], 2);
  EXPECT_EQ(outcome(v2, "golden-output", "generator"), "pass");

  // Across versions: the declared incompatibilities, exactly.
  const Json& cross = unit(j, "dcgan@2.0.0/fixtures/dcgan/current.pt");
  EXPECT_EQ(outcome(cross, "strict-load", "discriminator"), "expected-fail");
  EXPECT_EQ(case_of(cross, "strict-load", "discriminator")["data"]["missing"], Json::array({"main.12.weight"}));
  EXPECT_EQ(outcome(cross, "relaxed-load", "discriminator"), "pass");  // 1 tensor of 20 missing
  EXPECT_EQ(outcome(cross, "optimizer-state", "discriminator_optimizer"), "pass");  // Dropout has no parameters
  EXPECT_EQ(outcome(cross, "eval-mode", "generator"), "skipped");
  EXPECT_EQ(outcome(cross, "golden-output", "generator"), "skipped");

  // The DataParallel checkpoint loads through its key rule; no optimizer is a warning.
  const Json& dp = unit(j, "dcgan@1.0.0/fixtures/dcgan/dataparallel.pt");
  EXPECT_EQ(outcome(dp, "strict-load", "generator"), "pass");
  EXPECT_TRUE(contains(case_of(dp, "strict-load", "generator")["details"], "^module\\.")) << dp.dump(1);
  const Json& no_opt = unit(j, "dcgan@1.0.0/fixtures/dcgan/no_optimizer.pt");
  EXPECT_EQ(outcome(no_opt, "optimizer-state", "generator_optimizer"), "pass");
  EXPECT_TRUE(case_of(no_opt, "optimizer-state", "generator_optimizer")["data"]["warning"].get<bool>());
  EXPECT_EQ(outcome(unit(j, "format-only/fixtures/namespace_args.pt"), "format"), "pass");  // accepted global
}

TEST_F(RunCli, ScenarioFailuresSayWhy) {
  // A truncated download and a checkpoint holding posix.system, beside good ones.
  const std::string truncated = (dir_ / "truncated.pt").string();
  {
    std::ifstream in(fixture("dcgan/current.pt"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const std::string cfg = config(
      "[scenarios]\ndtype_policy = \"exact\"\n" +
      group("strict", {"dcgan/no_optimizer.pt"}, "optimizer_state = \"required\"\n") +
      group("steps", {"dcgan/current.pt"}, "steps_per_epoch = 1\n") + group("types", {"dcgan/fp16.pt"}) +
      "[[checkpoints]]\nname = \"bad\"\nplugins = [\"dcgan@1.*\"]\nfiles = [\"" + truncated + "\"]\n" +
      "[[checkpoints]]\nname = \"evil\"\nfiles = [\"" + fixture("hostile/evil_system.pt") + "\"]\n");
  const CommandResult r = run("--config " + cfg + " --filter 'dcgan@1*:format-only*'");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& required = unit(j, "dcgan/no_optimizer.pt");
  EXPECT_EQ(outcome(required, "optimizer-state", "generator_optimizer"), "fail");
  EXPECT_TRUE(contains(case_of(required, "optimizer-state", "generator_optimizer")["message"], "'required'"));
  const Json& steps = unit(j, "dcgan/current.pt");
  EXPECT_EQ(outcome(steps, "epoch-resume"), "fail");
  EXPECT_TRUE(contains(case_of(steps, "epoch-resume")["message"],
                       "generator_optimizer has taken 2 step(s); 8 completed epoch(s) x 1 steps per epoch = 8"))
      << case_of(steps, "epoch-resume");
  const Json& types = unit(j, "dcgan/fp16.pt");
  EXPECT_EQ(outcome(types, "dtypes", "generator"), "fail");
  EXPECT_TRUE(contains(case_of(types, "dtypes", "generator")["details"], "checkpoint float16, model float32"));
  EXPECT_EQ(outcome(types, "strict-load", "generator"), "pass");  // PyTorch itself would cast
  const Json& bad = unit(j, "truncated.pt");
  EXPECT_EQ(outcome(bad, "format"), "fail");
  EXPECT_EQ(outcome(bad, "strict-load", "generator"), "skipped");
  const Json& evil = unit(j, "evil_system.pt");
  EXPECT_EQ(outcome(evil, "format"), "fail");
  EXPECT_TRUE(contains(case_of(evil, "format")["message"], "posix.system")) << evil.dump(1);
  EXPECT_TRUE(contains(r.out, "FAIL dcgan@1.0.0/")) << r.out;
}

TEST_F(RunCli, ExpectationsExactDifferentAndStale) {
  const std::string expectation =
      "[[expectations]]\nplugin = \"dcgan@2.*\"\nscenario = \"strict-load\"\ncomponent = \"discriminator\"\n"
      "missing = [\"main.12.weight\"]\nunexpected = [\"main.11.weight\"]\n"
      "[[expectations]]\nplugin = \"dcgan@2.*\"\nscenario = \"strict-load\"\ncomponent = \"generator\"\n"
      "missing = [\"main.0.weight\"]\n"
      "[[expectations]]\nplugin = \"dcgan@1.*\"\nscenario = \"shapes\"\ncomponent = \"generator\"\nreason = \"old\"\n";
  const std::string cfg = config(group("v1", {"dcgan/current.pt"}) + expectation);
  const CommandResult r = run("--config " + cfg + " --filter '*strict-load*:*shapes*'");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& v2 = unit(j, "dcgan@2.0.0/" + fixture("dcgan/current.pt"));
  EXPECT_EQ(outcome(v2, "strict-load", "discriminator"), "expected-fail");
  EXPECT_EQ(outcome(v2, "strict-load", "generator"), "fail");
  EXPECT_TRUE(contains(case_of(v2, "strict-load", "generator")["message"],
                       "fails differently than expected: missing keys differ: expected [main.0.weight], found []"));
  const Json& v1 = unit(j, "dcgan@1.0.0/" + fixture("dcgan/current.pt"));
  const Json& stale = case_of(v1, "shapes", "generator");
  EXPECT_EQ(stale["outcome"], "pass");
  EXPECT_TRUE(stale["stale_expectation"].get<bool>());
  EXPECT_TRUE(contains(r.out, "Expectations that no longer happen (1)")) << r.out;
  EXPECT_EQ(j["totals"]["stale_expectations"], 1);

  // --update-expectations writes today's failures as the baseline (leaving what inline
  // expectations cover to them); with the baseline the same run passes.
  const std::string plain = config(group("v1", {"dcgan/current.pt"}));
  const CommandResult update = run("--config " + plain + " --filter '*strict-load*:*shapes*' --update-expectations");
  EXPECT_EQ(update.exit_code, 1) << update.out;  // the run itself still had unexpected failures
  EXPECT_TRUE(contains(update.out, "expectations baseline written: ")) << update.out;
  const std::string baseline = (dir_ / "harness.expectations.toml").string();
  ASSERT_TRUE(std::filesystem::exists(baseline)) << update.out;
  const std::string cfg2 = config(group("v1", {"dcgan/current.pt"}) + "[run]\nexpectations_file = \"harness.expectations.toml\"\n");
  const CommandResult again = run("--config " + cfg2 + " --filter '*strict-load*:*shapes*'");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(results()["totals"]["expected_failures"], 3);  // strict-load x2 and shapes of the generator
}

TEST_F(RunCli, ListFilterShardAndNothingSelected) {
  const std::string cfg = config(group("v1", {"dcgan/current.pt", "dcgan/fp16.pt", "dcgan/batchnorm_v1.pt"}));
  const CommandResult list = run("--config " + cfg + " --list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_TRUE(contains(list.out, "6 unit(s), 114 case(s) of 6 unit(s) in the config")) << list.out;
  EXPECT_TRUE(contains(list.out, "  strict-load/generator\n")) << list.out;
  const CommandResult filtered = run("--config " + cfg + " --list --filter '*/strict-load/*:-*discriminator'");
  EXPECT_TRUE(contains(filtered.out, "6 unit(s), 6 case(s)")) << filtered.out;
  std::size_t units = 0;
  for (int k = 1; k <= 3; ++k) {
    const CommandResult shard = run("--config " + cfg + " --list --shard " + std::to_string(k) + "/3");
    const auto at = shard.out.rfind(" unit(s), ");
    const auto line = shard.out.rfind('\n', at);
    if (at != std::string::npos && shard.exit_code == 0) units += std::stoul(shard.out.substr(line + 1, at - line - 1));
  }
  EXPECT_EQ(units, 6u);
  const CommandResult none = run("--config " + cfg + " --filter 'nothing*'");
  EXPECT_EQ(none.exit_code, 3) << none.out;
  EXPECT_TRUE(contains(none.out, "nothing selected")) << none.out;
  const CommandResult bad_shard = run("--config " + cfg + " --shard 4/3");
  EXPECT_EQ(bad_shard.exit_code, 2) << bad_shard.out;
  EXPECT_TRUE(contains(bad_shard.out, "expected K/N with 1 <= K <= N")) << bad_shard.out;
}

TEST_F(RunCli, ConfigErrorsExitTwoWithTheirPlace) {
  const std::string unknown = config(group("v1", {"dcgan/current.pt"}) + "[plugins.dcgn]\noptions = { nz = 16 }\n");
  const CommandResult r = run("--config " + unknown);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "harness.toml:7:10: [plugins.dcgn]: no plugin named 'dcgn'")) << r.out;
  EXPECT_TRUE(contains(r.out, "did you mean 'dcgan'?")) << r.out;
  const std::string typo = config("[scenarios]\nrun = [\"golden\"]\n" + group("v1", {"dcgan/current.pt"}));
  const CommandResult t = run("--config " + typo);
  EXPECT_EQ(t.exit_code, 2) << t.out;
  EXPECT_TRUE(contains(t.out, "harness.toml:4:8: unknown scenario 'golden'")) << t.out;
  const CommandResult missing = run("--config " + (dir_ / "nope.toml").string());
  EXPECT_EQ(missing.exit_code, 2) << missing.out;
}

TEST_F(RunCli, AnUnwritableReportIsExitFourAndTheSummaryStands) {
  const std::string cfg = config(group("v1", {"dcgan/current.pt"}));
  std::ofstream((dir_ / "a-file").string()) << "x";
  const CommandResult r = run_command(std::string(CKPT_HARNESS_BIN) + " run --config " + cfg + " --filter '*format' --report-dir " +
                                      (dir_ / "a-file" / "sub").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_TRUE(contains(r.out, "error [report]: cannot write")) << r.out;
  EXPECT_TRUE(contains(r.out, "PASSED")) << r.out;
}

// Each behaviour scenario can fail: a plugin that loads its checkpoint and then breaks
// eval mode, train mode or determinism in one chosen way.
class BehaviourFailures : public RunCli, public ::testing::WithParamInterface<std::vector<std::string>> {};

TEST_P(BehaviourFailures, AreFoundAndExplained) {
  const std::string option = GetParam()[0], scenario = GetParam()[1], expected = GetParam()[2];
  const std::string path = (dir_ / "harness.toml").string();
  std::ofstream(path) << "[plugins]\npaths = [\"" << CKPT_TEST_MISBEHAVING << "\"]\n"
                      << "[plugins.misbehaving]\noptions = { " << (option.empty() ? "" : option + " = true") << " }\n"
                      << "[scenarios]\nrun = [\"strict-load\", \"eval-mode\", \"train-mode\", \"resume-determinism\"]\n"
                      << "[[checkpoints]]\nfiles = [\"" << fixture("cuda_location.pt") << "\"]\nplugins = [\"misbehaving\"]\n"
                      << "layout = \"state-dict\"\n";
  const CommandResult r = run("--config " + path);
  const Json j = results();
  const Json& u = j["units"][0];
  EXPECT_EQ(outcome(u, "strict-load", "net"), "pass") << u.dump(1);
  for (const char* s : {"eval-mode", "train-mode", "resume-determinism"}) {
    const std::string component = std::string(s) == "resume-determinism" ? "" : "net";
    const Json& c = case_of(u, s, component);
    if (s == scenario) {
      EXPECT_EQ(c["outcome"], "fail") << c.dump(1);
      EXPECT_TRUE(contains(c["message"], expected)) << c.dump(1);
    } else {
      EXPECT_EQ(c["outcome"], "pass") << c.dump(1);
    }
  }
  EXPECT_EQ(r.exit_code, scenario.empty() ? 0 : 1) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Plugin, BehaviourFailures,
    ::testing::Values(std::vector<std::string>{"", "", ""},
                      std::vector<std::string>{"dropout_in_eval", "eval-mode", "two forward passes on the same input differ"},
                      std::vector<std::string>{"batch_stats_in_eval", "eval-mode", "depends on the rest of its batch"},
                      std::vector<std::string>{"stuck_training", "eval-mode", "still trains after eval()"},
                      std::vector<std::string>{"stuck_eval", "train-mode", "does not train after train()"},
                      std::vector<std::string>{"nondeterministic", "resume-determinism", "tensors differ after resuming"}),
    [](const ::testing::TestParamInfo<std::vector<std::string>>& info) {
      return info.param[0].empty() ? std::string("well_behaved") : info.param[0];
    });

TEST_F(RunCli, GoldenOutputsThatDifferFail) {
  // The 1.x checkpoint with outputs recorded from the 2.x model: same inputs, other weights.
  std::filesystem::copy_file(fixture("dcgan/current.pt"), dir_ / "ckpt.pt");
  std::filesystem::copy_file(fixture("dcgan/v2/current.golden.pt"), dir_ / "ckpt.golden.pt");
  const std::string cfg = config("[scenarios]\nrun = [\"golden-output\"]\n[[checkpoints]]\nfiles = [\"ckpt.pt\"]\nplugins = [\"dcgan@1.*\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& u = j["units"][0];
  const Json& g = case_of(u, "golden-output", "generator");
  EXPECT_EQ(g["outcome"], "fail") << g.dump(1);
  EXPECT_TRUE(contains(g["message"], "outputs differ from the recorded ones")) << g.dump(1);
  EXPECT_GT(g["data"]["elements_outside"].get<int>(), 0);
  // Without a recorded file the scenario is skipped, saying where it looked.
  std::filesystem::remove(dir_ / "ckpt.golden.pt");
  run("--config " + cfg);
  const Json again = results();
  EXPECT_EQ(outcome(again["units"][0], "golden-output", "generator"), "skipped");
}

TEST_F(RunCli, ShardsMergeIntoTheUnsplitRun) {
  const std::string cfg = config(group("v1", {"dcgan/current.pt", "dcgan/fp16.pt", "dcgan/no_optimizer.pt", "dcgan/v2/current.pt"}) +
                                 "[scenarios]\nrun = [\"format\", \"strict-load\", \"shapes\"]\n");
  auto outcomes = [](const Json& results) {
    std::vector<std::string> rows;
    for (const auto& u : results["units"]) {
      for (const auto& c : u["cases"]) rows.push_back(u["id"].get<std::string>() + " " + c["scenario"].get<std::string>() + " " +
                                                      c["component"].get<std::string>() + " " + c["outcome"].get<std::string>());
    }
    return rows;
  };
  run("--config " + cfg);
  const Json whole = results();
  std::string inputs;
  for (int k = 1; k <= 3; ++k) {
    const std::string dir = (dir_ / ("shard" + std::to_string(k))).string();
    run_command(std::string(CKPT_HARNESS_BIN) + " run --config " + cfg + " --shard " + std::to_string(k) + "/3 --report-dir " +
                dir + " >/dev/null 2>&1");
    if (std::filesystem::exists(dir + "/results.json")) inputs += " " + dir + "/results.json";
  }
  const std::string merged = (dir_ / "merged").string();
  const CommandResult m = run_command(std::string(CKPT_HARNESS_BIN) + " merge" + inputs + " --out " + merged + " 2>&1");
  EXPECT_EQ(m.exit_code, 1) << m.out;  // the 2.x checkpoint fails on 1.x, as in the unsplit run
  std::ifstream in(merged + "/results.json");
  const Json joined = Json::parse(in);
  EXPECT_EQ(outcomes(joined), outcomes(whole));
  EXPECT_EQ(joined["totals"], whole["totals"]);
  // The reports themselves are the unsplit run's, times and hosts aside.
  auto text = [](const std::string& path) {
    std::ifstream file(path);
    return std::string((std::istreambuf_iterator<char>(file)), {});
  };
  EXPECT_EQ(mask_junit(text(merged + "/junit.xml")), mask_junit(text(report_dir() + "/junit.xml")));
  // ... and the page says, in one note, that it was merged.
  const std::string merged_page = masked(text(merged + "/report.html"), R"(<p class="note">merged from 3 result file\(s\) \(shards 1/3, 2/3, 3/3\)</p>\n)", "");
  EXPECT_EQ(mask_html(merged_page), mask_html(text(report_dir() + "/report.html")));
  const CommandResult valid = run_command("xmllint --noout --schema " + std::string(CKPT_SCHEMAS_DIR) +
                                          "/junit-ant-windyroad.xsd " + merged + "/junit.xml 2>&1");
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  const CommandResult twice = run_command(std::string(CKPT_HARNESS_BIN) + " merge" + inputs + inputs + " --out " + merged + " 2>&1");
  EXPECT_EQ(twice.exit_code, 2) << twice.out;
  EXPECT_TRUE(contains(twice.out, "the shards overlap")) << twice.out;
}

TEST_F(RunCli, DivergedLossesAndAnInsaneEpochFailEpochResume) {
  // {'epoch': -3, 'loss_g': nan, 'loss_d': 0.5}: written by the tests' pickle writer, as
  // torch.save would, since Python's own fixtures keep NaN out of the differential oracle.
  PickleWriter w;
  w.empty_dict();
  w.set_items(3, [&w](std::size_t i) {
    const char* keys[] = {"epoch", "loss_g", "loss_d"};
    w.str(keys[i]);
    if (i == 0) w.integer(-3);
    if (i == 1) w.real(std::numeric_limits<double>::quiet_NaN());
    if (i == 2) w.real(0.5);
  });
  std::ofstream((dir_ / "diverged.pt").string(), std::ios::binary) << torch_zip(w.finish(), {});
  const std::string cfg = config("[scenarios]\nrun = [\"epoch-resume\"]\n[[checkpoints]]\nfiles = [\"diverged.pt\"]\nplugins = [\"dcgan@1.*\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& c = case_of(j["units"][0], "epoch-resume");
  EXPECT_EQ(c["outcome"], "fail") << c.dump(1);
  EXPECT_TRUE(contains(c["details"], "epoch -3 is out of range")) << c.dump(1);
  EXPECT_TRUE(contains(c["details"], "loss_g is nan: training had diverged")) << c.dump(1);
}

}  // namespace
}  // namespace ckpt::test
