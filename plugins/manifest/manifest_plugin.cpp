// The manifest plugin: a model checkpoint schema (a manifest written by write_manifest.py or
// `ckpt-harness schema --plugin`) as the architecture, for teams with no C++ or TorchScript
// model. Its modules hold meta tensors (shapes and dtypes, no memory, no values), so only
// the metadata scenarios run: strict and relaxed key sets, shapes, dtypes, optimizer class,
// groups and state shapes, epoch. The harness skips the others, saying why.
//
// Used through [[models]] entries: files = { manifest = "schemas/my_gan-2.1.0.json" }.
#include <ckpt/plugin.hpp>
#include <torch/nn/module.h>

#include <map>
#include <set>

#include "generic/optimizers.hpp"
#include "schema/model_schema.hpp"
#include "tensor/materialize.hpp"

namespace {

constexpr const char* kManifestOption = "files.manifest";

// A submodule of the schema: a plain module whose type name says "BatchNorm" where the
// manifest lists one (PyTorch migrates old BatchNorm state; the comparison follows it).
std::shared_ptr<torch::nn::Module> submodule(torch::nn::Module& parent, const std::string& name, bool batch_norm) {
  const auto children = parent.named_children();
  if (const auto* found = children.find(name)) return *found;
  return parent.register_module(name, std::make_shared<torch::nn::Module>(batch_norm ? "BatchNorm" : "Module"));
}

std::shared_ptr<torch::nn::Module> module_of(const ckpt::ModuleSchema& schema) {
  auto root = std::make_shared<torch::nn::Module>("Module");
  std::set<std::string> batch_norm;
  for (const auto& s : schema.submodules) {
    if (s.is_batch_norm) batch_norm.insert(s.prefix);
  }
  // The module at `prefix` ("main.1"), made on the way down.
  auto at = [&](const std::string& prefix) {
    std::shared_ptr<torch::nn::Module> m = root;
    std::string path;
    for (std::size_t begin = 0; begin < prefix.size();) {
      const std::size_t dot = std::min(prefix.find('.', begin), prefix.size());
      path = prefix.substr(0, dot);
      m = submodule(*m, prefix.substr(begin, dot - begin), batch_norm.count(path) > 0);
      begin = dot + 1;
    }
    return m;
  };
  // In state-dict order, so the module's order is the manifest's.
  for (const auto& t : schema.tensors) {
    const std::size_t dot = t.key.rfind('.');
    const std::string prefix = dot == std::string::npos ? "" : t.key.substr(0, dot);
    const std::string leaf = t.key.substr(dot == std::string::npos ? 0 : dot + 1);
    const auto meta = torch::empty(t.shape, torch::TensorOptions().dtype(ckpt::to_scalar_type(t.dtype)).device(torch::kMeta));
    if (t.is_buffer) {
      at(prefix)->register_buffer(leaf, meta);
    } else {
      at(prefix)->register_parameter(leaf, meta, /*requires_grad=*/meta.is_floating_point() || meta.is_complex());
    }
  }
  for (const auto& prefix : batch_norm) at(prefix);  // one without state (affine=False, no running stats)
  return root;
}

class ManifestArchitecture : public ckpt::Architecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    if (options.empty()) return {};  // listed on its own (`ckpt-harness plugins`): no model without a manifest
    ckpt::check_known_options(options, {kManifestOption});
    auto file = options.find(kManifestOption);
    if (file == options.end()) {
      throw ckpt::OptionError(std::string("option '") + kManifestOption +
                              "' is required: the manifest to check against ([[models]] files = { manifest = \"...\" })");
    }
    ckpt::ModelSchema schema;
    try {
      schema = ckpt::read_model_schema(file->second);
    } catch (const ckpt::SchemaError& e) {
      throw ckpt::OptionError(e.what());
    }
    ckpt::Model model;
    std::map<std::string, torch::Tensor> parameters;  // "generator.main.0.weight"
    for (const auto& m : schema.modules) {
      auto module = module_of(m);
      for (const auto& p : module->named_parameters()) parameters[m.name + "." + p.key()] = p.value();
      model.modules.push_back({m.name, module, nullptr});
    }
    for (const auto& o : schema.optimizers) {
      const std::string what = file->second + ": optimizer '" + o.name + "'";
      ckpt::Optimizer optimizer{o.name, {}, nullptr};
      std::vector<std::vector<torch::Tensor>> groups;
      std::vector<ckpt::generic::Hyper> hyper;
      for (std::size_t g = 0; g < o.groups.size(); ++g) {
        const auto& group = o.groups[g];
        if (group.parameters.size() != group.size) {
          throw ckpt::OptionError(what + " group " + std::to_string(g) +
                                  " does not name its parameters (a checkpoint's schema cannot): write the manifest "
                                  "from the model (write_manifest.py or ckpt-harness schema --plugin)");
        }
        groups.emplace_back();
        for (const auto& name : group.parameters) {
          auto p = parameters.find(name);
          if (p == parameters.end()) {
            throw ckpt::OptionError(what + " group " + std::to_string(g) + " names '" + name +
                                    "', which is not a parameter of the manifest's modules");
          }
          groups.back().push_back(p->second);
          optimizer.parameters.push_back(name);
        }
        hyper.push_back(group.hyper);
      }
      optimizer.optimizer = ckpt::generic::make_optimizer(what, o.class_name, groups, hyper);
      model.optimizers.push_back(std::move(optimizer));
    }
    return model;
  }

  // A schema has no values to run forward on, nor to train.
  torch::Tensor sample_input(const ckpt::Model&, const std::string&, std::int64_t) const override { return {}; }
};

}  // namespace

CKPT_PLUGIN(ManifestArchitecture, "manifest", "1.0.0",
            "A model checkpoint schema (JSON manifest) as the architecture: metadata scenarios only")
