// `ckpt-harness run` end to end: the real executable, its workers and the dcgan plugins
// on fixtures written by Python's torch.save, checked through results.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <unistd.h>
#include <set>
#include <utility>

#include "support/pickle_writer.hpp"
#include "support/report_masks.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"
#include "support/text_helpers.hpp"
#include "support/zip_builder.hpp"

namespace ckpt::test {
namespace {

using Json = nlohmann::json;


// The configs of these tests lie in temporary directories and name the fixtures and the
// test plugins where they are.
const std::string kAllowTestPaths = " --allow-path " + std::string(CKPT_FIXTURES_DIR) + " --allow-path " +
                                    std::filesystem::path(CKPT_TEST_MISBEHAVING).parent_path().string();

class RunCli : public TempDirTest {
 protected:
  CommandResult run(const std::string& args) {
    return run_command(std::string(CKPT_HARNESS_BIN) + " run " + args + kAllowTestPaths + " --report-dir " + report_dir() + " 2>&1");
  }
  // A config in the temp dir that names fixtures by absolute path.
  std::string config(const std::string& text) {
    const std::string path = (dir_ / "harness.toml").string();
    std::ofstream(path) << "[plugins.dcgan]\noptions = { nz = 16, ngf = 4, ndf = 4 }\n" << text;
    return path;
  }
  // The same for the cyclegan plugins at the sizes of fixtures/cyclegan/.
  std::string cyclegan_config(const std::string& text) {
    const std::string path = (dir_ / "harness.toml").string();
    std::ofstream(path) << "[plugins.cyclegan]\noptions = { ngf = 2, ndf = 2, image_size = 32 }\n" << text;
    return path;
  }
  // fixtures/cyclegan/v1/split's save_networks files, copied into `to` as <prefix>_net_<module>.pth.
  void copy_net_files(const std::filesystem::path& to, const std::string& prefix, const std::vector<std::string>& modules) {
    std::filesystem::create_directories(to);
    for (const auto& m : modules) {
      std::filesystem::copy_file(fixture("cyclegan/v1/split/latest_net_" + m + ".pth"), to / (prefix + "_net_" + m + ".pth"));
    }
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
  // The default config's run (the README's main job), once per test process: several tests
  // read it.
  struct DefaultRun {
    CommandResult result;
    Json results;
    std::filesystem::path dir;
    ~DefaultRun() { std::filesystem::remove_all(dir); }
  };
  static const DefaultRun& default_run() {
    static const DefaultRun run = [] {
      DefaultRun r;
      r.dir = std::filesystem::temp_directory_path() / ("ckpt-default-run-" + std::to_string(::getpid()));
      r.result = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN + " run --report-dir " +
                             r.dir.string() + " 2>&1");
      std::ifstream in(r.dir / "results.json");
      r.results = in ? Json::parse(in) : Json::object();
      return r;
    }();
    return run;
  }
  static std::string group(const std::string& name, const std::vector<std::string>& files, const std::string& extra = "") {
    std::string out = "[[checkpoints]]\nname = \"" + name + "\"\nplugins = [\"dcgan\"]\nfiles = [";
    for (const auto& f : files) out += "\"" + fixture(f) + "\", ";
    return out + "]\n" + extra;
  }
};

// The default config (the README's main job) passes, with a matrix per model in the console
// and reports that the JUnit schemas accept.
TEST_F(RunCli, DefaultConfigPassesWithValidReports) {
  const DefaultRun& d = default_run();
  const CommandResult& r = d.result;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "PASSED: every checkpoint behaves as expected")) << r.out;
  // Each dcgan version (columns 1.0.0, 2.0.0, 3.0.0) passes on its own checkpoints only.
  for (const char* row : {R"(current\.pt +pass +expected-fail +expected-fail *\n)",
                          R"(v2/current\.pt +expected-fail +pass +expected-fail *\n)",
                          R"(v3/current\.pt +expected-fail +expected-fail +pass *\n)"}) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string(R"(\nfixtures/dcgan/)") + row))) << row << "\n" << r.out;
  }
  const Json& j = d.results;
  EXPECT_EQ(j["schema"], "ckpt-harness.results");
  for (const char* schema : {"junit-ant-windyroad.xsd", "junit-10-jenkins-xunit.xsd"}) {
    const CommandResult valid = run_command("xmllint --noout --schema " + std::string(CKPT_JUNIT_XSD_DIR) + "/" + schema +
                                            " " + (d.dir / "junit.xml").string() + " 2>&1");
    EXPECT_EQ(valid.exit_code, 0) << schema << "\n" << valid.out;
  }
  const std::string html = file_bytes((d.dir / "report.html").string());
  EXPECT_TRUE(contains(html, "<h2>dcgan: checkpoints &times; plugin versions</h2>")) << html.substr(0, 2000);
  EXPECT_TRUE(contains(html, "<td class=\"cell expected-fail\"><a href=\"#u-dcgan-2-0-0-fixtures-dcgan-current-pt\">"));
  EXPECT_TRUE(contains(html, "<section class=\"unit\" id=\"u-dcgan-2-0-0-fixtures-dcgan-current-pt\">"));
  EXPECT_EQ(j["totals"]["failed"], 0);
  EXPECT_EQ(j["totals"]["errors"], 0);
  EXPECT_GT(j["totals"]["expected_failures"].get<int>(), 20);
}

// Each dcgan version on its own checkpoint.
TEST_F(RunCli, DefaultConfigVersionsPassOnTheirOwnCheckpoints) {
  const Json& j = default_run().results;
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

  // Version 3 (the discriminator's last conv split out of `main` into `head`) on its own
  // checkpoint: every scenario runs and passes, nothing skipped.
  const Json& v3 = unit(j, "dcgan@3.0.0/fixtures/dcgan/v3/current.pt");
  for (const auto& c : v3["cases"]) EXPECT_EQ(c["outcome"], "pass") << c.dump(1);
  for (const char* s : {"strict-load", "relaxed-load", "shapes", "dtypes", "eval-mode", "train-mode", "golden-output"}) {
    for (const char* m : {"generator", "discriminator"}) EXPECT_EQ(outcome(v3, s, m), "pass") << s << " " << m;
  }
  for (const char* o : {"generator_optimizer", "discriminator_optimizer"}) EXPECT_EQ(outcome(v3, "optimizer-state", o), "pass") << o;
  for (const char* s : {"format", "epoch-resume", "resume-determinism"}) EXPECT_EQ(outcome(v3, s), "pass") << s;
  EXPECT_EQ(case_of(v3, "epoch-resume")["data"]["resume_epoch"], 2);
  EXPECT_EQ(case_of(v3, "golden-output", "discriminator")["data"]["elements_outside"], 0);
}

// Across versions: the declared incompatibilities, exactly.
TEST_F(RunCli, DefaultConfigCrossVersionDifferencesAreTheDeclaredOnes) {
  const Json& j = default_run().results;
  const Json& cross = unit(j, "dcgan@2.0.0/fixtures/dcgan/current.pt");
  EXPECT_EQ(outcome(cross, "strict-load", "discriminator"), "expected-fail");
  EXPECT_EQ(case_of(cross, "strict-load", "discriminator")["data"]["missing"], Json::array({"main.12.weight"}));
  EXPECT_EQ(outcome(cross, "relaxed-load", "discriminator"), "pass");  // 1 tensor of 20 missing
  EXPECT_EQ(outcome(cross, "optimizer-state", "discriminator_optimizer"), "pass");  // Dropout has no parameters
  EXPECT_EQ(outcome(cross, "eval-mode", "generator"), "skipped");
  EXPECT_EQ(outcome(cross, "golden-output", "generator"), "skipped");

  // 3.0 on the 2.x checkpoint: only the renamed key (main.12.weight -> head.weight); the
  // generator is 2.0's, and the parameter order is unchanged, so Adam's state still fits.
  const Json& renamed = unit(j, "dcgan@3.0.0/fixtures/dcgan/v2/current.pt");
  const Json& head = case_of(renamed, "strict-load", "discriminator");
  EXPECT_EQ(head["outcome"], "expected-fail") << head.dump(1);
  EXPECT_EQ(head["data"]["missing"], Json::array({"head.weight"})) << head.dump(1);
  EXPECT_EQ(head["data"]["unexpected"], Json::array({"main.12.weight"})) << head.dump(1);
  EXPECT_EQ(head["data"]["shape_mismatches"], Json::array()) << head.dump(1);
  EXPECT_TRUE(contains(head["expectation"], "renamed key")) << head.dump(1);
  EXPECT_EQ(outcome(renamed, "strict-load", "generator"), "pass");
  EXPECT_EQ(outcome(renamed, "relaxed-load", "discriminator"), "pass");
  for (const char* o : {"generator_optimizer", "discriminator_optimizer"}) EXPECT_EQ(outcome(renamed, "optimizer-state", o), "pass") << o;
  EXPECT_EQ(outcome(renamed, "golden-output", "generator"), "pass");
  // ... on 1.x checkpoints: the head was main.11.weight, and the generator is the narrow one.
  const Json& old = unit(j, "dcgan@3.0.0/fixtures/dcgan/current.pt");
  EXPECT_EQ(case_of(old, "strict-load", "discriminator")["data"]["missing"], Json::array({"head.weight"}));
  EXPECT_EQ(case_of(old, "strict-load", "discriminator")["data"]["unexpected"], Json::array({"main.11.weight"}));
  EXPECT_EQ(outcome(old, "strict-load", "generator"), "expected-fail");
  EXPECT_EQ(outcome(old, "optimizer-state", "discriminator_optimizer"), "pass");
  // ... and the older versions on the 3.x checkpoint.
  const std::pair<std::string, std::string> older[] = {{"1.0.0", "main.11.weight"}, {"2.0.0", "main.12.weight"}};
  for (const auto& [version, last_conv] : older) {
    const Json& c = case_of(unit(j, "dcgan@" + version + "/fixtures/dcgan/v3/current.pt"), "strict-load", "discriminator");
    EXPECT_EQ(c["outcome"], "expected-fail") << c.dump(1);
    EXPECT_EQ(c["data"]["missing"], Json::array({last_conv})) << c.dump(1);
    EXPECT_EQ(c["data"]["unexpected"], Json::array({"head.weight"})) << c.dump(1);
  }
}

