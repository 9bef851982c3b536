// The engine's metadata-only parts on hand-built schemas and state dicts: key rules,
// prefix hints, PyTorch's comparison rules and wording, and layout errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/compare.hpp"
#include "engine/key_rules.hpp"
#include "engine/layout.hpp"
#include "engine/norm_migrations.hpp"
#include "engine/saved_optimizer.hpp"
#include "engine/saved_schedulers.hpp"
#include "reader/checkpoint.hpp"
#include "support/read_helpers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

// A state dict over tensors of the given shapes (float32), backed by one arena.
class StateBuilder {
 public:
  StateBuilder& tensor(const std::string& key, std::vector<std::int64_t> shape, DType dtype = DType::kFloat32) {
    Value* v = arena_.make(ValueKind::kTensor);
    v->tensor.dtype = dtype;
    v->tensor.sizes = std::move(shape);
    state_.entries.push_back({key, key, v});
    return *this;
  }
  StateBuilder& scalar(const std::string& key) {
    Value* v = arena_.make(ValueKind::kInt);
    state_.entries.push_back({key, key, v});
    return *this;
  }
  StateBuilder& version(const std::string& prefix, std::int64_t v) {
    state_.versions[prefix] = v;
    return *this;
  }
  StateDict& get() { return state_; }

 private:
  ValueArena arena_;
  StateDict state_;
};

ModuleSchema linear_bn_schema() {
  ModuleSchema s;
  s.name = "generator";
  s.tensors = {{"fc.weight", DType::kFloat32, {4, 3}, false},
               {"fc.bias", DType::kFloat32, {4}, false},
               {"bn.weight", DType::kFloat32, {4}, false},
               {"bn.running_mean", DType::kFloat32, {4}, true},
               {"bn.num_batches_tracked", DType::kInt64, {}, true}};
  s.submodules = {{"", "Net", false}, {"fc", "torch::nn::Linear", false}, {"bn", "torch::nn::BatchNorm1d", true}};
  return s;
}

TEST(Compare, IdenticalStateDict) {
  StateBuilder b;
  b.tensor("fc.weight", {4, 3}).tensor("fc.bias", {4}).tensor("bn.weight", {4}).tensor("bn.running_mean", {4});
  b.tensor("bn.num_batches_tracked", {}, DType::kInt64).version("bn", 2);
  const ModuleComparison c = compare_module(linear_bn_schema(), b.get());
  EXPECT_TRUE(c.identical());
  EXPECT_EQ(c.pytorch_message(), "");
  EXPECT_EQ(c.model_tensors, 5u);
}

TEST(Compare, EveryKindOfProblemInPyTorchWording) {
  StateBuilder b;
  b.tensor("fc.weight", {8, 3}).scalar("fc.bias").tensor("bn.weight", {4}, DType::kFloat16).tensor("extra.weight", {2});
  b.version("bn", 2);
  const ModuleComparison c = compare_module(linear_bn_schema(), b.get());
  EXPECT_EQ(c.missing, (std::vector<std::string>{"bn.running_mean", "bn.num_batches_tracked"}));
  EXPECT_EQ(c.unexpected, (std::vector<std::string>{"extra.weight"}));
  ASSERT_EQ(c.shape_mismatches.size(), 1u);
  ASSERT_EQ(c.dtype_mismatches.size(), 1u);
  EXPECT_EQ(c.dtype_mismatches[0].key, "bn.weight");
  ASSERT_EQ(c.non_tensors.size(), 1u);
  EXPECT_FALSE(c.strictly_loadable());
  EXPECT_EQ(c.pytorch_message(),
            "Error(s) in loading state_dict for generator:\n"
            "\tMissing key(s) in state_dict: \"bn.running_mean\", \"bn.num_batches_tracked\". \n"
            "\tUnexpected key(s) in state_dict: \"extra.weight\". \n"
            "\tsize mismatch for fc.weight: copying a param with shape torch.Size([8, 3]) from checkpoint, the shape in "
            "current model is torch.Size([4, 3]).\n"
            "\tWhile copying the parameter named \"fc.bias\", expected torch.Tensor or Tensor-like object from checkpoint "
            "but received <class 'int'>");
}

