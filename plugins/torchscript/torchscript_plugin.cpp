// The TorchScript plugin: a model exported from Python with torch.jit.script (one file per
// module) as the architecture, for teams whose models live in Python only. Its modules are
// the scripted modules themselves: parameters, buffers, train/eval and forward are real,
// so every scenario runs, as for a C++ plugin.
//
// Used through [[models]] entries. Options (nested tables in the config):
//   files.<module>              the module's TorchScript file (config-relative, inside the repository)
//   inputs.<module>             the shape of one sample of its input, "16,1,1": behaviour checks
//   non_persistent.<module>     its buffers registered with persistent=False (TorchScript drops the flag)
//   optimizers.<name>.class     Adam, AdamW, SGD, RMSprop or Adagrad
//   optimizers.<name>.modules   the modules it trains, in order ("generator")
//   optimizers.<name>.<hyper>   lr, betas (or beta1, beta2), eps, weight_decay, momentum, ...
//   optimizers.<name>.trainable_only  true: over the parameters that require grad only
//   gan.loss                    bce, non-saturating, hinge or lsgan: offers the harness's training
//                               step (resume checks); gan.generator_input, gan.discriminator_input,
//                               gan.l1, gan.discriminator_weight shape it (gan_step.hpp)
//   gan.generator, gan.discriminator  the modules that play each part (default: those names)
//   gan.step                    the files.<key> holding the team's own exported step instead
//                               (exported_step.hpp): its children are the model's modules
//   gan.updates                 with gan.step: the optimizers it steps, in order
//
// TorchScript files are code: the harness reads them only from the paths a [[models]] entry
// of the config names (checked to lie inside the repository), never from a checkpoint.
#include <ckpt/plugin.hpp>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/utils.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "generic/optimizers.hpp"
#include "torchscript/exported_step.hpp"
#include "torchscript/gan_step.hpp"
#include "torchscript/scripted_module.hpp"

namespace {
using ckpt::OptionError;
using ckpt::torchscript::ScriptedModule;

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(separator, begin), text.size());
    std::string part = text.substr(begin, end - begin);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    parts.push_back(part);
    begin = end + 1;
  }
  return parts;
}

double number(const std::string& option, const std::string& text) {
  if (text == "true") return 1;
  if (text == "false") return 0;
  return ckpt::option_double({{option, text}}, option, 0);
}

std::vector<std::int64_t> shape_of(const std::string& option, const std::string& text) {
  std::vector<std::int64_t> shape;
  for (const auto& part : split(text, ',')) shape.push_back(ckpt::option_int({{option, part}}, option, 0, 1, 1 << 20));
  return shape;
}

// The options, read and checked at once: a typo is an error naming the option.
struct ScriptOptions {
  std::map<std::string, std::string> files;                  // module -> TorchScript file
  std::map<std::string, std::vector<std::int64_t>> inputs;   // module -> sample shape
  std::map<std::string, std::vector<std::string>> non_persistent;  // module -> buffers outside its state dict
  struct OptimizerSpec {
    std::string class_name;
    std::vector<std::string> modules;
    ckpt::generic::Hyper hyper;
    // Over the parameters that require grad only (Python: filter(lambda p: p.requires_grad,
    // ...)); default all, as model.parameters().
    bool trainable_only = false;
  };
  std::map<std::string, OptimizerSpec> optimizers;
  std::optional<ckpt::torchscript::GanRecipe> recipe;  // the harness's step, when gan.loss is given
  std::vector<std::string> recipe_fields;              // the gan.* options of the recipe, given
  std::string generator = "generator", discriminator = "discriminator";
  std::string step;                   // files.<step>: the team's exported step
  std::vector<std::string> updates;   // its optimizers, in update order

