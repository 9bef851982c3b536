// Differential test of the engine: for every DCGAN fixture (fixtures/dcgan/manifest.json)
// the dcgan plugin's comparison must give exactly what Python's load_state_dict reports
// (load_state_dict_oracle.py, run by CTest first), loaded tensors must hash like
// Python's, and an optimizer state is loadable exactly when Python loads it and steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/optimizer_state_key.hpp"
#include "differential/describe_checkpoint.hpp"
#include "engine/apply.hpp"
#include "engine/layout.hpp"
#include "engine/optimizer_state.hpp"
#include "engine/torch_schema.hpp"
#include "plugin_host/plugin_host.hpp"
#include "support/test_paths.hpp"
#include "tensor/materialize.hpp"

#include <torch/optim/adam.h>

namespace ckpt::test {
namespace {
using Json = nlohmann::json;

Json read_json(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

const Json& manifest() {
  static const Json m = read_json(fixture("dcgan/manifest.json"));
  return m;
}

const Json& oracle() {
  static const Json o = read_json(std::string(CKPT_ORACLE_DIR) + "/dcgan_oracle.json");
  return o;
}

std::vector<PathStep> path_of(const Json& steps) {
  std::vector<PathStep> out;
  if (steps.is_null()) return out;
  for (const auto& s : steps) out.push_back(s.is_number() ? PathStep{"", s.get<std::int64_t>()} : PathStep{s.get<std::string>()});
  return out;
}

struct Case {
  std::string file;
  Json entry;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.file; }

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& c : manifest()["checkpoints"]) out.push_back({c["file"], c});
  return out;
}

CheckpointLayout layout_of(const Json& entry) {
  CheckpointLayout layout;
  layout.name = "manifest";
  for (const auto& [name, c] : entry["components"].items()) {
    layout.modules[name] = {fixture("dcgan/" + c["file"].get<std::string>()), path_of(c["path"]), c["prefix"]};
  }
  for (const auto& [name, o] : entry["optimizers"].items()) {
    if (!o.is_null()) layout.optimizers[name] = {fixture("dcgan/" + o["file"].get<std::string>()), path_of(o["path"]), ""};
  }
  for (const auto& r : entry["key_rules"]) layout.key_rules.push_back({r["pattern"], r["replace"]});
  return layout;
}

std::string main_file(const Json& entry) {
  return fixture("dcgan/" + entry["components"]["generator"]["file"].get<std::string>());
}

Options model_options() {
  Options o;
  for (const char* k : {"nz", "ngf", "ndf", "nc"}) o[k] = std::to_string(manifest()["model"][k].get<int>());
  return o;
}

std::shared_ptr<Plugin> dcgan() {
  static std::shared_ptr<Plugin> plugin = Plugin::load(CKPT_DCGAN_PLUGIN);
  return plugin;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class EngineDifferential : public ::testing::TestWithParam<Case> {};

TEST_P(EngineDifferential, ComparisonEqualsLoadStateDict) {
  const Case& c = GetParam();
  const Json& expected = oracle().at(c.file);
  const CheckpointLayout layout = layout_of(c.entry);
  CheckpointSet files(main_file(c.entry));
  LoadedModel model = dcgan()->build(model_options());
  for (const auto& module : model.model().modules) {
    SCOPED_TRACE(c.file + " " + module.name);
    const Json& want = expected["components"][module.name];
    const StateDict state = extract_state_dict(files, layout.modules.at(module.name), layout.key_rules);
    const ModuleComparison got = compare_module(schema_of(module.name, *module.module), state);
    EXPECT_EQ(sorted(got.missing), sorted(want["missing_keys"].get<std::vector<std::string>>()));
    EXPECT_EQ(sorted(got.unexpected), sorted(want["unexpected_keys"].get<std::vector<std::string>>()));
    std::set<std::string> got_sizes, want_sizes;
    for (const auto& m : got.shape_mismatches) {
      got_sizes.insert(m.key + Json(m.checkpoint).dump() + Json(m.model).dump());
    }
    for (const auto& m : want["size_mismatches"]) {
      want_sizes.insert(m["key"].get<std::string>() + m["checkpoint_shape"].dump() + m["model_shape"].dump());
    }
    EXPECT_EQ(got_sizes, want_sizes);
    EXPECT_EQ(got.strictly_loadable(), want["strict_loadable"].get<bool>());
    if (got.strictly_loadable()) {
      EXPECT_EQ(got.pytorch_message(), "");
    } else {
      // PyTorch's wording, but for the class name (Python's Generator is our module 'generator').
      EXPECT_NE(got.pytorch_message().find("Error(s) in loading state_dict for " + module.name + ":"), std::string::npos);
    }

    // Where Python's load went through, ours loads the same values, bit for bit.
    if (!want["tensor_sha256"].is_null()) {
      load_relaxed(*module.module, got, state);
      const std::set<std::string> missing(got.missing.begin(), got.missing.end());
      std::map<std::string, at::Tensor> tensors;
      for (const auto& p : module.module->named_parameters()) tensors[p.key()] = p.value();
      for (const auto& b : module.module->named_buffers()) tensors[b.key()] = b.value();
      for (const auto& [key, sha] : want["tensor_sha256"].items()) {
        if (missing.count(key)) continue;  // left at initialisation, which differs between the two
        const at::Tensor t = tensors.at(key).contiguous();
        EXPECT_EQ(sha256_hex(t.data_ptr(), t.numel() * t.element_size()), sha.get<std::string>()) << key;
      }
    }
  }
}

TEST_P(EngineDifferential, OptimizerLoadableExactlyWhenPythonSteps) {
  const Case& c = GetParam();
  const Json& expected = oracle().at(c.file)["optimizers"];
  const CheckpointLayout layout = layout_of(c.entry);
  CheckpointSet files(main_file(c.entry));
  LoadedModel model = dcgan()->build(model_options());
  bool all_loaded = true;
  for (auto& optimizer : model.model().optimizers) {
    SCOPED_TRACE(c.file + " " + optimizer.name);
    const Json& want = expected[optimizer.name];
    auto source = layout.optimizers.find(optimizer.name);
    if (want.is_null()) {
      EXPECT_EQ(source, layout.optimizers.end());
      all_loaded = false;
      continue;
    }
    const Value* saved = resolve_path(files.get(source->second.file), source->second.path);
    ASSERT_NE(saved, nullptr);
    const SavedOptimizerState state = read_saved_optimizer(*saved);
    const OptimizerComparison got = compare_optimizer(optimizer, &state, source->second.file);
    EXPECT_EQ(got.loadable(), want["loaded"].get<bool>() && want["step_ok"].get<bool>())
        << "problems: " << (got.problems.empty() ? "none" : got.problems.front());
    if (got.loadable()) {
      load_optimizer_state(optimizer, state);
      // The loaded state is the checkpoint's: compare the first parameter's tensors.
      const at::Tensor param = optimizer.optimizer->param_groups()[0].params()[0];
      const auto& slot = *optimizer.optimizer->state().at(optimizer_state_key(param));
      if (const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(&slot)) {
        const Value* saved_avg = state.state.at(0).at("exp_avg");
        EXPECT_TRUE(adam->exp_avg().equal(materialize(saved_avg->tensor)));
      }
    } else {
      all_loaded = false;
    }
  }
  if (all_loaded) {
    EXPECT_TRUE(dcgan()->train_step(model, 0));  // one training step runs on the loaded state
  }
}

INSTANTIATE_TEST_SUITE_P(Dcgan, EngineDifferential, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.file;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ckpt::test