TEST(Compare, DtypeDifferenceAloneIsStillStrictlyLoadable) {
  StateBuilder b;
  b.tensor("fc.weight", {4, 3}, DType::kFloat16).tensor("fc.bias", {4}).tensor("bn.weight", {4});
  b.tensor("bn.running_mean", {4}).tensor("bn.num_batches_tracked", {}, DType::kInt64);
  const ModuleComparison c = compare_module(linear_bn_schema(), b.get());
  EXPECT_TRUE(c.strictly_loadable());
  EXPECT_FALSE(c.identical());
}

TEST(Compare, BatchNormVersionOneMigratesNumBatchesTracked) {
  StateBuilder v1;
  v1.tensor("fc.weight", {4, 3}).tensor("fc.bias", {4}).tensor("bn.weight", {4}).tensor("bn.running_mean", {4});
  v1.version("bn", 1);
  const ModuleComparison c = compare_module(linear_bn_schema(), v1.get());
  EXPECT_TRUE(c.strictly_loadable());
  EXPECT_EQ(c.migrated, (std::vector<std::string>{"bn.num_batches_tracked"}));

  StateBuilder v2;  // version 2 says the key should be there: it is missing
  v2.tensor("fc.weight", {4, 3}).tensor("fc.bias", {4}).tensor("bn.weight", {4}).tensor("bn.running_mean", {4});
  v2.version("bn", 2);
  EXPECT_EQ(compare_module(linear_bn_schema(), v2.get()).missing, (std::vector<std::string>{"bn.num_batches_tracked"}));
}

TEST(Compare, ZeroDimParameterAcceptsOneElementVector) {
  ModuleSchema s;
  s.name = "m";
  s.tensors = {{"scale", DType::kFloat32, {}, false}};
  StateBuilder b;
  b.tensor("scale", {1});
  EXPECT_TRUE(compare_module(s, b.get()).strictly_loadable());
}

// Sparse, quantized and meta tensors of the model's shape that copy_ still refuses: the
// verdict and the words are PyTorch 2.6's own (fixtures/pytorch2/oracle/load_state_dict.json).
TEST(Compare, TensorsCopyRefusesAsPyTorch26Says) {
  std::ifstream in(fixture("pytorch2/oracle/load_state_dict.json"));
  const auto torch = nlohmann::json::parse(in)["tensor_kinds.pt"];
  const Checkpoint c = read_checkpoint(fixture("pytorch2/tensor_kinds.pt"));
  const std::map<std::string, const Value*> cases{{"sparse_coo", c.root().find("sparse")->find("coo")},
                                                  {"sparse_csr", c.root().find("sparse")->find("csr")},
                                                  {"sparse_bsc", c.root().find("sparse")->find("bsc")},
                                                  {"quantized", c.root().find("quantized")->find("per_tensor_quint8")},
                                                  {"meta", c.root().find("meta")}};
  ASSERT_EQ(torch.size(), cases.size());
  for (const auto& [name, weight] : cases) {
    const std::int64_t rows = weight->tensor.sizes[0], cols = weight->tensor.sizes[1];
    ModuleSchema linear;
    linear.name = "Linear";
    linear.tensors = {{"weight", DType::kFloat32, {rows, cols}, false}, {"bias", DType::kFloat32, {rows}, false}};
    StateBuilder b;
    b.tensor("bias", {rows});
    b.get().entries.insert(b.get().entries.begin(), {"weight", "weight", weight});
    const ModuleComparison comparison = compare_module(linear, b.get());
    EXPECT_FALSE(comparison.strictly_loadable()) << name;
    EXPECT_EQ(comparison.pytorch_message(), torch[name].get<std::string>()) << name;
    ASSERT_EQ(comparison.uncopyable.size(), 1u) << name;
    EXPECT_TRUE(comparison.dtype_mismatches.empty()) << name;  // quint8: the copy is what fails, said once
  }
}