  explicit ScriptOptions(const ckpt::Options& options) {
    for (const auto& [key, value] : options) {
      if (starts_with(key, "files.")) {
        files[key.substr(6)] = value;
      } else if (starts_with(key, "inputs.")) {
        inputs[key.substr(7)] = shape_of(key, value);
      } else if (starts_with(key, "non_persistent.")) {
        non_persistent[key.substr(15)] = split(value, ',');
      } else if (starts_with(key, "optimizers.") && key.find('.', 11) != std::string::npos) {
        const std::size_t dot = key.find('.', 11);
        OptimizerSpec& spec = optimizers[key.substr(11, dot - 11)];
        const std::string field = key.substr(dot + 1);
        if (field == "class") {
          spec.class_name = value;
        } else if (field == "modules") {
          spec.modules = split(value, ',');
        } else if (field == "trainable_only") {
          spec.trainable_only = number(key, value) != 0;
        } else if (field == "betas") {
          const auto betas = split(value, ',');
          if (betas.size() != 2) throw OptionError("option '" + key + "' is '" + value + "': expected two numbers");
          spec.hyper["beta1"] = number(key, betas[0]);
          spec.hyper["beta2"] = number(key, betas[1]);
        } else {
          spec.hyper[field] = number(key, value);
        }
      } else if (key == "gan.generator") {
        generator = value;
      } else if (key == "gan.discriminator") {
        discriminator = value;
      } else if (key == "gan.step") {
        step = value;
      } else if (key == "gan.updates") {
        updates = split(value, ',');
      } else if (starts_with(key, "gan.") && given_recipe().set(key.substr(4), key, value)) {
        recipe_fields.push_back(key);
      } else {
        throw OptionError("unknown option '" + key +
                          "' (known: files.<module>, inputs.<module>, non_persistent.<module>, optimizers.<name>.<class|modules|trainable_only|"
                          "hyper-parameter>, gan.loss, gan.generator_input, gan.discriminator_input, gan.l1, "
                          "gan.discriminator_weight, gan.generator, gan.discriminator, gan.step, gan.updates)");
      }
    }
    if (files.empty()) {
      throw OptionError("no module: give each one's TorchScript file as files.<module> ([[models]] files = { generator = "
                        "\"exported/generator.pt\", ... })");
    }
    for (const auto& [name, spec] : optimizers) {
      if (spec.class_name.empty()) throw OptionError("option 'optimizers." + name + ".class' is required");
      if (spec.modules.empty()) throw OptionError("option 'optimizers." + name + ".modules' is required");
    }
    if (!step.empty()) {
      if (!recipe_fields.empty()) {
        throw OptionError("gan.step and " + recipe_fields.front() +
                          ": an exported step states its own losses; give either gan.step or the harness's recipe");
      }
      if (!files.count(step)) throw OptionError("option 'gan.step' names '" + step + "', which has no files." + step);
      if (updates.empty()) {
        throw OptionError("gan.step needs gan.updates: the optimizers its loss(optimizer, batch) trains, in update order");
      }
      for (const auto& name : updates) {
        if (!optimizers.count(name)) {
          throw OptionError("option 'gan.updates' names optimizer '" + name + "', which has no optimizers." + name + ".class");
        }
      }
    } else if (!updates.empty()) {
      throw OptionError("gan.updates belongs to gan.step (the optimizers of an exported step)");
    } else if (!recipe_fields.empty()) {
      if (std::find(recipe_fields.begin(), recipe_fields.end(), "gan.loss") == recipe_fields.end()) {
        throw OptionError(recipe_fields.front() + " needs gan.loss: the adversarial loss that offers the training step");
      }
      recipe->check();
    }
  }

  // Checks what names a module against the model's modules (the files' or an exported step's
  // children).
  void check_modules(const std::vector<std::string>& modules) const {
    const auto need = [&](const std::string& option, const std::string& module) {
      if (std::find(modules.begin(), modules.end(), module) != modules.end()) return;
      std::string known;
      for (const auto& name : modules) known += (known.empty() ? "" : ", ") + name;
      throw OptionError("option '" + option + "' names module '" + module + "', which " +
                        (step.empty() ? "has no files." + module : "is not a child of the exported step") +
                        " (modules: " + known + ")");
    };
    for (const auto& [module, shape] : inputs) need("inputs." + module, module);
    for (const auto& [module, buffers] : non_persistent) need("non_persistent." + module, module);
    for (const auto& [name, spec] : optimizers) {
      for (const auto& m : spec.modules) need("optimizers." + name + ".modules", m);
    }
    if (!recipe) return;
    for (const auto& [role, module] : {std::pair{"generator", generator}, std::pair{"discriminator", discriminator}}) {
      need(std::string("gan.") + role, module);
      const bool real_from_inputs = std::string(role) == "discriminator" &&
                                    recipe->generator_input == ckpt::torchscript::GeneratorInput::kNoise;
      if ((std::string(role) == "generator" || real_from_inputs) && !inputs.count(module)) {
        throw OptionError("gan.loss needs inputs." + module + ": the shape of one sample of the " + role + "'s input");
      }
      if (optimizer_over(module).empty()) {
        throw OptionError(std::string("gan.loss needs an optimizer over exactly the ") + role + " (optimizers.<name>.modules = [\"" +
                          module + "\"])");
      }
    }
  }