// A DataParallel checkpoint loads through its key rule; a checkpoint with no optimizer state
// is a warning; an accepted global is no finding.
TEST_F(RunCli, DefaultConfigKeyRulesWarningsAndAcceptedGlobals) {
  const Json& j = default_run().results;
  const Json& dp = unit(j, "dcgan@1.0.0/fixtures/dcgan/dataparallel.pt");
  EXPECT_EQ(outcome(dp, "strict-load", "generator"), "pass");
  EXPECT_TRUE(contains(case_of(dp, "strict-load", "generator")["details"], "^module\\.")) << dp.dump(1);
  const Json& no_opt = unit(j, "dcgan@1.0.0/fixtures/dcgan/no_optimizer.pt");
  EXPECT_EQ(outcome(no_opt, "optimizer-state", "generator_optimizer"), "pass");
  EXPECT_TRUE(case_of(no_opt, "optimizer-state", "generator_optimizer")["data"]["warning"].get<bool>());
  EXPECT_EQ(outcome(unit(j, "format-only/fixtures/namespace_args.pt"), "format"), "pass");  // accepted global
}

// Every case of a run by plugin name -> "VERSION/CHECKPOINT/SCENARIO/COMPONENT" -> case.
std::map<std::string, std::map<std::string, Json>> cases_by_plugin(const Json& results) {
  std::map<std::string, std::map<std::string, Json>> out;
  for (const auto& u : results["units"]) {
    const std::string name = u["plugin"]["name"], version = u["plugin"]["version"];
    for (const auto& c : u["cases"]) {
      out[name][version + "/" + u["checkpoint"].get<std::string>() + "/" + c["scenario"].get<std::string>() + "/" +
                c["component"].get<std::string>()] = c;
    }
  }
  return out;
}

bool needs_values(const std::string& scenario) {
  return scenario == "eval-mode" || scenario == "train-mode" || scenario == "golden-output" ||
         scenario == "resume-determinism";
}

// The exported forms of `model` ("<model>-torchscript", "<model>-manifest") give the C++
// plugin's verdict on each of its cases (same outcome; same missing, unexpected and
// re-shaped keys), except that the manifest skips the scenarios that need values, saying
// why, and `not_compared` (scenarios a form cannot match). Returns the compared verdicts.
std::map<std::string, int> expect_same_verdicts(const Json& results, const std::string& model, std::size_t min_cases,
                                                const std::set<std::string>& not_compared = {}) {
  auto by_plugin = cases_by_plugin(results);
  const auto& cpp = by_plugin[model];
  EXPECT_GE(cpp.size(), min_cases) << model;
  std::map<std::string, int> verdicts;
  for (const std::string& form : {model + "-torchscript", model + "-manifest"}) {
    const auto& other = by_plugin[form];
    EXPECT_EQ(other.size(), cpp.size()) << form;
    std::size_t compared = 0;
    for (const auto& [key, expected] : cpp) {
      auto it = other.find(key);
      if (it == other.end()) {
        ADD_FAILURE() << form << " has no case " << key;
        continue;
      }
      const Json& got = it->second;
      const std::string scenario = expected["scenario"];
      if (form == model + "-manifest" && needs_values(scenario)) {
        EXPECT_EQ(got["outcome"], "skipped") << form << " " << key;
        EXPECT_TRUE(contains(got["message"], "the model is a schema")) << form << " " << key << ": " << got["message"];
        continue;
      }
      if (not_compared.count(scenario)) continue;
      EXPECT_EQ(got["outcome"], expected["outcome"]) << form << " " << key << "\n" << got["message"] << "\nC++: "
                                                     << expected["message"];
      if (scenario == "strict-load" || scenario == "shapes") {
        for (const char* field : {"missing", "unexpected", "shape_mismatches"}) {
          EXPECT_EQ(got["data"].value(field, Json()), expected["data"].value(field, Json())) << form << " " << key << " " << field;
        }
      }
      ++verdicts[expected["outcome"].get<std::string>()];
      ++compared;
    }
    EXPECT_GT(compared, 0u) << form;
  }
  return verdicts;
}

// The default matrix also checks every dcgan and pix2pix checkpoint against the models'
// exported forms ([[models]] of ckpt-harness.toml): the TorchScript export must give the C++
// plugin's verdict on every case; the manifest on every metadata case, and say why it skips
// the others. pix2pix's export trains with the harness's conditional step (its D judges A
// and B joined, its G adds an L1 term), so its resume checks pass as the C++ plugin's do.
TEST_F(RunCli, ExportedFormsGiveTheCppPluginsVerdicts) {
  const CommandResult r = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN +
                                      " run --filter 'dcgan*:pix2pix*' --report-dir " + report_dir() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const Json j = results();
  std::map<std::string, int> verdicts = expect_same_verdicts(j, "dcgan", 24u * 19u);  // 8 checkpoints x 3 versions
  // The comparison covers every kind of verdict, not only passes.
  EXPECT_GT(verdicts["pass"], 100);
  EXPECT_GT(verdicts["expected-fail"], 20);
  EXPECT_GT(verdicts["skipped"], 20);
  // The TorchScript export really runs what needs values: resumes and reproduces golden outputs.
  auto by_plugin = cases_by_plugin(j);
  const Json& golden = by_plugin["dcgan-torchscript"]["3.0.0/fixtures/dcgan/v3/current.pt/golden-output/generator"];
  EXPECT_EQ(golden["outcome"], "pass") << golden.dump(1);
  EXPECT_EQ(golden["data"]["elements_outside"], 0);
  EXPECT_EQ(by_plugin["dcgan-torchscript"]["2.0.0/fixtures/dcgan/v2/current.pt/resume-determinism/"]["outcome"], "pass");

  // pix2pix: 4 checkpoints (save_networks files) x 3 versions x 19 cases.
  verdicts = expect_same_verdicts(j, "pix2pix", 12u * 19u);
  EXPECT_GT(verdicts["pass"], 100);
  EXPECT_GT(verdicts["expected-fail"], 15);
  for (const char* version : {"1.0.0", "2.0.0", "3.0.0"}) {
    const std::string dir = std::string("fixtures/pix2pix/v") + version[0];
    for (const char* form : {"pix2pix", "pix2pix-torchscript"}) {
      const Json& resumed = by_plugin[form][std::string(version) + "/" + dir + "/latest_net_G.pth/resume-determinism/"];
      EXPECT_EQ(resumed["outcome"], "pass") << form << " " << resumed.dump(1);
      const Json& golden_g = by_plugin[form][std::string(version) + "/" + dir + "/latest_net_G.pth/golden-output/G"];
      EXPECT_EQ(golden_g["outcome"], "pass") << form << " " << golden_g.dump(1);
    }
  }
  // The epoch is in the name of save_networks(5)'s files.
  const Json& epoch = by_plugin["pix2pix-torchscript"]["1.0.0/fixtures/pix2pix/v1/5_net_G.pth/epoch-resume/"];
  EXPECT_EQ(epoch["outcome"], "pass") << epoch.dump(1);
  EXPECT_EQ(epoch["data"]["resume_epoch"], 6) << epoch.dump(1);
}

// The other bundled architectures' exports (fixtures/generate_exports.py, generate_schemas.py)
// on all their checkpoints, through a copy of the default config that adds them as
// [[models]]: the optimizers of each TorchScript entry come from the version's manifest.
// cyclegan's export is its team's own training step (step.pt: the four networks as
// children, its cycle and identity terms in TorchScript), so its resume determinism is
// compared too; sngan's export offers no step.
// torch.distributed.checkpoint directories in [[checkpoints]]: by their directory, or by a
// glob that matches their `.metadata`. Every scenario runs on one-process and two-rank saves
// (values assembled from the chunks: resume-determinism passes), and a damaged copy fails
// `format` naming the tensor while the scenarios that need no values still pass.
TEST_F(RunCli, DistributedCheckpointDirectoriesRunEveryScenario) {
  const std::string cfg = config("[[checkpoints]]\nplugins = [\"dcgan@1.0.0\"]\nfiles = [\"" +
                                 fixture("pytorch2/dcp/gan_*") + "\", \"" + fixture("hostile/dcp_hole/.metadata") + "\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  for (const char* name : {"pytorch2/dcp/gan_one_process", "pytorch2/dcp/gan_two_ranks"}) {
    SCOPED_TRACE(name);
    const Json u = unit(j, name);
    EXPECT_EQ(case_of(u, "format", "")["message"].get<std::string>().rfind("reads safely: dcp, 117 tensors", 0), 0u) << u.dump(1);
    for (const char* module : {"generator", "discriminator"}) EXPECT_EQ(outcome(u, "strict-load", module), "pass") << u.dump(1);
    EXPECT_EQ(outcome(u, "optimizer-state", "generator_optimizer"), "pass") << u.dump(1);
    EXPECT_EQ(outcome(u, "resume-determinism", ""), "pass") << u.dump(1);
  }
  const Json hole = unit(j, "hostile/dcp_hole");
  EXPECT_EQ(outcome(hole, "format", ""), "fail");
  EXPECT_NE(case_of(hole, "format", "")["message"].get<std::string>().find(
                "is damaged (1 finding(s)): 'generator.main.0.weight': its 2 chunk(s) cover 7680 of its 8192 elements"),
            std::string::npos)
      << hole.dump(1);
  EXPECT_EQ(outcome(hole, "shapes", "generator"), "pass") << "metadata alone answers it";
  EXPECT_EQ(outcome(hole, "strict-load", "discriminator"), "pass") << "the rest reads";
  EXPECT_EQ(outcome(hole, "strict-load", "generator"), "fail");
}