// Small Python values for hand-built scheduler and optimizer states.
class Py {
 public:
  const Value* num(double x) {
    Value* v = arena_.make(ValueKind::kFloat);
    v->real = x;
    return v;
  }
  const Value* integer(std::int64_t x) {
    Value* v = arena_.make(ValueKind::kInt);
    v->integer = x;
    return v;
  }
  const Value* list(std::vector<double> xs) {
    Value* v = arena_.make(ValueKind::kList);
    for (double x : xs) v->items.push_back(num(x));
    return v;
  }
  const Value* dict(std::vector<std::pair<std::string, const Value*>> entries) {
    Value* d = arena_.make(ValueKind::kDict);
    for (auto& [k, value] : entries) {
      Value* key = arena_.make(ValueKind::kStr);
      key->text = k;
      d->entries.push_back({key, value});
    }
    return d;
  }
  // A PyTorch scheduler state (StepLR's keys) at `last_epoch`.
  const Value* step_lr(std::int64_t last_epoch, std::vector<double> base, std::vector<double> last) {
    return dict({{"step_size", integer(2)}, {"gamma", num(0.5)}, {"base_lrs", list(base)}, {"last_epoch", integer(last_epoch)},
                 {"_step_count", integer(last_epoch + 1)}, {"_last_lr", list(last)}});
  }
  SavedOptimizerState optimizer(std::vector<std::pair<double, double>> lr_and_initial) {
    SavedOptimizerState s;
    for (auto [lr, initial] : lr_and_initial) s.groups.push_back({{{"lr", num(lr)}, {"initial_lr", num(initial)}}, {}});
    return s;
  }

 private:
  ValueArena arena_;
};

// torch.distributed.checkpoint saves every key as a string: one process's state keys are
// indices as strings; get_state_dict's name parameters, numbered in param_groups order.
TEST(SavedOptimizer, DistributedCheckpointsKeyStateByIndexStringsOrByName) {
  const Checkpoint one = read_checkpoint(fixture("pytorch2/dcp/gan_one_process"));
  const SavedOptimizerState by_index = read_saved_optimizer(*one.root().find("generator_optimizer"));
  EXPECT_TRUE(by_index.parameter_names.empty());
  EXPECT_EQ(by_index.state.size(), 13u);
  EXPECT_EQ(by_index.state.begin()->first, 0u);
  const Checkpoint two = read_checkpoint(fixture("pytorch2/dcp/gan_two_ranks"));
  const SavedOptimizerState by_name = read_saved_optimizer(*two.root().find("generator_optimizer"));
  ASSERT_EQ(by_name.parameter_names.size(), 13u);
  EXPECT_EQ(by_name.parameter_names[0], "main.0.weight");
  EXPECT_EQ(by_name.parameter_names[1], "main.1.weight");
  EXPECT_EQ(by_name.groups[0].positions.size(), 13u);
  ASSERT_EQ(by_name.state.count(1), 1u);
  EXPECT_EQ(by_name.state.at(1).at("exp_avg")->tensor.sizes, (std::vector<std::int64_t>{32}));
  EXPECT_EQ(implied_optimizer_class(by_name), "Adam or AdamW");
}

TEST(SavedOptimizer, AdamAndAdamWToldApartOnlyByDecoupledWeightDecay) {
  Py py;
  SavedOptimizerState saved = py.optimizer({{0.001, 0.001}});
  saved.groups[0].hyper["betas"] = py.list({0.9, 0.999});
  EXPECT_EQ(implied_optimizer_class(saved), "Adam or AdamW");  // PyTorch <= 2.6 saves nothing that tells
  for (bool decoupled : {true, false}) {
    ValueArena arena;
    Value* flag = arena.make(ValueKind::kBool);
    flag->boolean = decoupled;
    saved.groups[0].hyper["decoupled_weight_decay"] = flag;
    EXPECT_EQ(implied_optimizer_class(saved), decoupled ? "AdamW" : "Adam");
    EXPECT_EQ(optimizer_classes_agree(implied_optimizer_class(saved), "AdamW"), decoupled);
  }
}