  // The optimizer whose modules are exactly `module`, or "".
  std::string optimizer_over(const std::string& module) const {
    for (const auto& [name, spec] : optimizers) {
      if (spec.modules == std::vector<std::string>{module}) return name;
    }
    return "";
  }

  ckpt::torchscript::GanRecipe& given_recipe() {
    if (!recipe) recipe.emplace();
    return *recipe;
  }
};

// A module of the model as built: the scripted module, the options it was built with and the
// exported step it belongs to, if any (sample_input and train_step are given the model only).
struct BuiltModule : ScriptedModule {
  BuiltModule(torch::jit::Module module, std::set<std::string>* non_persistent, std::shared_ptr<const ScriptOptions> options,
              std::shared_ptr<ckpt::torchscript::ExportedStep> step)
      : ScriptedModule(std::move(module), non_persistent), options(std::move(options)), step(std::move(step)) {}
  std::shared_ptr<const ScriptOptions> options;
  std::shared_ptr<ckpt::torchscript::ExportedStep> step;
};

// The scripted modules, read once per file: each build takes a deep copy.
class ScriptCache {
 public:
  torch::jit::Module copy_of(const std::string& module, const std::string& file) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = loaded_.find(file);
    if (it == loaded_.end()) {
      try {
        it = loaded_.emplace(file, torch::jit::load(file, torch::kCPU)).first;  // an export saved from a GPU too
      } catch (const c10::Error& e) {
        throw OptionError("files." + module + ": '" + file + "' is not a TorchScript module that LibTorch " +
                          TORCH_VERSION + " can load (torch.jit.script(model).save(path) writes one): " +
                          ckpt::torchscript::error_cause(e));
      }
    }
    torch::NoGradGuard no_grad;  // the copies are leaves, as the parameters they copy
    torch::jit::Module copy = it->second.deepcopy();
    // Frozen parameters stay frozen: the copies take their originals' requires_grad.
    const auto originals = it->second.named_parameters();
    auto original = originals.begin();
    for (const auto& p : copy.named_parameters()) p.value.requires_grad_((*original++).value.requires_grad());
    return copy;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, torch::jit::Module> loaded_;
};

class TorchScriptArchitecture : public ckpt::Architecture {
 public:
  // The graph executor's optimisation (profiling runs, then fusion) pays off over thousands
  // of calls; a unit calls each forward a handful of times, and the first calls of a deep
  // model (pix2pix's unet) took most of its time. Off, every forward runs the graph as
  // scripted: the same results, on every LibTorch.
  TorchScriptArchitecture() { torch::jit::setGraphExecutorOptimize(false); }