TEST_F(RunCli, SnganAndCycleganExportsGiveTheCppPluginsVerdicts) {
  const std::filesystem::path root = std::filesystem::path(CKPT_FIXTURES_DIR).parent_path();
  std::ifstream in(root / "ckpt-harness.toml");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (const std::string& model : {std::string("sngan"), std::string("cyclegan")}) {
    text = std::regex_replace(text, std::regex("plugins = \\[\"" + model + "\"\\]"),
                              "plugins = [\"" + model + "\", \"" + model + "-torchscript\", \"" + model + "-manifest\"]");
    text = std::regex_replace(text, std::regex("plugin = \"" + model + "@"), "plugin = \"" + model + "*@");
    for (const std::string version : {"1.0.0", "2.0.0", "3.0.0"}) {
      const std::string manifest = "fixtures/schemas/" + model + "-" + version + ".json";
      std::ifstream schema_file(root / manifest);
      const Json schema = Json::parse(schema_file);
      std::string files, optimizers, step;
      for (const auto& m : schema["modules"]) {
        const std::string name = m["name"];
        files += (files.empty() ? "" : ", ") + name + " = \"fixtures/" + model + "/exported/" + version + "/" + name + ".pt\"";
      }
      if (model == "cyclegan") {
        files = "step = \"fixtures/cyclegan/exported/" + version + "/step.pt\"";
        step = "[models.options]\ngan = { step = \"step\", updates = [\"optimizer_G\", \"optimizer_D\"] }\n";
      }
      for (const auto& o : schema["optimizers"]) {
        const Json& group = o["groups"][0];
        std::string modules;  // in parameter order, as Python's chain(G_A.parameters(), G_B.parameters())
        for (const auto& p : group["parameters"]) {
          const std::string module = "\"" + p.get<std::string>().substr(0, p.get<std::string>().find('.')) + "\"";
          if (!contains(modules, module)) modules += (modules.empty() ? "" : ", ") + module;
        }
        optimizers += o["name"].get<std::string>() + " = { class = \"" + o["class"].get<std::string>() +
                      "\", modules = [" + modules + "]";
        for (const auto& [k, v] : group["hyper"].items()) optimizers += ", " + k + " = " + v.dump();
        optimizers += " }\n";
      }
      text += "\n[[models]]\nname = \"" + model + "-torchscript\"\nversion = \"" + version +
              "\"\nplugin = \"torchscript\"\nfiles = { " + files + " }\n" + step + "[models.options.optimizers]\n" + optimizers +
              "\n[[models]]\nname = \"" + model + "-manifest\"\nversion = \"" + version +
              "\"\nplugin = \"manifest\"\nfiles = { manifest = \"" + manifest + "\" }\n";
    }
  }
  // Beside the default config: its paths are relative to its directory.
  const std::filesystem::path config = root / ("exported-forms-test-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(config) << text;
  const CommandResult r = run_command("cd " + root.string() + " && " + CKPT_HARNESS_BIN + " run --config " +
                                      config.string() + " --filter 'sngan*:cyclegan*' --report-dir " + report_dir() + " 2>&1");
  std::filesystem::remove(config);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const Json j = results();
  for (const auto& [model, cases] : {std::pair<std::string, std::size_t>{"sngan", 9u * 19u}, {"cyclegan", 15u * 20u}}) {
    const auto verdicts =
        expect_same_verdicts(j, model, cases, model == "sngan" ? std::set<std::string>{"resume-determinism"} : std::set<std::string>{});
    EXPECT_GT(verdicts.at("pass"), 50) << model;
    EXPECT_GT(verdicts.at("expected-fail"), 5) << model;
  }
  auto by_plugin = cases_by_plugin(j);
  EXPECT_EQ(by_plugin["sngan-torchscript"]["3.0.0/fixtures/sngan/v3/checkpoint.pt/golden-output/discriminator"]["outcome"],
            "pass");
  for (const char* version : {"1.0.0", "2.0.0", "3.0.0"}) {
    const std::string id = std::string(version) + "/fixtures/cyclegan/v" + version[0] + "/checkpoint.pt/resume-determinism/";
    EXPECT_EQ(by_plugin["cyclegan-torchscript"][id]["outcome"], "pass") << by_plugin["cyclegan-torchscript"][id].dump(1);
  }
}

// A [[models]] entry its generic plugin cannot build fails as its own unit, naming the
// entry, its place in the config and the option; the rest of the run goes on.
TEST_F(RunCli, ModelEntriesThatCannotBeBuiltSayWhy) {
  const std::string exported = fixture("dcgan/exported/3.0.0/");
  const std::string g = "\"" + exported + "generator.pt\"", d = "\"" + exported + "discriminator.pt\"";
  auto error_for = [&](const std::string& plugin, const std::string& files, const std::string& options) {
    const std::string cfg = config("[[models]]\nname = \"exp\"\nversion = \"1.0.0\"\nplugin = \"" + plugin +
                                   "\"\nfiles = { " + files + " }\n" + options +
                                   "[[checkpoints]]\nplugins = [\"exp\", \"dcgan@3.*\"]\nfiles = [\"" +
                                   fixture("dcgan/v3/current.pt") + "\"]\n");
    const CommandResult r = run("--config " + cfg);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    const Json j = results();
    const Json& u = unit(j, "model/exp@1.0.0");
    EXPECT_EQ(outcome(unit(j, "dcgan@3.0.0/" + fixture("dcgan/v3/current.pt")), "strict-load", "generator"), "pass");
    const std::string message = case_of(u, "plugin-load")["message"];
    EXPECT_TRUE(contains(message, "[[models]] exp@1.0.0 (" + cfg + ":3)")) << message;
    return message;
  };
  // A checkpoint is not a TorchScript module: refused, never run.
  std::string e = error_for("torchscript", "generator = \"" + fixture("dcgan/v3/current.pt") + "\"", "");
  EXPECT_TRUE(contains(e, "files.generator: '" + fixture("dcgan/v3/current.pt") + "' is not a TorchScript module")) << e;
  e = error_for("torchscript", "generator = " + g, "options = { optimizer = { g = { class = \"Adam\" } } }\n");
  EXPECT_TRUE(contains(e, "unknown option 'optimizer.g.class' (known: files.<module>, inputs.<module>")) << e;
  e = error_for("torchscript", "generator = " + g + ", discriminator = " + d, "options = { gan = { loss = \"hinge\" } }\n");
  EXPECT_TRUE(contains(e, "gan.loss needs inputs.generator")) << e;
  e = error_for("torchscript", "generator = " + g, "options = { gan = { loss = \"wasserstein\" } }\n");
  EXPECT_TRUE(contains(e, "option 'gan.loss' is 'wasserstein': expected bce")) << e;
  // The training step's options contradict each other, or lack what they need.
  const std::string both = "generator = " + g + ", discriminator = " + d;
  const std::string optimizers = "[models.options.optimizers]\ng = { class = \"Adam\", modules = [\"generator\"] }\n"
                                 "d = { class = \"Adam\", modules = [\"discriminator\"] }\n";
  e = error_for("torchscript", both, "options.gan = { loss = \"hinge\", discriminator_input = \"input+output\" }\n");
  EXPECT_TRUE(contains(e, "gan.discriminator_input = \"input+output\" needs gan.generator_input = \"image\"")) << e;
  e = error_for("torchscript", both, "options.gan = { l1 = 100 }\n");
  EXPECT_TRUE(contains(e, "gan.l1 needs gan.loss")) << e;
  e = error_for("torchscript", both, "options.gan = { loss = \"hinge\", generator_input = \"labels\" }\n");
  EXPECT_TRUE(contains(e, "option 'gan.generator_input' is 'labels': expected noise (G(z)) or image")) << e;
  e = error_for("torchscript", both, "options.gan = { step = \"generator\", loss = \"bce\" }\n");
  EXPECT_TRUE(contains(e, "gan.step and gan.loss: an exported step states its own losses")) << e;
  e = error_for("torchscript", both, "options.gan = { step = \"generator\" }\n");
  EXPECT_TRUE(contains(e, "gan.step needs gan.updates")) << e;
  e = error_for("torchscript", both, "options.gan = { step = \"generator\", updates = [\"gg\"] }\n" + optimizers);
  EXPECT_TRUE(contains(e, "option 'gan.updates' names optimizer 'gg', which has no optimizers.gg.class")) << e;
  // A module that is not a training step: its methods are named.
  e = error_for("torchscript", both, "options.gan = { step = \"generator\", updates = [\"g\"] }\n" + optimizers);
  EXPECT_TRUE(contains(e, "files.generator: '" + exported + "generator.pt' has no method batch(self)")) << e;
  e = error_for("torchscript", "generator = " + g,
                "options.optimizers.g = { class = \"Adamax\", modules = [\"generator\"] }\n");
  EXPECT_TRUE(contains(e, "optimizers.g: class 'Adamax' is not one LibTorch has (Adam, AdamW, SGD, RMSprop, Adagrad)")) << e;
  e = error_for("torchscript", "generator = " + g,
                "options.optimizers.g = { class = \"Adam\", modules = [\"generator\"], momentum = 0.9 }\n");
  EXPECT_TRUE(contains(e, "optimizers.g: Adam has no hyper-parameter 'momentum'")) << e;
  e = error_for("torchscript", "generator = " + g,
                "options.optimizers.g = { class = \"Adam\", modules = [\"generatr\"] }\n");
  EXPECT_TRUE(contains(e, "option 'optimizers.g.modules' names module 'generatr', which has no files.generatr")) << e;

  // A manifest that is not one, and one a checkpoint implies (no parameter names).
  std::ofstream(dir_ / "bad.json") << R"({"schema": "ckpt-harness.model-schema", "schema_version": 1, "modules": 3})";
  e = error_for("manifest", "manifest = \"" + (dir_ / "bad.json").string() + "\"", "");
  EXPECT_TRUE(contains(e, "bad.json: ")) << e;
  const CommandResult implied = run_command(std::string(CKPT_HARNESS_BIN) + " schema " + fixture("dcgan/v3/current.pt") +
                                            " -o " + (dir_ / "implied.json").string() + " 2>&1");
  ASSERT_EQ(implied.exit_code, 0) << implied.out;
  e = error_for("manifest", "manifest = \"" + (dir_ / "implied.json").string() + "\"", "");
  EXPECT_TRUE(contains(e, "does not name its parameters (a checkpoint's schema cannot)")) << e;

  // A generic plugin that does not exist is a config error at the entry.
  const std::string cfg = config("[[models]]\nname = \"exp\"\nversion = \"1\"\nplugin = \"torchscrpt\"\nfiles = { generator = " + g + " }\n"
                                 "[[checkpoints]]\nplugins = [\"exp\"]\nfiles = [\"" + fixture("dcgan/v3/current.pt") + "\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, cfg + ":3:1: [[models]] exp@1: no plugin named 'torchscrpt' (found: ")) << r.out;
}

// A training step that fails says where and why in one line, not with a TorchScript
// traceback: the module, the shape it was given and the options that formed it (pix2pix's
// conditional D given G's output alone), or the exported step's method and the team's own
// error (an update its loss does not know). The files it names (the plugin, the exported
// step) are named relative to the repository, as in every other message: the config lies
// beside the default one and names fixtures as it does.
TEST_F(RunCli, TorchScriptTrainingStepFailuresSayWhere) {
  const std::filesystem::path root = std::filesystem::path(CKPT_FIXTURES_DIR).parent_path();
  const std::string text =
      "[[models]]\nname = \"p2p\"\nversion = \"1.0.0\"\nplugin = \"torchscript\"\n"
      "files = { G = \"fixtures/pix2pix/exported/1.0.0/G.pt\", D = \"fixtures/pix2pix/exported/1.0.0/D.pt\" }\n"
      "[models.options]\ninputs = { G = [3, 256, 256], D = [6, 256, 256] }\n"
      "gan = { loss = \"non-saturating\", generator = \"G\", discriminator = \"D\", generator_input = \"image\" }\n"
      "[models.options.optimizers]\noptimizer_G = { class = \"Adam\", modules = [\"G\"] }\n"
      "optimizer_D = { class = \"Adam\", modules = [\"D\"] }\n"
      "[[models]]\nname = \"cg\"\nversion = \"1.0.0\"\nplugin = \"torchscript\"\n"
      "files = { step = \"fixtures/cyclegan/exported/1.0.0/step.pt\" }\n"
      "[models.options]\ngan = { step = \"step\", updates = [\"optimizer_G\", \"optimizer_X\"] }\n"
      "[models.options.optimizers]\noptimizer_G = { class = \"Adam\", modules = [\"G_A\", \"G_B\"] }\n"
      "optimizer_X = { class = \"SGD\", modules = [\"D_A\"], lr = 0.1 }\n"
      "[[checkpoints]]\nplugins = [\"p2p\"]\nlayout = \"net-files\"\nfiles = [\"fixtures/pix2pix/v1/latest_net_G.pth\"]\n"
      "[[checkpoints]]\nplugins = [\"cg\"]\nfiles = [\"fixtures/cyclegan/v1/checkpoint.pt\"]\n";
  const std::filesystem::path config = root / ("step-failures-test-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(config) << text;
  const CommandResult r = run_command("cd " + root.string() + " && " + CKPT_HARNESS_BIN + " run --config " +
                                      config.filename().string() + " --report-dir " + report_dir() + " 2>&1");
  std::filesystem::remove(config);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& p2p = unit(j, "p2p@1.0.0/fixtures/pix2pix/v1/latest_net_G.pth");
  const Json& conditional = case_of(p2p, "resume-determinism");
  const std::string m = conditional["message"];
  EXPECT_EQ(conditional["outcome"], "error") << conditional.dump(1);
  EXPECT_TRUE(contains(m, "the training step (gan.loss = non-saturating, gan.generator_input = image, "
                          "gan.discriminator_input = output) failed: D's forward on [4, 3, 256, 256]: ")) << m;
  EXPECT_TRUE(contains(m, "to have 6 channels, but got 3 channels instead")) << m;
  EXPECT_TRUE(contains(m, "Set gan.generator_input / gan.discriminator_input")) << m;
  EXPECT_FALSE(contains(m, "Traceback")) << m;
  EXPECT_EQ(outcome(p2p, "strict-load", "G"), "pass");  // the rest of the unit runs

  const Json& own = case_of(unit(j, "cg@1.0.0/fixtures/cyclegan/v1/checkpoint.pt"), "resume-determinism");
  const std::string o = own["message"];
  EXPECT_EQ(own["outcome"], "error") << own.dump(1);
  EXPECT_TRUE(contains(o, "the exported training step (fixtures/cyclegan/exported/1.0.0/step.pt) failed in "
                          "loss(\"optimizer_X\", batch): ")) << o;
  EXPECT_TRUE(contains(o, "TrainStep.loss: no optimizer named optimizer_X")) << o;
  EXPECT_FALSE(contains(o, "Traceback")) << o;
  // No machine path: the plugin beside the executable is named from the repository too
  // when the build lies inside it.
  const std::string bin = std::filesystem::weakly_canonical(CKPT_HARNESS_BIN).string();
  const std::string repo = std::filesystem::weakly_canonical(root).string() + "/";
  if (bin.rfind(repo, 0) == 0) {
    for (const std::string& message : {m, o}) EXPECT_FALSE(contains(message, repo)) << message;
  }
}

// Generic plugins are checked through their [[models]] entries only: a broad selector does
// not make units of the plugin files themselves; an entry no group selects may still be named
// by an expectation; and a generic plugin file that will not load fails the entries that need
// it, as units, while the rest of the run goes on.
TEST_F(RunCli, GenericPluginsServeOnlyTheirEntries) {
  const std::string v3 = fixture("dcgan/v3/current.pt");
  const std::string unused = "[[models]]\nname = \"unused\"\nversion = \"1.0.0\"\nplugin = \"manifest\"\nfiles = { manifest = \"" +
                             fixture("schemas/dcgan-3.0.0.json") + "\" }\n";
  CommandResult r = run("--config " + config(unused + "[[checkpoints]]\nplugins = [\"dcgan*@3.*\", \"torch*\", \"manifest\"]\n"
                                             "files = [\"" + v3 + "\"]\n[[expectations]]\nplugin = \"unused@1.*\"\n"
                                             "scenario = \"strict-load\"\n"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Json j = results();
  ASSERT_EQ(j["units"].size(), 1u) << j.dump(1);
  EXPECT_EQ(j["units"][0]["id"], "dcgan@3.0.0/" + v3);

  // A broken file in the generic plugin's place: the entry is an error unit, dcgan still runs.
  std::ofstream(dir_ / "torchscript.so") << "not a shared library";
  const std::string plugins_dir = std::filesystem::path(CKPT_HARNESS_BIN).parent_path().string() + "/plugins";
  const std::string entry = "[[models]]\nname = \"ts\"\nversion = \"3.0.0\"\nplugin = \"torchscript\"\nfiles = { generator = \"" +
                            fixture("dcgan/exported/3.0.0/generator.pt") + "\" }\n";
  r = run("--allow-path " + plugins_dir + " --config " +
          config("[plugins]\npaths = [\"torchscript.so\", \"" + plugins_dir + "/dcgan_v3.so\"]\n" + entry +
                 "[[checkpoints]]\nplugins = [\"dcgan\", \"ts\"]\nfiles = [\"" + v3 + "\"]\n"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  j = results();
  EXPECT_EQ(outcome(unit(j, "dcgan@3.0.0/" + v3), "strict-load", "generator"), "pass");
  const std::string message = case_of(unit(j, "model/ts@3.0.0"), "plugin-load")["message"];
  EXPECT_TRUE(contains(message, "no plugin named 'torchscript' (found: dcgan); a plugin file that could not be loaded may be it"))
      << message;
}

// A model with frozen parameters and a non-persistent buffer, exported and trained by Python
// with an optimizer over the trainable parameters only. The export keeps them frozen, and
// trainable_only builds the same optimizer (over every parameter, as model.parameters(), the
// saved state does not fit). TorchScript drops the buffer's persistent=False: named in
// non_persistent, it is not expected in checkpoints.
TEST_F(RunCli, FrozenParametersAndNonPersistentBuffersOfATorchScriptExport) {
  // torch.jit.script reads the model's source: the script is a file.
  std::ofstream(dir_ / "export.py") << "import torch\n"
                                       "class Net(torch.nn.Module):\n"
                                       "    def __init__(self):\n"
                                       "        super().__init__()\n"
                                       "        self.frozen = torch.nn.Linear(2, 2)\n"
                                       "        self.head = torch.nn.Linear(2, 2)\n"
                                       "        self.frozen.requires_grad_(False)\n"
                                       "        self.head.register_buffer('mask', torch.ones(2), persistent=False)\n"
                                       "    def forward(self, x):\n"
                                       "        return self.head(self.frozen(x)) * self.head.mask\n"
                                       "torch.manual_seed(0)\n"
                                       "net = Net()\n"
                                       "torch.jit.script(net).save('net.pt')\n"
                                       "opt = torch.optim.Adam(filter(lambda p: p.requires_grad, net.parameters()), lr=0.01)\n"
                                       "net(torch.randn(3, 2)).sum().backward()\n"
                                       "opt.step()\n"
                                       "assert 'head.mask' not in net.state_dict()\n"
                                       "torch.save({'net': net.state_dict(), 'net_optimizer': opt.state_dict(), 'epoch': 0}, "
                                       "'ckpt.pt')\n";
  const CommandResult python = run_command("cd " + dir_.string() + " && /usr/bin/python3 export.py 2>&1");
  ASSERT_EQ(python.exit_code, 0) << python.out;
  // The results of a run with these [models.options] lines, and these of its optimizer.
  auto run_with = [&](const std::string& options, const std::string& optimizer = "") {
    const CommandResult r = run("--config " + config("[[models]]\nname = \"frozen\"\nversion = \"1\"\nplugin = \"torchscript\"\n"
                                                     "files = { net = \"net.pt\" }\n[models.options]\n" + options +
                                                     "[models.options.optimizers.net_optimizer]\n"
                                                     "class = \"Adam\"\nmodules = [\"net\"]\nlr = 0.01\n" + optimizer +
                                                     "[[checkpoints]]\nplugins = [\"frozen\"]\nfiles = [\"ckpt.pt\"]\n"));
    EXPECT_NE(r.exit_code, 2) << r.out;
    return results();
  };
  auto verdict = [](const Json& j, const std::string& id, const std::string& scenario, const std::string& component) {
    const Json c = case_of(unit(j, id), scenario, component);
    return c["outcome"].get<std::string>() + ": " + c["message"].get<std::string>();
  };
  const std::string id = "frozen@1/ckpt.pt";
  Json j = run_with("");
  EXPECT_TRUE(contains(verdict(j, id, "strict-load", "net"), "fail: does not load strictly: 1 missing")) << j.dump(1);
  EXPECT_EQ(case_of(unit(j, id), "strict-load", "net")["data"]["missing"], Json::array({"head.mask"}));
  EXPECT_TRUE(contains(verdict(j, id, "optimizer-state", "net_optimizer"), "fail: ")) << j.dump(1);
  j = run_with("non_persistent = { net = [\"head.mask\"] }\n", "trainable_only = true\n");
  EXPECT_TRUE(contains(verdict(j, id, "strict-load", "net"), "pass: ")) << j.dump(1);
  EXPECT_TRUE(contains(verdict(j, id, "optimizer-state", "net_optimizer"), "pass: ")) << j.dump(1);
  EXPECT_TRUE(contains(verdict(j, id, "eval-mode", "net"), "pass: ")) << j.dump(1);  // the buffer still works in forward
  j = run_with("non_persistent = { net = [\"head.maks\"] }\n");
  EXPECT_TRUE(contains(verdict(j, "model/frozen@1", "plugin-load", ""),
                       "option 'non_persistent.net' names 'head.maks', which is not a buffer of net"))
      << j.dump(1);
}

// A TorchScript file given as a checkpoint is data to the reader: its code is never run (only
// a [[models]] entry makes a TorchScript file the model), and the format scenario says so.
TEST_F(RunCli, ATorchScriptFileAsACheckpointIsOnlyRead) {
  const std::string cfg = (dir_ / "harness.toml").string();
  std::ofstream(cfg) << "[[checkpoints]]\nfiles = [\"" + fixture("dcgan/exported/1.0.0/generator.pt") + "\"]\n";
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const Json j = results();
  const Json& format = case_of(unit(j, "format-only/" + fixture("dcgan/exported/1.0.0/generator.pt")), "format");
  EXPECT_EQ(format["outcome"], "pass") << format.dump(1);
  EXPECT_TRUE(contains(format["message"], "a TorchScript program: its 13 code file(s) are never run")) << format.dump(1);
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
  EXPECT_EQ(results()["totals"]["expected_failures"], 6);  // strict-load x2 and shapes of the generator, on 2.0 and 3.0
}

TEST_F(RunCli, ListFilterShardAndNothingSelected) {
  const std::string cfg = config(group("v1", {"dcgan/current.pt", "dcgan/fp16.pt", "dcgan/batchnorm_v1.pt"}));
  const CommandResult list = run("--config " + cfg + " --list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_TRUE(contains(list.out, "9 unit(s), 171 case(s) of 9 unit(s) in the config")) << list.out;  // 3 files x 3 versions
  EXPECT_TRUE(contains(list.out, "  strict-load/generator\n")) << list.out;
  const CommandResult filtered = run("--config " + cfg + " --list --filter '*/strict-load/*:-*discriminator'");
  EXPECT_TRUE(contains(filtered.out, "9 unit(s), 9 case(s)")) << filtered.out;
  std::size_t units = 0;
  for (int k = 1; k <= 3; ++k) {
    const CommandResult shard = run("--config " + cfg + " --list --shard " + std::to_string(k) + "/3");
    const auto at = shard.out.rfind(" unit(s), ");
    const auto line = shard.out.rfind('\n', at);
    if (at != std::string::npos && shard.exit_code == 0) units += std::stoul(shard.out.substr(line + 1, at - line - 1));
  }
  EXPECT_EQ(units, 9u);
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
  const CommandResult r = run_command(std::string(CKPT_HARNESS_BIN) + " run" + kAllowTestPaths + " --config " + cfg + " --filter '*format' --report-dir " +
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

// The worker that describes the run builds a model of every plugin and keeps each for a unit
// of that plugin; once it serves a unit, it drops the others: kept, they would hold the whole
// run's models in one worker (a full-size model is gigabytes) until it exits. One worker
// here, two plugin versions: after both are described (built, built), the first unit takes
// its spare and the other's is freed before anything else is built.
TEST_F(RunCli, TheDescribingWorkerDropsSparesItDoesNotUse) {
  const std::string log = (dir_ / "models.log").string();
  const std::string path = (dir_ / "harness.toml").string();
  std::ofstream(path) << "[run]\njobs = 1\n[plugins]\npaths = [\"" << CKPT_TEST_MISBEHAVING << "\", \"" << CKPT_TEST_MISBEHAVING_V2
                      << "\"]\n[plugins.misbehaving]\noptions = { log = \"" << log << "\" }\n"
                      << "[scenarios]\nrun = [\"strict-load\"]\n"
                      << "[[checkpoints]]\nfiles = [\"" << fixture("cuda_location.pt") << "\"]\nplugins = [\"misbehaving\"]\n"
                      << "layout = \"state-dict\"\n";
  const CommandResult r = run("--config " + path);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  // built A, built B (described); the first unit (X) takes its spare and Y's is freed; X's
  // model is freed when its unit ends; Y's unit builds its own. Kept, Y's spare would have
  // served Y's unit: built, built, freed, freed.
  ASSERT_EQ(lines.size(), 6u) << testing::PrintToString(lines) << r.out;
  EXPECT_EQ(lines[0].substr(0, 6), "built ");
  EXPECT_EQ(lines[1].substr(0, 6), "built ");
  EXPECT_NE(lines[0], lines[1]);
  const std::string other = lines[2].substr(6);
  EXPECT_EQ(lines[2], "freed " + other) << testing::PrintToString(lines);
  EXPECT_EQ(lines[3].substr(0, 6), "freed ");
  EXPECT_NE(lines[3], lines[2]);
  EXPECT_EQ(lines[4], "built " + other) << testing::PrintToString(lines);
  EXPECT_EQ(lines[5], "freed " + other) << testing::PrintToString(lines);
}

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

// record-golden: outputs recorded in C++ after a strict load are what the golden-output
// scenario then holds the plugin to; a checkpoint that does not load strictly is refused.
TEST_F(RunCli, RecordGoldenWritesWhatTheGoldenScenarioChecks) {
  std::filesystem::copy_file(fixture("dcgan/current.pt"), dir_ / "ckpt.pt");
  const std::string harness = CKPT_HARNESS_BIN;
  const std::string ckpt = (dir_ / "ckpt.pt").string();
  const std::string options = " --option nz=16 --option ngf=4 --option ndf=4";
  const CommandResult refused = run_command(harness + " record-golden " + ckpt + " --plugin dcgan@2.0.0" + options + " 2>&1");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_TRUE(contains(refused.out, "'generator' does not load strictly from " + ckpt)) << refused.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ckpt.golden.pt"));
  const CommandResult recorded = run_command(harness + " record-golden " + ckpt + " --plugin dcgan@1.0.0" + options + " 2>&1");
  ASSERT_EQ(recorded.exit_code, 0) << recorded.out;
  EXPECT_TRUE(contains(recorded.out, "recorded 2 module(s) of dcgan 1.0.0")) << recorded.out;
  ASSERT_TRUE(std::filesystem::exists(dir_ / "ckpt.golden.pt"));
  const std::string cfg = config("[scenarios]\nrun = [\"golden-output\"]\n[[checkpoints]]\nfiles = [\"ckpt.pt\"]\nplugins = [\"dcgan@1.*\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const Json all = results();
  const Json& u = unit(all, "ckpt.pt");
  for (const char* module : {"generator", "discriminator"}) {
    const Json& c = case_of(u, "golden-output", module);
    EXPECT_EQ(c["outcome"], "pass") << c.dump(1);
    EXPECT_EQ(c["data"]["elements_outside"], 0) << c.dump(1);
  }
  // The recording is a torch.save archive that Python opens too, with weights_only=True (the
  // default from PyTorch 2.6): no TorchScript type tags.
  const CommandResult python = run_command("/usr/bin/python3 -c \"import torch; g = torch.load('" + (dir_ / "ckpt.golden.pt").string() +
                                           "', weights_only=True); print(g['golden_format'], sorted(g['modules']), tuple(g['modules']['generator']['output'].shape))\" 2>&1");
  EXPECT_EQ(python.out, "1 ['discriminator', 'generator'] (4, 3, 64, 64)\n") << python.out;
}

// Golden outputs recorded by another PyTorch version (kernels differ between versions): a
// difference kernels explain is a skip that says so, a larger one a drift; outputs of this
// version that differ as much fail; a recording for this LibTorch is read first.
TEST_F(RunCli, GoldenOutputsOfAnotherTorchVersionSayWhetherKernelsExplainTheDifference) {
  std::filesystem::copy_file(fixture("dcgan/current.pt"), dir_ / "ckpt.pt");
  const std::string ckpt = (dir_ / "ckpt.pt").string(), golden = (dir_ / "ckpt.golden.pt").string();
  const std::string record = std::string(CKPT_HARNESS_BIN) + " record-golden " + ckpt +
                             " --plugin dcgan@1.0.0 --option nz=16 --option ngf=4 --option ndf=4";
  ASSERT_EQ(run_command(record + " >/dev/null 2>&1").exit_code, 0);
  const std::string this_version = CKPT_TEST_LIBTORCH_VERSION, other_version = std::string(CKPT_TEST_OTHER_LIBTORCH_VERSION) + ".0";
  // Python rewrites the recording as another version's: its outputs moved by `shift`.
  auto rewrite = [&](const std::string& recorder, double shift) {
    const std::string script = "import torch; g = torch.load('" + golden + "', weights_only=True); g['recorded_with'] = '" + recorder +
                               "'; [m.__setitem__('output', m['output'] + " + std::to_string(shift) +
                               ") for m in g['modules'].values()]; torch.save(g, '" + golden + ".new')";
    ASSERT_EQ(run_command("/usr/bin/python3 -c \"" + script + "\" 2>&1").exit_code, 0);
    std::filesystem::rename(golden + ".new", golden);
  };
  const std::string cfg = config("[scenarios]\nrun = [\"golden-output\"]\n[[checkpoints]]\nfiles = [\"ckpt.pt\"]\nplugins = [\"dcgan@1.*\"]\n");
  rewrite("PyTorch " + other_version, 2e-3);
  CommandResult r = run("--config " + cfg);
  Json g = case_of(unit(results(), "ckpt.pt"), "golden-output", "generator");
  EXPECT_EQ(g["outcome"], "skipped") << g.dump(1);
  EXPECT_TRUE(contains(g["message"], "outside tolerance and the kernels changed")) << g.dump(1);
  EXPECT_TRUE(contains(g["message"], "recorded with PyTorch " + other_version + ", computed with LibTorch " + this_version)) << g.dump(1);
  EXPECT_TRUE(contains(g["details"], "--for-this-libtorch")) << g.dump(1);
  EXPECT_EQ(g["data"]["cause"], "kernels") << g.dump(1);
  EXPECT_EQ(r.exit_code, 0) << r.out;

  rewrite("PyTorch " + other_version, 0.5);  // beyond kernel_atol (default 1e-2)
  r = run("--config " + cfg);
  g = case_of(unit(results(), "ckpt.pt"), "golden-output", "generator");
  EXPECT_EQ(g["outcome"], "fail") << g.dump(1);
  EXPECT_TRUE(contains(g["message"], "exceeds what kernels of different versions give (kernel_atol 0.01)")) << g.dump(1);
  EXPECT_EQ(g["data"]["cause"], "drift") << g.dump(1);
  EXPECT_EQ(r.exit_code, 1) << r.out;

  // Recorded by this very version: kernels explain nothing.
  std::filesystem::remove(golden);
  ASSERT_EQ(run_command(record + " >/dev/null 2>&1").exit_code, 0);
  rewrite("PyTorch " + this_version + ".0", -2e-3);
  r = run("--config " + cfg);
  g = case_of(unit(results(), "ckpt.pt"), "golden-output", "generator");
  EXPECT_EQ(g["outcome"], "fail") << g.dump(1);
  EXPECT_EQ(g["data"]["cause"], "drift") << g.dump(1);

  // Re-recorded for this LibTorch, beside the other version's file: read first, and passes.
  rewrite("PyTorch " + other_version, 0.0);
  const CommandResult again = run_command(record + " --for-this-libtorch 2>&1");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  const std::string own = "ckpt.golden.libtorch-" + this_version + ".pt";
  ASSERT_TRUE(std::filesystem::exists(dir_ / own)) << again.out;
  r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  g = case_of(unit(results(), "ckpt.pt"), "golden-output", "generator");
  EXPECT_EQ(g["outcome"], "pass") << g.dump(1);
  EXPECT_TRUE(contains(g["data"]["golden"], own)) << g.dump(1);
  EXPECT_TRUE(contains(g["data"]["recorded_with"], "LibTorch " + this_version)) << g.dump(1);
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
    run_command(std::string(CKPT_HARNESS_BIN) + " run" + kAllowTestPaths + " --config " + cfg + " --shard " + std::to_string(k) + "/3 --report-dir " +
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
  EXPECT_EQ(mask_junit(file_bytes(merged + "/junit.xml")), mask_junit(file_bytes(report_dir() + "/junit.xml")));
  // ... and the page says, in one note, that it was merged.
  const std::string merged_page = masked(file_bytes(merged + "/report.html"), R"(<p class="note">merged from 3 result file\(s\) \(shards 1/3, 2/3, 3/3\)</p>\n)", "");
  EXPECT_EQ(mask_html(merged_page), mask_html(file_bytes(report_dir() + "/report.html")));
  const CommandResult valid = run_command("xmllint --noout --schema " + std::string(CKPT_JUNIT_XSD_DIR) +
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

// epoch-resume checks saved scheduler states against their optimizers' (PyTorch 2.6 files):
// out of step fails, saying how; a consistent 2.x training state passes and lists them, with
// the GradScaler and RNG states a resume restores.
TEST_F(RunCli, SchedulersOutOfStepFailEpochResume) {
  const std::string cfg = config("[scenarios]\nrun = [\"epoch-resume\"]\n" +
                                 group("pt2", {"pytorch2/schedulers_out_of_step.pt", "pytorch2/training_state_2x.pt",
                                               "pytorch2/dcgan_adamw.pt"}));
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& bad = case_of(unit(j, "pytorch2/schedulers_out_of_step.pt"), "epoch-resume");
  EXPECT_EQ(bad["outcome"], "fail") << bad.dump(1);
  EXPECT_TRUE(contains(bad["details"], "generator_scheduler last set lr [0.0001], but generator_optimizer's groups have lr [0.0002]"))
      << bad.dump(1);
  EXPECT_TRUE(contains(bad["details"], "the next step raises \"Tried to step 3 times")) << bad.dump(1);
  const Json& good = case_of(unit(j, "pytorch2/training_state_2x.pt"), "epoch-resume");
  EXPECT_EQ(good["outcome"], "pass") << good.dump(1);
  EXPECT_TRUE(contains(good["details"], "generator_scheduler (SequentialLR) steps generator_optimizer, last_epoch 3")) << good.dump(1);
  const Json& amp = case_of(unit(j, "pytorch2/dcgan_adamw.pt"), "epoch-resume");
  EXPECT_EQ(amp["outcome"], "pass") << amp.dump(1);
  for (const char* fact : {"scaler: GradScaler state: scale=1024", "rng_state.torch: torch CPU generator state",
                           "rng_state.numpy: numpy RNG state (MT19937)", "rng_state.python: Python random state"}) {
    EXPECT_TRUE(contains(amp["details"], fact)) << fact << "\n" << amp.dump(1);
  }
}

// A plugin's own scheduler against the one saved under its name: the same class, stepped as
// many epochs as completed, passes; another class fails, saying so.
TEST_F(RunCli, ThePluginsSchedulerAgainstTheSavedOne) {
  const std::string cfg = (dir_ / "harness.toml").string();
  std::ofstream(cfg) << "[plugins]\npaths = [\"" << CKPT_TEST_SCHEDULED << "\"]\n"
                     << "[scenarios]\nrun = [\"epoch-resume\"]\n[[checkpoints]]\nplugins = [\"scheduled\"]\nfiles = [\""
                     << fixture("pytorch2/linear_steplr.pt") << "\", \"" << fixture("pytorch2/linear_onecycle.pt") << "\"]\n";
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& same = case_of(unit(j, "pytorch2/linear_steplr.pt"), "epoch-resume");
  EXPECT_EQ(same["outcome"], "pass") << same.dump(1);
  EXPECT_TRUE(contains(same["details"], "net_scheduler.last_epoch = 3")) << same.dump(1);
  EXPECT_TRUE(contains(same["details"], "net_scheduler (StepLR) steps net_optimizer, last_epoch 3")) << same.dump(1);
  const Json& other = case_of(unit(j, "pytorch2/linear_onecycle.pt"), "epoch-resume");
  EXPECT_EQ(other["outcome"], "fail") << other.dump(1);
  EXPECT_TRUE(contains(other["details"], "scheduler 'net_scheduler' was saved by a OneCycleLR, the model's is a StepLR"))
      << other.dump(1);
}

// An instance-norm checkpoint in the batch-norm model (cyclegan 3.x): relaxed-load passes on
// its fraction of elements, but names the norm layers left at initialisation and the norm
// change; with relaxed_fail_on_initialised_layers it fails on them.
TEST_F(RunCli, RelaxedLoadNamesLayersLeftAtInitialisationAndNormChanges) {
  auto run_with = [&](const std::string& setting) {
    const std::string cfg = cyclegan_config("[scenarios]\nrun = [\"relaxed-load\"]\n" + setting +
                                            "[[checkpoints]]\nplugins = [\"cyclegan@3.*\"]\nfiles = [\"" +
                                            fixture("cyclegan/v1/checkpoint.pt") + "\"]\n");
    return run("--config " + cfg + " --filter '*/D_A'");
  };
  const CommandResult reported = run_with("");
  EXPECT_EQ(reported.exit_code, 0) << reported.out;
  Json j = results();
  const Json d = case_of(unit(j, "cyclegan/v1/checkpoint.pt"), "relaxed-load", "D_A");
  EXPECT_EQ(d["outcome"], "pass") << d.dump(1);
  EXPECT_EQ(d["data"]["layers_left_at_initialisation"],
            Json::array({"model.3 (BatchNorm2d)", "model.6 (BatchNorm2d)", "model.9 (BatchNorm2d)"}));
  EXPECT_EQ(d["data"]["norm_changes"].size(), 3u);
  EXPECT_TRUE(contains(d["message"], "3 layers left at initialisation, first model.3 (BatchNorm2d); normalisation changed at 3 layers"))
      << d.dump(1);
  EXPECT_TRUE(contains(d["data"]["hint"], "normalisation changed: model.3: a BatchNorm2d in the model")) << d.dump(1);

  const CommandResult failing = run_with("relaxed_fail_on_initialised_layers = true\n");
  EXPECT_EQ(failing.exit_code, 1) << failing.out;
  j = results();
  EXPECT_EQ(case_of(unit(j, "cyclegan/v1/checkpoint.pt"), "relaxed-load", "D_A")["outcome"], "fail");
  EXPECT_TRUE(contains(failing.out, "([scenarios] relaxed_fail_on_initialised_layers)")) << failing.out;
  EXPECT_TRUE(contains(failing.out, "hint: normalisation changed: model.3")) << failing.out;
}

// A generator-only file (what pretrained downloads ship): the group says which modules its
// checkpoints hold, and the others are skipped with that reason, not failed.
TEST_F(RunCli, ComponentsAGroupDoesNotHoldAreSkippedNotFailed) {
  const std::string files = "layout = \"state-dict\"\n";
  const CommandResult without = run("--filter 'dcgan@1.0.0/*' --config " + config(group("g-only", {"dcgan/split/generator.pt"}, files)));
  EXPECT_EQ(without.exit_code, 1) << without.out;  // the discriminator "is not in the checkpoint"
  const CommandResult with = run("--filter 'dcgan@1.0.0/*' --config " + config(group("g-only", {"dcgan/split/generator.pt"}, files) +
                                                       "components = [\"generator\"]\n"));
  EXPECT_EQ(with.exit_code, 0) << with.out;
  const Json j = results();
  const Json& u = unit(j, "dcgan@1.0.0/" + fixture("dcgan/split/generator.pt"));
  EXPECT_EQ(outcome(u, "strict-load", "generator"), "pass") << u.dump(1);
  for (const char* s : {"strict-load", "relaxed-load", "shapes", "dtypes", "eval-mode", "train-mode"}) {
    const Json& d = case_of(u, s, "discriminator");
    EXPECT_EQ(d["outcome"], "skipped") << s << d.dump(1);
    EXPECT_TRUE(contains(d["message"], "the group's checkpoints hold only generator ([[checkpoints]] components)")) << d.dump(1);
  }
  EXPECT_EQ(outcome(u, "optimizer-state", "discriminator_optimizer"), "skipped");
  EXPECT_TRUE(contains(case_of(u, "resume-determinism")["message"], "training does not resume from them"));
}

// pytorch-CycleGAN-and-pix2pix names its files "<epoch>_net_<module>.pth": epoch_from finds
// the epoch there; "latest_net_G.pth" holds none, and epoch-resume says so.
TEST_F(RunCli, EpochFromTheFileName) {
  for (const char* prefix : {"12", "latest"}) copy_net_files(dir_, prefix, {"G_A", "G_B", "D_A", "D_B"});
  const std::string cfg = cyclegan_config(
      "[scenarios]\nrun = [\"epoch-resume\"]\n[[checkpoints]]\nplugins = [\"cyclegan@1.*\"]\nlayout = \"net-files\"\n"
      "epoch_from = '^(\\d+)_net_'\nfirst_epoch = 1\nfiles = [\"12_net_G_A.pth\", \"latest_net_G_A.pth\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const Json j = results();
  const Json& numbered = case_of(unit(j, "12_net_G_A.pth"), "epoch-resume");
  EXPECT_EQ(numbered["outcome"], "pass") << numbered.dump(1);
  EXPECT_EQ(numbered["data"]["epoch"], 12);
  EXPECT_EQ(numbered["data"]["resume_epoch"], 13);
  const Json& latest = case_of(unit(j, "latest_net_G_A.pth"), "epoch-resume");
  EXPECT_EQ(latest["outcome"], "skipped");
  EXPECT_TRUE(contains(latest["message"], "the file name 'latest_net_G_A.pth' holds no epoch by epoch_from")) << latest.dump(1);

  std::ofstream(cfg) << "[[checkpoints]]\nfiles = [\"12_net_G_A.pth\"]\nepoch_from = '^\\d+_net_'\n";
  const CommandResult bad = run("--config " + cfg);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.out, "harness.toml:3:14: [[checkpoints]] 'checkpoints[0]' epoch_from '^\\d+_net_': it has 0 groups, expected one"))
      << bad.out;
}

// The hints diff and the reports give are in the console too, once per unit.
TEST_F(RunCli, HintsAreInTheConsole) {
  const CommandResult r = run("--config " + config("[scenarios]\nrun = [\"strict-load\"]\n" +
                                                   group("dp", {"dcgan/dataparallel.pt"})));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const std::string hint = "hint: every checkpoint key starts with 'module.'";
  const std::size_t first = r.out.find(hint);
  ASSERT_NE(first, std::string::npos) << r.out;
  const std::size_t summary = r.out.find("Unexpected failures and errors");
  ASSERT_NE(summary, std::string::npos) << r.out;
  EXPECT_LT(first, summary) << "under the unit's failures as they stream";
  EXPECT_NE(r.out.find(hint, summary), std::string::npos) << "and in the summary\n" << r.out;
}

// A repository whose config lies in ci/ and whose checkpoints and plugin lie beside it
// (../ckpts, ../plugins): ids, reports and the baseline name them relative to the config,
// so a baseline written in one checkout holds in another.
TEST_F(RunCli, PathsAreTheSameFromAnyCheckout) {
  namespace fs = std::filesystem;
  const fs::path first = dir_ / "checkout-a";
  for (const char* d : {".git", "ci", "ckpts", "plugins"}) fs::create_directories(first / d);
  fs::copy_file(fixture("dcgan/current.pt"), first / "ckpts/current.pt");
  fs::copy_file(fixture("dcgan/v2/current.pt"), first / "ckpts/v2.pt");
  fs::copy_file(fs::path(CKPT_HARNESS_BIN).parent_path() / "plugins/dcgan_v1.so", first / "plugins/dcgan_v1.so");
  std::ofstream(first / "ci/harness.toml")
      << "[run]\nexpectations_file = \"baseline.toml\"\n[plugins]\npaths = [\"../plugins\"]\n"
      << "[plugins.dcgan]\noptions = { nz = 16, ngf = 4, ndf = 4 }\n[scenarios]\nrun = [\"strict-load\", \"shapes\"]\n"
      << "[[checkpoints]]\nplugins = [\"dcgan\"]\nfiles = [\"../ckpts/*.pt\"]\n"
      << "[[expectations]]\nplugin = \"dcgan\"\ncheckpoints = [\"../ckpts/v2.pt\"]\nscenario = \"shapes\"\n";
  auto run_in = [&](const fs::path& checkout, const std::string& extra) {
    return run_command("cd " + (checkout / "ci").string() + " && " + CKPT_HARNESS_BIN + " run --config harness.toml " + extra +
                       " --report-dir ../report 2>&1");
  };
  const CommandResult written = run_in(first, "--update-expectations");
  EXPECT_EQ(written.exit_code, 1) << written.out;  // v2's strict-load fails: not yet expected
  EXPECT_TRUE(contains(written.out, "expectations baseline written: baseline.toml (review it with git diff)")) << written.out;
  std::ifstream baseline_in(first / "ci/baseline.toml");
  const std::string baseline((std::istreambuf_iterator<char>(baseline_in)), {});
  EXPECT_TRUE(contains(baseline, "checkpoints = [\"../ckpts/v2.pt\"]")) << baseline;
  EXPECT_FALSE(contains(baseline, dir_.string())) << baseline;
  EXPECT_FALSE(contains(baseline, "shapes")) << "the inline expectation matched ../ckpts/v2.pt\n" << baseline;

  const fs::path second = dir_ / "elsewhere" / "checkout-b";
  fs::create_directories(second.parent_path());
  fs::rename(first, second);
  const CommandResult again = run_in(second, "");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  for (const char* report : {"results.json", "junit.xml", "report.html"}) {
    std::ifstream in(second / "report" / report);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_FALSE(contains(text, dir_.string())) << report << " names a path of this machine";
    EXPECT_TRUE(contains(text, "../ckpts/v2.pt")) << report;
  }
  EXPECT_FALSE(contains(again.out, dir_.string())) << again.out;
  EXPECT_TRUE(contains(again.out, "dcgan@1.0.0/../ckpts/v2.pt")) << again.out;
}

// The default config drops the old InstanceNorm running statistics as the project's own
// loader does: 1.x loads the checkpoint strictly, and the report says what was dropped.
TEST_F(RunCli, DropRulesLoadWhatTheTeamsLoaderLoads) {
  const CommandResult r = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN +
                                      " run --filter 'cyclegan@1.0.0/fixtures/cyclegan/v1/instance_norm_running_stats.pt/*' "
                                      "--report-dir " + report_dir() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const Json j = results();
  const Json& strict = case_of(unit(j, "cyclegan@1.0.0/fixtures/cyclegan/v1/instance_norm_running_stats.pt"), "strict-load", "G_A");
  EXPECT_EQ(strict["outcome"], "pass") << strict.dump(1);
  EXPECT_TRUE(contains(strict.dump(), "(running_mean|running_var|num_batches_tracked)$' dropped 51 of 87 keys")) << strict.dump(1);
}

// save_networks files: a unit reads the siblings of its file, and each passes the format
// checks as the main file does; so does `inspect --config`.
TEST_F(RunCli, NetFilesSiblingsAreScannedLikeTheMainFile) {
  const std::filesystem::path nets = dir_ / "nets";
  copy_net_files(nets, "latest", {"G_A", "G_B", "D_B"});
  std::filesystem::copy_file(fixture("namespace_args.pt"), nets / "latest_net_D_A.pth");  // an argparse.Namespace
  const std::string cfg = cyclegan_config("[scenarios]\nrun = [\"format\"]\n[[checkpoints]]\nplugins = [\"cyclegan@1.*\"]\n"
                                          "layout = \"net-files\"\nfiles = [\"nets/latest_net_G_A.pth\"]\n");
  const CommandResult r = run("--config " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const Json j = results();
  const Json& format = case_of(unit(j, "nets/latest_net_G_A.pth"), "format");
  EXPECT_EQ(format["outcome"], "fail") << format.dump(1);
  EXPECT_TRUE(contains(format["message"], "argparse.Namespace")) << format.dump(1);
  EXPECT_TRUE(contains(format["details"], "latest_net_D_A.pth")) << format.dump(1);
  EXPECT_EQ(format["data"]["files"].size(), 4u) << format.dump(1);

  const CommandResult inspected = run_command(std::string(CKPT_HARNESS_BIN) + " inspect --config " + cfg + " 2>&1");
  EXPECT_EQ(inspected.exit_code, 1) << inspected.out;
  EXPECT_TRUE(contains(inspected.out, "argparse.Namespace")) << inspected.out;
  EXPECT_TRUE(contains(inspected.out, "latest_net_D_B.pth")) << inspected.out;
  // On the command line, the same with the layout; without it, the file alone.
  const std::string g_a = (nets / "latest_net_G_A.pth").string();
  EXPECT_EQ(run_command(std::string(CKPT_HARNESS_BIN) + " inspect " + g_a + " --layout net-files 2>&1").exit_code, 1);
  EXPECT_EQ(run_command(std::string(CKPT_HARNESS_BIN) + " inspect " + g_a + " 2>&1").exit_code, 0);
}

TEST_F(RunCli, SnganVersionHistoryOnTheDefaultConfig) {
  // The conditional SN-GAN (plugins/sngan/): three versions, each checking the checkpoint
  // of every version (fixtures/sngan/vN/checkpoint.pt), as ckpt-harness.toml declares.
  const CommandResult r = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN +
                                      " run --filter 'sngan*' --report-dir " + report_dir() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "PASSED: every checkpoint behaves as expected")) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nfixtures/sngan/v2/checkpoint\.pt +expected-fail +pass +expected-fail *\n)"))) << r.out;
  const Json j = results();
  EXPECT_EQ(j["totals"]["failed"], 0);
  EXPECT_EQ(j["totals"]["errors"], 0);
  const std::string versions[] = {"1.0.0", "2.0.0", "3.0.0"};
  auto id = [](const std::string& version, int written_by) {
    return "sngan@" + version + "/fixtures/sngan/v" + std::to_string(written_by) + "/checkpoint.pt";
  };
  auto shape_keys = [](const Json& c) {
    Json keys = Json::array();
    for (const auto& m : c["data"]["shape_mismatches"]) keys.push_back(m["key"]);
    return keys;
  };

  // Each version on its own checkpoint: every scenario runs and passes, nothing skipped.
  for (int v = 1; v <= 3; ++v) {
    const Json& own = unit(j, id(versions[v - 1], v));
    for (const auto& c : own["cases"]) EXPECT_EQ(c["outcome"], "pass") << id(versions[v - 1], v) << "\n" << c.dump(1);
    for (const char* s : {"strict-load", "relaxed-load", "shapes", "dtypes", "eval-mode", "train-mode", "golden-output"}) {
      for (const char* module : {"generator", "discriminator"}) EXPECT_EQ(outcome(own, s, module), "pass") << v << " " << s << " " << module;
    }
    for (const char* o : {"generator_optimizer", "discriminator_optimizer"}) EXPECT_EQ(outcome(own, "optimizer-state", o), "pass") << v;
    for (const char* s : {"format", "epoch-resume", "resume-determinism"}) EXPECT_EQ(outcome(own, s), "pass") << v << " " << s;
    EXPECT_EQ(case_of(own, "golden-output", "discriminator")["data"]["elements_outside"], 0);
    EXPECT_EQ(case_of(own, "epoch-resume")["data"]["resume_epoch"], 2);
  }

  // 2.0 (20 classes) on the 1.x checkpoint: exactly the class embeddings differ in shape.
  const Json& classes = unit(j, id("2.0.0", 1));
  for (const char* s : {"strict-load", "shapes"}) {
    EXPECT_EQ(outcome(classes, s, "generator"), "expected-fail") << s;
    EXPECT_EQ(outcome(classes, s, "discriminator"), "expected-fail") << s;
    EXPECT_EQ(shape_keys(case_of(classes, s, "generator")), Json::array({"embed.weight"})) << s;
    EXPECT_EQ(shape_keys(case_of(classes, s, "discriminator")), Json::array({"embed.weight_orig", "embed.weight_u"})) << s;
  }
  EXPECT_EQ(case_of(classes, "strict-load", "discriminator")["data"]["missing"], Json::array());
  EXPECT_EQ(case_of(classes, "strict-load", "discriminator")["data"]["unexpected"], Json::array());
  EXPECT_EQ(outcome(classes, "relaxed-load", "discriminator"), "pass");
  EXPECT_EQ(outcome(classes, "optimizer-state", "generator_optimizer"), "expected-fail");
  EXPECT_EQ(outcome(classes, "golden-output", "generator"), "skipped");

  // 3.0 (no spectral norm on the output linear) on 1.x and 2.x checkpoints: renamed keys.
  for (int written_by : {1, 2}) {
    const Json& renamed = unit(j, id("3.0.0", written_by));
    const Json& c = case_of(renamed, "strict-load", "discriminator");
    EXPECT_EQ(c["outcome"], "expected-fail") << c.dump(1);
    EXPECT_EQ(c["data"]["missing"], Json::array({"linear.weight"})) << c.dump(1);
    EXPECT_EQ(c["data"]["unexpected"], Json::array({"linear.weight_orig", "linear.weight_u", "linear.weight_v"})) << c.dump(1);
    EXPECT_EQ(outcome(renamed, "optimizer-state", "discriminator_optimizer"), "expected-fail") << written_by;
    EXPECT_EQ(outcome(renamed, "relaxed-load", "discriminator"), "pass") << written_by;
  }
  // Only the rename between 2.x and 3.x: the generator is untouched and still reproduces its outputs.
  const Json& v3_on_v2 = unit(j, id("3.0.0", 2));
  EXPECT_EQ(shape_keys(case_of(v3_on_v2, "strict-load", "discriminator")), Json::array());
  EXPECT_EQ(outcome(v3_on_v2, "strict-load", "generator"), "pass");
  EXPECT_EQ(outcome(v3_on_v2, "golden-output", "generator"), "pass");
  // ... and the other way round: older versions on the 3.x checkpoint.
  for (const std::string version : {"1.0.0", "2.0.0"}) {
    const Json& c = case_of(unit(j, id(version, 3)), "strict-load", "discriminator");
    EXPECT_EQ(c["outcome"], "expected-fail") << c.dump(1);
    EXPECT_EQ(c["data"]["missing"], Json::array({"linear.weight_orig", "linear.weight_u", "linear.weight_v"})) << c.dump(1);
    EXPECT_EQ(c["data"]["unexpected"], Json::array({"linear.weight"})) << c.dump(1);
  }
}

TEST_F(RunCli, CycleganVersionHistoryOnTheDefaultConfig) {
  // The CycleGAN of pytorch-CycleGAN-and-pix2pix (plugins/cyclegan/): three versions, each
  // checking every checkpoint of fixtures/cyclegan/, as ckpt-harness.toml declares.
  const CommandResult r = run_command(std::string("cd ") + CKPT_FIXTURES_DIR + "/.. && " + CKPT_HARNESS_BIN +
                                      " run --filter 'cyclegan*' --report-dir " + report_dir() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "PASSED: every checkpoint behaves as expected")) << r.out;
  for (const char* row : {R"(v1/checkpoint\.pt +pass +expected-fail +expected-fail *\n)",
                          R"(v2/checkpoint\.pt +expected-fail +pass +expected-fail *\n)",
                          R"(v3/checkpoint\.pt +expected-fail +expected-fail +pass *\n)",
                          R"(v1/split/latest_net_G_A\.pth +pass +expected-fail +expected-fail *\n)",
                          R"(v1/instance_norm_running_stats\.pt +pass +expected-fail +expected-fail *\n)"}) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string(R"(\nfixtures/cyclegan/)") + row))) << row << "\n" << r.out;
  }
  const Json j = results();
  EXPECT_EQ(j["totals"]["failed"], 0);
  EXPECT_EQ(j["totals"]["errors"], 0);
  EXPECT_EQ(j["totals"]["stale_expectations"], 0);
  const std::string versions[] = {"1.0.0", "2.0.0", "3.0.0"};
  const char* modules[] = {"G_A", "G_B", "D_A", "D_B"};
  auto id = [](const std::string& version, const std::string& file) { return "cyclegan@" + version + "/fixtures/cyclegan/" + file; };
  auto shape_keys = [](const Json& c) {
    Json keys = Json::array();
    for (const auto& m : c["data"]["shape_mismatches"]) keys.push_back(m["key"]);
    return keys;
  };
  // Each version on its own checkpoint: every scenario runs and passes, nothing skipped.
  for (int v = 1; v <= 3; ++v) {
    const std::string own_id = id(versions[v - 1], "v" + std::to_string(v) + "/checkpoint.pt");
    const Json& own = unit(j, own_id);
    for (const auto& c : own["cases"]) EXPECT_EQ(c["outcome"], "pass") << own_id << "\n" << c.dump(1);
    for (const char* s : {"strict-load", "relaxed-load", "shapes", "dtypes", "eval-mode", "train-mode", "golden-output"}) {
      for (const char* m : modules) EXPECT_EQ(outcome(own, s, m), "pass") << own_id << " " << s << " " << m;
    }
    for (const char* o : {"optimizer_G", "optimizer_D"}) EXPECT_EQ(outcome(own, "optimizer-state", o), "pass") << own_id << " " << o;
    for (const char* s : {"format", "epoch-resume", "resume-determinism"}) EXPECT_EQ(outcome(own, s), "pass") << own_id << " " << s;
    EXPECT_EQ(case_of(own, "epoch-resume")["data"]["resume_epoch"], 4);  // epoch 3 of 3 one-step epochs, from 1
    for (const char* m : modules) EXPECT_EQ(case_of(own, "golden-output", m)["data"]["elements_outside"], 0) << own_id << " " << m;
  }

  // 2.0's 9 residual blocks on the 1.x checkpoint: the declared keys, exactly; the
  // discriminators did not change and still reproduce their outputs.
  const Json& blocks = unit(j, id("2.0.0", "v1/checkpoint.pt"));
  for (const char* g : {"G_A", "G_B"}) {
    const Json& c = case_of(blocks, "strict-load", g);
    EXPECT_EQ(c["outcome"], "expected-fail") << c.dump(1);
    EXPECT_TRUE(contains(c["expectation"], "2.0 has 9 residual blocks")) << c.dump(1);
    EXPECT_EQ(c["data"]["unexpected"], Json::array({"model.16.weight", "model.16.bias", "model.23.weight", "model.23.bias"}));
    EXPECT_EQ(c["data"]["missing"].size(), 16u);
    EXPECT_EQ(shape_keys(c), Json::array({"model.19.weight", "model.19.bias"}));
    EXPECT_EQ(outcome(blocks, "relaxed-load", g), "expected-fail");
    EXPECT_EQ(outcome(blocks, "golden-output", g), "skipped");
  }
  for (const char* d : {"D_A", "D_B"}) {
    EXPECT_EQ(outcome(blocks, "strict-load", d), "pass") << d;
    EXPECT_EQ(outcome(blocks, "golden-output", d), "pass") << d;
  }
  EXPECT_EQ(outcome(blocks, "optimizer-state", "optimizer_G"), "expected-fail");
  EXPECT_EQ(outcome(blocks, "optimizer-state", "optimizer_D"), "pass");

  // 3.0's batch norm on the 2.x checkpoint: no shape changes, only keys; the norm layers'
  // state is missing and the biases before them are left over.
  const Json& norm = unit(j, id("3.0.0", "v2/checkpoint.pt"));
  for (const char* d : {"D_A", "D_B"}) {
    const Json& c = case_of(norm, "strict-load", d);
    EXPECT_EQ(c["outcome"], "expected-fail") << c.dump(1);
    EXPECT_EQ(c["data"]["unexpected"], Json::array({"model.2.bias", "model.5.bias", "model.8.bias"})) << c.dump(1);
    EXPECT_EQ(c["data"]["missing"].size(), 15u) << c.dump(1);  // weight, bias, running_mean, running_var, num_batches_tracked x 3
    EXPECT_EQ(shape_keys(c), Json::array());
  }
  for (const char* g : {"G_A", "G_B"}) {
    EXPECT_EQ(outcome(norm, "strict-load", g), "expected-fail") << g;
    EXPECT_EQ(outcome(norm, "shapes", g), "pass") << g;
    EXPECT_EQ(outcome(norm, "relaxed-load", g), "pass") << g;  // every conv weight fits
  }
  for (const char* o : {"optimizer_G", "optimizer_D"}) EXPECT_EQ(outcome(norm, "optimizer-state", o), "expected-fail") << o;

  // The save_networks files (layout net-files): naming latest_net_G_A.pth finds all four
  // networks, each in its own file; no optimizer state is a warning, no epoch a skip.
  const Json& files = unit(j, id("1.0.0", "v1/split/latest_net_G_A.pth"));
  for (const char* m : modules) {
    const Json& c = case_of(files, "strict-load", m);
    EXPECT_EQ(c["outcome"], "pass") << c.dump(1);
    EXPECT_TRUE(contains(c["data"]["source"], std::string("fixtures/cyclegan/v1/split/latest_net_") + m + ".pth")) << c.dump(1);
    for (const char* s : {"eval-mode", "train-mode"}) EXPECT_EQ(outcome(files, s, m), "pass") << s << " " << m;
  }
  for (const char* o : {"optimizer_G", "optimizer_D"}) {
    EXPECT_EQ(outcome(files, "optimizer-state", o), "pass") << o;
    EXPECT_TRUE(case_of(files, "optimizer-state", o)["data"]["warning"].get<bool>()) << o;
  }
  EXPECT_EQ(outcome(files, "epoch-resume"), "skipped");
  EXPECT_EQ(outcome(files, "resume-determinism"), "pass");

  // Instance norm with running statistics: the group's drop rule removes them, as the
  // project's loader does, and 1.x loads every module strictly; each report names the rule.
  const Json& stats = unit(j, id("1.0.0", "v1/instance_norm_running_stats.pt"));
  for (const char* m : modules) {
    const Json& c = case_of(stats, "strict-load", m);
    EXPECT_EQ(c["outcome"], "pass") << c.dump(1);
    ASSERT_EQ(c["data"]["applied_rules"].size(), 1u) << m;
    EXPECT_TRUE(contains(c["data"]["applied_rules"][0], std::string(m)[0] == 'D' ? "dropped 9 of " : "dropped 51 of ")) << c.dump(1);
    EXPECT_EQ(outcome(stats, "relaxed-load", m), "pass") << m;
  }
  for (const char* o : {"optimizer_G", "optimizer_D"}) EXPECT_EQ(outcome(stats, "optimizer-state", o), "pass") << o;
  EXPECT_EQ(outcome(stats, "epoch-resume"), "pass");
}

}  // namespace
}  // namespace ckpt::test