TEST(SavedSchedulers, PairedByNameOrByTheirLearningRatesAndCheckedAgainstTheGroups) {
  Py py;
  const SavedOptimizerState g = py.optimizer({{0.05, 0.1}});
  const SavedOptimizerState other = py.optimizer({{0.3, 0.2}});
  const Value* root = py.dict({{"sched_g", py.step_lr(4, {0.1}, {0.05})},
                               {"warmup", py.step_lr(1, {0.3}, {0.3})},
                               {"two_groups", py.step_lr(1, {0.1, 0.1}, {0.1, 0.1})},
                               {"epoch", py.integer(3)}});
  const auto checks = check_saved_schedulers(*root, {{"opt_g", &g, 10}, {"other", &other, 10}});
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].optimizer, "opt_g");  // by name: sched_g steps opt_g
  EXPECT_EQ(checks[0].scheduler_class, "StepLR");
  EXPECT_TRUE(checks[0].problems.empty()) << checks[0].problems[0];
  EXPECT_EQ(checks[1].optimizer, "other");  // by its learning rates
  ASSERT_EQ(checks[1].problems.size(), 1u);
  EXPECT_EQ(checks[1].problems[0], "warmup starts from base_lrs [0.3], but other's groups have initial_lr [0.2]");
  EXPECT_EQ(checks[2].optimizer, "");  // no name, and no optimizer with its two lrs
  EXPECT_TRUE(checks[2].problems.empty());
}

TEST(SavedSchedulers, APerBatchSchedulerIsAsManyStepsInAsItsOptimizer) {
  Py py;
  const SavedOptimizerState d = py.optimizer({{0.001, 0.00004}});
  auto one_cycle = [&](std::int64_t last_epoch, std::int64_t total) {
    return py.dict({{"total_steps", py.integer(total)}, {"base_lrs", py.list({0.00004})}, {"last_epoch", py.integer(last_epoch)},
                    {"_step_count", py.integer(last_epoch + 1)}, {"_last_lr", py.list({0.001})}});
  };
  const auto in_step = check_saved_schedulers(*py.dict({{"d_scheduler", one_cycle(7, 100)}}), {{"d_optimizer", &d, 7}});
  ASSERT_EQ(in_step.size(), 1u);
  EXPECT_EQ(in_step[0].optimizer, "d_optimizer");
  EXPECT_TRUE(in_step[0].problems.empty());
  const auto behind = check_saved_schedulers(*py.dict({{"d_scheduler", one_cycle(7, 100)}}), {{"d_optimizer", &d, 9}});
  ASSERT_EQ(behind[0].problems.size(), 1u);
  EXPECT_EQ(behind[0].problems[0], "OneCycleLR steps once per batch: d_scheduler has last_epoch 7, but d_optimizer has taken 9 step(s)");
  const auto spent = check_saved_schedulers(*py.dict({{"d_scheduler", one_cycle(100, 100)}}), {{"d_optimizer", &d, 100}});
  ASSERT_EQ(spent[0].problems.size(), 1u);
  EXPECT_NE(spent[0].problems[0].find("Tried to step 101 times. The specified number of total steps is 100"), std::string::npos);
}

TEST(KeyRules, StripDataParallelPrefixAndRecordIt) {
  StateBuilder b;
  b.tensor("module.fc.weight", {4, 3}).tensor("module.fc.bias", {4}).version("module.bn", 1);
  apply_key_rules(b.get(), {{"^module\\.", ""}});
  EXPECT_EQ(b.get().entries[0].key, "fc.weight");
  EXPECT_EQ(b.get().entries[0].original_key, "module.fc.weight");
  EXPECT_EQ(b.get().versions.count("bn"), 1u);
  EXPECT_EQ(b.get().applied_rules, (std::vector<std::string>{"'^module\\.' -> '' rewrote 2 of 2 keys"}));
}

TEST(KeyRules, DropRulesRemoveKeysAsTheTeamsLoaderDoes) {
  // pytorch-CycleGAN-and-pix2pix deletes InstanceNorm running stats before load_state_dict.
  StateBuilder b;
  b.tensor("module.model.1.weight", {4}).tensor("module.model.2.running_mean", {4}).tensor("module.model.2.running_var", {4});
  b.tensor("module.model.2.num_batches_tracked", {}).version("module.model.2", 1);
  apply_key_rules(b.get(), {KeyRule::dropping("\\.(running_mean|running_var|num_batches_tracked)$"), {"^module\\.", ""}});
  ASSERT_EQ(b.get().entries.size(), 1u);
  EXPECT_EQ(b.get().entries[0].key, "model.1.weight");
  EXPECT_EQ(b.get().versions.count("model.2"), 1u);  // a module's version is not a key: kept
  EXPECT_EQ(b.get().applied_rules,
            (std::vector<std::string>{"'\\.(running_mean|running_var|num_batches_tracked)$' dropped 3 of 4 keys",
                                      "'^module\\.' -> '' rewrote 1 of 1 keys"}));
  EXPECT_EQ(KeyRule::dropping("x").text(), "'x' -> (dropped)");
}