  ckpt::Model build(const ckpt::Options& options) const override {
    if (options.empty()) return {};  // listed on its own (`ckpt-harness plugins`): no model without files
    const auto shared = std::make_shared<const ScriptOptions>(options);
    const ScriptOptions& o = *shared;
    // The model's modules, named: one per file, or an exported step's children.
    struct Scripted {
      std::string name, file;
      torch::jit::Module module;
    };
    std::vector<Scripted> scripted;
    std::vector<std::string> names;
    std::shared_ptr<ckpt::torchscript::ExportedStep> step;
    for (const auto& [name, file] : o.files) {
      if (name != o.step) {
        scripted.push_back({name, file, scripts_.copy_of(name, file)});
        continue;
      }
      step = std::make_shared<ckpt::torchscript::ExportedStep>(scripts_.copy_of(name, file), "files." + name, file);
      for (auto& [child, module] : step->modules()) scripted.push_back({child, file, module});
    }
    for (const auto& m : scripted) {
      if (std::find(names.begin(), names.end(), m.name) != names.end()) {
        throw OptionError("files." + o.step + ": the exported step's child '" + m.name + "' has the name of files." + m.name);
      }
      names.push_back(m.name);
    }
    o.check_modules(names);

    ckpt::Model model;
    std::map<std::string, std::shared_ptr<BuiltModule>> modules;
    for (const auto& [name, file, scripted_module] : scripted) {
      std::set<std::string> non_persistent;
      if (auto it = o.non_persistent.find(name); it != o.non_persistent.end()) {
        non_persistent.insert(it->second.begin(), it->second.end());
      }
      auto module = std::make_shared<BuiltModule>(scripted_module, &non_persistent, shared, step);
      if (!non_persistent.empty()) {
        throw OptionError("option 'non_persistent." + name + "' names '" + *non_persistent.begin() + "', which is not a buffer of " +
                          name + " (" + file + ")");
      }
      modules[name] = module;
      std::function<torch::Tensor(const torch::Tensor&)> forward;
      if (module->has_single_tensor_forward()) forward = [module](const torch::Tensor& x) { return module->forward(x); };
      if (!forward && o.recipe && (name == o.generator || name == o.discriminator)) {
        throw OptionError("gan.loss: " + name + "'s forward does not take one tensor (" + file +
                          "); a model whose forward takes labels or several inputs exports its own step (gan.step)");
      }
      if (!forward && o.inputs.count(name)) {
        throw OptionError("inputs." + name + ": " + name + "'s forward does not take one tensor (" + file + ")");
      }
      model.modules.push_back({name, module, forward});
    }
    for (const auto& [name, spec] : o.optimizers) {
      ckpt::Optimizer optimizer{name, {}, nullptr};
      std::vector<torch::Tensor> parameters;
      for (const auto& m : spec.modules) {
        for (const auto& p : modules.at(m)->named_parameters()) {
          if (spec.trainable_only && !p.value().requires_grad()) continue;
          optimizer.parameters.push_back(m + "." + p.key());
          parameters.push_back(p.value());
        }
      }
      optimizer.optimizer =
          ckpt::generic::make_optimizer("optimizers." + name, spec.class_name, {parameters}, {spec.hyper});
      model.optimizers.push_back(std::move(optimizer));
    }
    return model;
  }

  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    const auto shape = input_shape(model, module);
    if (shape.empty()) return {};
    torch::manual_seed(1234);
    std::vector<std::int64_t> sizes{batch};
    sizes.insert(sizes.end(), shape.begin(), shape.end());
    return torch::randn(sizes);
  }

  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    if (model.modules.empty()) return false;  // built without options: nothing to train
    const ScriptOptions& o = options_of(model);
    if (const auto& exported = built(model).step) {
      std::vector<std::pair<std::string, torch::optim::Optimizer*>> updates;
      for (const auto& name : o.updates) updates.emplace_back(name, optimizer_named(model, name));
      exported->run(updates, step);
      return true;
    }
    if (!o.recipe) return false;
    ckpt::torchscript::GanStep gan;
    gan.recipe = *o.recipe;
    gan.generator = module_named(model, o.generator).forward;
    gan.discriminator = module_named(model, o.discriminator).forward;
    gan.generator_name = o.generator;
    gan.discriminator_name = o.discriminator;
    gan.generator_input_shape = o.inputs.at(o.generator);
    if (auto it = o.inputs.find(o.discriminator); it != o.inputs.end()) gan.real_shape = it->second;
    gan.generator_optimizer = optimizer_named(model, o.optimizer_over(o.generator));
    gan.discriminator_optimizer = optimizer_named(model, o.optimizer_over(o.discriminator));
    ckpt::torchscript::run_gan_step(gan, step);
    return true;
  }

 private:
  static const BuiltModule& built(const ckpt::Model& model) {
    const auto* module = model.modules.empty() ? nullptr : dynamic_cast<const BuiltModule*>(model.modules.front().module.get());
    if (!module) throw std::invalid_argument("this model was not built by the torchscript plugin");
    return *module;
  }
  static const ScriptOptions& options_of(const ckpt::Model& model) { return *built(model).options; }
  static std::vector<std::int64_t> input_shape(const ckpt::Model& model, const std::string& module) {
    const ScriptOptions& o = options_of(model);
    auto it = o.inputs.find(module);
    return it == o.inputs.end() ? std::vector<std::int64_t>{} : it->second;
  }
  static const ckpt::Module& module_named(const ckpt::Model& model, const std::string& name) {
    for (const auto& m : model.modules) {
      if (m.name == name) return m;
    }
    throw std::invalid_argument("the model has no module '" + name + "'");
  }
  static torch::optim::Optimizer* optimizer_named(ckpt::Model& model, const std::string& name) {
    for (auto& o : model.optimizers) {
      if (o.name == name) return o.optimizer.get();
    }
    throw std::invalid_argument("the model has no optimizer '" + name + "'");
  }

  mutable ScriptCache scripts_;
};

}  // namespace

CKPT_PLUGIN(TorchScriptArchitecture, "torchscript", "1.0.0",
            "A model exported with torch.jit.script (one file per module) as the architecture: every scenario")