TEST(KeyRules, InvalidPatternAndCollisionsAreErrors) {
  StateBuilder b;
  b.tensor("a.weight", {1}).tensor("b.weight", {1});
  EXPECT_THROW(apply_key_rules(b.get(), {{"([", ""}}), KeyRuleError);
  try {
    apply_key_rules(b.get(), {{"^[ab]\\.", ""}});
    FAIL();
  } catch (const KeyRuleError& e) {
    EXPECT_NE(std::string(e.what()).find("two checkpoint keys to 'weight'"), std::string::npos) << e.what();
  }
}

TEST(KeyRules, ReplacementsKeepTheEcmaScriptFormat) {
  // Users write $1, $&, $$ as std::regex_replace read them; RE2's own syntax is \\1.
  StateBuilder b;
  b.tensor("blocks.3.conv.weight", {1}).tensor("head.bias", {1});
  apply_key_rules(b.get(), {{"^blocks\\.([0-9]+)\\.", "layer$1.$$[$&]"}});
  EXPECT_EQ(b.get().entries[0].key, "layer3.$[blocks.3.]conv.weight");
  EXPECT_EQ(b.get().entries[1].key, "head.bias");
}

TEST(KeyRules, EmptyMatchesFollowStdRegexReplace) {
  StateBuilder b;
  b.tensor("aaa", {1}).tensor("abc", {1});
  apply_key_rules(b.get(), {{"a*", "-"}});
  EXPECT_EQ(b.get().entries[0].key, "--");     // "aaa", then the empty match at the end
  EXPECT_EQ(b.get().entries[1].key, "--b-c-");
}

TEST(KeyRules, HostilePatternsAndKeysAreBounded) {
  // 30,000 nested parentheses overflowed std::regex's recursion; RE2 plus a size bound refuse them.
  const std::string nested = std::string(30'000, '(') + std::string(30'000, ')');
  EXPECT_NE(key_rule_pattern_problem(nested).find("over the limit of 1024"), std::string::npos);
  EXPECT_NE(key_rule_pattern_problem("(a").find("missing )"), std::string::npos);
  EXPECT_EQ(key_rule_pattern_problem("^module\\."), "");
  // (.|\n)* on a 200 KB key overflowed the stack; ^(a|aa)*$ backtracked exponentially.
  StateBuilder long_key;
  long_key.tensor(std::string(200'000, 'a'), {1});
  apply_key_rules(long_key.get(), {{"(.|\\n)*", "x"}});
  EXPECT_EQ(long_key.get().entries[0].key, "xx");  // the whole key, then the empty match at its end
  StateBuilder backtracking;
  backtracking.tensor(std::string(41, 'a') + "b", {1}).tensor(std::string(41, 'a'), {1});
  apply_key_rules(backtracking.get(), {{"^(a|aa)*$", "y"}});
  EXPECT_EQ(backtracking.get().entries[0].key, std::string(41, 'a') + "b");
  EXPECT_EQ(backtracking.get().entries[1].key, "y");
}

TEST(KeyRules, PrefixHints) {
  EXPECT_EQ(suggest_prefix_rule({"module.a.w", "module.b.w"}, {"a.w", "b.w"}),
            "every checkpoint key starts with 'module.' (2 match the model without it): add the key rule { pattern = "
            "'^module\\.', replace = '' }");
  EXPECT_NE(suggest_prefix_rule({"a.w", "b.w"}, {"_orig_mod.a.w", "_orig_mod.b.w"}).find("'_orig_mod.'"), std::string::npos);
  EXPECT_EQ(suggest_prefix_rule({"x.w"}, {"a.w"}), "");
  EXPECT_EQ(suggest_prefix_rule({"enc.a.w", "enc.b.w"}, {"backbone.a.w", "backbone.b.w"}),
            "every checkpoint key starts with 'enc.' and every model key with 'backbone.' (2 match once renamed): add the "
            "key rule { pattern = '^enc\\.', replace = 'backbone.' }");
}

// --- PyTorch 2.x optimizer flags (fixtures/pytorch2/, written by PyTorch 2.6) -------------

TEST(TrainingFlags, EachSetFlagIsSaidWithWhatItChanges) {
  const Checkpoint gan = read_checkpoint(fixture("pytorch2/dcgan_adamw.pt"));
  const auto g = explain_training_flags(read_saved_optimizer(*gan.root().find("generator_optimizer")));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].rfind("group 0 foreach=True: the step ran over lists of tensors at once", 0), 0u) << g[0];
  const auto d = explain_training_flags(read_saved_optimizer(*gan.root().find("discriminator_optimizer")));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rfind("group 0 fused=True: the step ran as one fused kernel", 0), 0u) << d[0];
  const Checkpoint sgd = read_checkpoint(fixture("pytorch2/sgd_maximize.pt"));
  const SavedOptimizerState saved = read_saved_optimizer(*sgd.root().find("optimizer"));
  EXPECT_EQ(implied_optimizer_class(saved), "SGD");
  const auto m = explain_training_flags(saved);  // foreach=False, differentiable=False: nothing to say of them
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].rfind("group 0 maximize=True: training ascended its objective", 0), 0u) << m[0];
  // PyTorch 1.13's Adam state (fixtures/gan_dcgan_adam.pt) has none of these flags set.
  const Checkpoint old = read_checkpoint(fixture("gan_dcgan_adam.pt"));
  EXPECT_TRUE(explain_training_flags(read_saved_optimizer(*old.root().find("generator_optimizer"))).empty());
}

// --- spectral norm and weight norm in their old and new key forms --------------------------

const std::vector<std::string> kOldSpectral = {"main.0.bias", "main.0.weight_orig", "main.0.weight_u", "main.0.weight_v",
                                               "main.2.bias", "main.2.weight_orig", "main.2.weight_u", "main.2.weight_v"};
const std::vector<std::string> kNewSpectral = {
    "main.0.bias", "main.0.parametrizations.weight.original", "main.0.parametrizations.weight.0._u",
    "main.0.parametrizations.weight.0._v", "main.2.bias", "main.2.parametrizations.weight.original",
    "main.2.parametrizations.weight.0._u", "main.2.parametrizations.weight.0._v"};

// missing = model keys the checkpoint lacks, unexpected = checkpoint keys the model lacks.
std::string norm_hint(const std::vector<std::string>& checkpoint, const std::vector<std::string>& model) {
  std::vector<std::string> missing, unexpected;
  for (const auto& k : model) {
    if (std::find(checkpoint.begin(), checkpoint.end(), k) == checkpoint.end()) missing.push_back(k);
  }
  for (const auto& k : checkpoint) {
    if (std::find(model.begin(), model.end(), k) == model.end()) unexpected.push_back(k);
  }
  return explain_norm_migrations(missing, unexpected);
}

TEST(NormMigrations, SpectralNormRenamedEitherWayIsKeyRules) {
  const std::string to_new = norm_hint(kOldSpectral, kNewSpectral);
  EXPECT_EQ(to_new,
            "main.0, main.2: the checkpoint has torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v), the model "
            "torch.nn.utils.parametrizations.spectral_norm (parametrizations.weight.original, parametrizations.weight.0._u, "
            "parametrizations.weight.0._v); the same tensors under other names: add the key rules "
            "{ pattern = '\\.weight_orig$', replace = '.parametrizations.weight.original' }, "
            "{ pattern = '\\.weight_u$', replace = '.parametrizations.weight.0._u' }, "
            "{ pattern = '\\.weight_v$', replace = '.parametrizations.weight.0._v' }");
  const std::string to_old = norm_hint(kNewSpectral, kOldSpectral);
  EXPECT_NE(to_old.find("{ pattern = '\\.parametrizations\\.weight\\.0\\._u$', replace = '.weight_u' }"), std::string::npos)
      << to_old;
}

TEST(NormMigrations, WeightNormFormsAndPlainWeightsSayWhatToDo) {
  const std::vector<std::string> old_wn = {"fc.bias", "fc.weight_g", "fc.weight_v"};
  const std::vector<std::string> new_wn = {"fc.bias", "fc.parametrizations.weight.original0", "fc.parametrizations.weight.original1"};
  const std::vector<std::string> plain = {"fc.bias", "fc.weight"};
  EXPECT_NE(norm_hint(old_wn, new_wn).find("{ pattern = '\\.weight_g$', replace = '.parametrizations.weight.original0' }"),
            std::string::npos);
  const std::string to_plain = norm_hint(old_wn, plain);
  EXPECT_NE(to_plain.find("fc: the checkpoint has torch.nn.utils.weight_norm (weight_g, weight_v), the model a plain weight; "
                          "no key rule makes the plain weight, which is g * v / |v|"),
            std::string::npos)
      << to_plain;
  EXPECT_NE(to_plain.find("torch.nn.utils.remove_weight_norm"), std::string::npos) << to_plain;
  const std::string from_plain = norm_hint({"main.0.bias", "main.0.weight", "main.2.bias", "main.2.weight"}, kNewSpectral);
  EXPECT_NE(from_plain.find("the checkpoint's weights predate the norm"), std::string::npos) << from_plain;
  // Keys that merely differ are no norm migration; a half layer is no form.
  EXPECT_EQ(norm_hint({"fc.weight", "fc.bias"}, {"head.weight", "head.bias"}), "");
  EXPECT_EQ(norm_hint({"fc.weight_orig", "fc.bias"}, {"fc.weight", "fc.bias"}), "");
}

TEST(NormMigrations, TheComparisonCarriesTheHint) {
  ModuleSchema schema;
  schema.name = "discriminator";
  schema.tensors = {{"main.0.bias", DType::kFloat32, {4}, false},
                    {"main.0.weight_orig", DType::kFloat32, {4, 3, 3, 3}, false},
                    {"main.0.weight_u", DType::kFloat32, {4}, true},
                    {"main.0.weight_v", DType::kFloat32, {27}, true}};
  StateBuilder b;
  b.tensor("main.0.bias", {4})
      .tensor("main.0.parametrizations.weight.original", {4, 3, 3, 3})
      .tensor("main.0.parametrizations.weight.0._u", {4})
      .tensor("main.0.parametrizations.weight.0._v", {27});
  const ModuleComparison c = compare_module(schema, b.get());
  EXPECT_FALSE(c.strictly_loadable());
  EXPECT_NE(c.hint.find("main.0: the checkpoint has torch.nn.utils.parametrizations.spectral_norm"), std::string::npos) << c.hint;
}

TEST(Layout, PresetsAndUnknownNames) {
  const CheckpointLayout gan = layout_preset("gan", {"generator", "discriminator"}, {"generator_optimizer"});
  EXPECT_EQ(format_path(gan.modules.at("generator").path), "['generator']");
  const CheckpointLayout lightning = layout_preset("lightning", {"generator"}, {"a", "b"});
  EXPECT_EQ(lightning.modules.at("generator").prefix, "generator.");
  EXPECT_EQ(format_path(lightning.optimizers.at("b").path), "['optimizer_states'][1]");
  EXPECT_EQ(format_path(layout_preset("netG", {"generator", "discriminator"}, {}).modules.at("discriminator").path),
            "['netD']");
  EXPECT_THROW(layout_preset("nope", {}, {}), LayoutError);
}

TEST(Layout, MissingComponentNamesWhatIsThere) {
  CheckpointSet files(fixture("dcgan/netG_layout.pt"));
  try {
    extract_state_dict(files, {"", {{"generator"}}, ""}, {});
    FAIL();
  } catch (const LayoutError& e) {
    EXPECT_NE(std::string(e.what()).find("['generator'] is not in the checkpoint ((the whole file) has keys 'netG', 'netD'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Layout, NetFilesReadsEachModuleFromItsSiblingFile) {
  // save_networks of pytorch-CycleGAN-and-pix2pix: latest_net_<name>.pth, one state dict each.
  const std::vector<std::string> modules = {"G_A", "G_B", "D_A", "D_B"};
  const std::string dir = fixture("cyclegan/v1/split");
  const CheckpointLayout layout =
      layout_preset("net-files", modules, {"optimizer_G", "optimizer_D"}, dir + "/latest_net_D_B.pth");
  EXPECT_EQ(layout.name, "net-files");
  EXPECT_EQ(layout.modules.at("G_A").file, dir + "/latest_net_G_A.pth");
  EXPECT_EQ(layout.modules.at("D_A").file, dir + "/latest_net_D_A.pth");
  EXPECT_EQ(layout.modules.at("D_B").file, "");  // the unit's own file
  EXPECT_EQ(format_path(layout.modules.at("G_B").path), "(the whole file)");
  EXPECT_TRUE(layout.optimizers.empty());  // reported absent
  EXPECT_TRUE(layout.epoch.empty());
  const std::vector<std::string> names = layout_preset_names();  // what the config accepts
  EXPECT_NE(std::find(names.begin(), names.end(), "net-files"), names.end());

  CheckpointSet files(dir + "/latest_net_D_B.pth");
  const StateDict g_a = extract_state_dict(files, layout.modules.at("G_A"), {});
  EXPECT_NE(g_a.find("model.10.conv_block.1.weight"), nullptr);
  EXPECT_EQ(g_a.entries.size(), 36u);
  const StateDict d_b = extract_state_dict(files, layout.modules.at("D_B"), {});
  EXPECT_NE(d_b.find("model.11.bias"), nullptr);

  // .pt works too, and the longest module name that fits is the file's ("G_A", not "A").
  const CheckpointLayout pt = layout_preset("net-files", {"A", "G_A"}, {}, "ckpts/200_net_G_A.pt");
  EXPECT_EQ(pt.modules.at("G_A").file, "");
  EXPECT_EQ(pt.modules.at("A").file, "ckpts/200_net_A.pt");
}

TEST(Layout, NetFilesNamesTheFileAndThePatternWhenTheNameDoesNotFit) {
  const std::vector<std::string> modules = {"G_A", "G_B", "D_A", "D_B"};
  for (const std::string file : {"fixtures/cyclegan/v1/checkpoint.pt", "latest_net_G_C.pth", "_net_G_A.pth",
                                 "latest_net_G_A.ckpt"}) {
    try {
      layout_preset("net-files", modules, {}, file);
      ADD_FAILURE() << file;
    } catch (const LayoutError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + file + "' is not named <prefix>_net_<module>.pth (or .pt), <module> one of G_A, G_B, D_A, D_B"),
                std::string::npos)
          << what;
      EXPECT_NE(what.find("e.g. 'latest_net_G_A.pth'"), std::string::npos) << what;
    }
  }
  EXPECT_THROW(layout_preset("net-files", modules, {}), LayoutError);  // no file name to go by
}

TEST(Layout, LibTorchModuleArchiveFlattensToStateDictKeys) {
  CheckpointSet files(fixture("libtorch/generator_module.pt"));
  const StateDict state = extract_state_dict(files, {"", {}, ""}, {});
  ASSERT_NE(state.find("main.0.weight"), nullptr);
  ASSERT_NE(state.find("main.1.num_batches_tracked"), nullptr);
  EXPECT_EQ(state.entries.size(), 7u);
}

}  // namespace
}  // namespace ckpt::test

namespace ckpt::test {
namespace {

// A checkpoint that cannot be read is read once per unit: every case after the first gets
// the same error (a deeply nested pickle took seconds per read under the sanitizers).
class CheckpointSetReads : public TempDirTest {};

TEST_F(CheckpointSetReads, AnUnreadableFileIsReadOnce) {
  const std::string path = (dir_ / "bad.pt").string();
  std::ofstream(path) << "not a checkpoint";
  CheckpointSet files(path);
  std::string first;
  try {
    files.get("");
    FAIL() << "read";
  } catch (const ReadError& e) {
    first = e.what();
  }
  std::filesystem::remove(path);  // a second read would now say "cannot open"
  try {
    files.get("");
    FAIL() << "read";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.what(), first);
  }
}

}  // namespace
}  // namespace ckpt::test
