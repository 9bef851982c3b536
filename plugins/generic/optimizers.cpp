#include "generic/optimizers.hpp"

#include <ckpt/plugin.hpp>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <functional>
#include <set>

namespace ckpt::generic {

namespace {
// One group's hyper-parameters, read once each: what is left over is unknown to the class.
class HyperReader {
 public:
  HyperReader(std::string what, Hyper hyper) : what_(std::move(what)), hyper_(std::move(hyper)) {}
  double get(const std::string& key, double fallback) {
    used_.insert(key);
    auto it = hyper_.find(key);
    return it == hyper_.end() ? fallback : it->second;
  }
  bool flag(const std::string& key) { return get(key, 0.0) != 0.0; }
  void check_all_used(const std::string& class_name) const {
    for (const auto& [key, value] : hyper_) {
      if (used_.count(key)) continue;
      std::string known;
      for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
      throw OptionError(what_ + ": " + class_name + " has no hyper-parameter '" + key + "' (it has: " + known + ")");
    }
  }

 private:
  std::string what_;
  Hyper hyper_;
  std::set<std::string> used_;
};

template <class Optimizer, class Options>
std::shared_ptr<torch::optim::Optimizer> build(const std::string& what, const std::string& class_name,
                                               const std::vector<std::vector<torch::Tensor>>& groups,
                                               const std::vector<Hyper>& hyper,
                                               const std::function<Options(HyperReader&)>& options_of) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    HyperReader reader(what, i < hyper.size() ? hyper[i] : Hyper{});
    Options options = options_of(reader);
    reader.check_all_used(class_name);
    param_groups.emplace_back(groups[i], std::make_unique<Options>(options));
  }
  HyperReader defaults(what, hyper.empty() ? Hyper{} : hyper.front());
  return std::make_shared<Optimizer>(param_groups, options_of(defaults));
}
}  // namespace

std::string optimizer_classes() { return "Adam, AdamW, SGD, RMSprop, Adagrad"; }

std::shared_ptr<torch::optim::Optimizer> make_optimizer(const std::string& what, const std::string& class_name,
                                                        const std::vector<std::vector<torch::Tensor>>& groups,
                                                        const std::vector<Hyper>& hyper) {
  namespace optim = torch::optim;
  if (class_name == "Adam") {
    return build<optim::Adam, optim::AdamOptions>(what, class_name, groups, hyper, [](HyperReader& h) {
      return optim::AdamOptions(h.get("lr", 1e-3))
          .betas({h.get("beta1", 0.9), h.get("beta2", 0.999)})
          .eps(h.get("eps", 1e-8))
          .weight_decay(h.get("weight_decay", 0))
          .amsgrad(h.flag("amsgrad"));
    });
  }
  if (class_name == "AdamW") {
    return build<optim::AdamW, optim::AdamWOptions>(what, class_name, groups, hyper, [](HyperReader& h) {
      return optim::AdamWOptions(h.get("lr", 1e-3))
          .betas({h.get("beta1", 0.9), h.get("beta2", 0.999)})
          .eps(h.get("eps", 1e-8))
          .weight_decay(h.get("weight_decay", 1e-2))
          .amsgrad(h.flag("amsgrad"));
    });
  }
  if (class_name == "SGD") {
    return build<optim::SGD, optim::SGDOptions>(what, class_name, groups, hyper, [](HyperReader& h) {
      return optim::SGDOptions(h.get("lr", 1e-3))
          .momentum(h.get("momentum", 0))
          .dampening(h.get("dampening", 0))
          .weight_decay(h.get("weight_decay", 0))
          .nesterov(h.flag("nesterov"));
    });
  }
  if (class_name == "RMSprop") {
    return build<optim::RMSprop, optim::RMSpropOptions>(what, class_name, groups, hyper, [](HyperReader& h) {
      return optim::RMSpropOptions(h.get("lr", 1e-2))
          .alpha(h.get("alpha", 0.99))
          .eps(h.get("eps", 1e-8))
          .weight_decay(h.get("weight_decay", 0))
          .momentum(h.get("momentum", 0))
          .centered(h.flag("centered"));
    });
  }
  if (class_name == "Adagrad") {
    return build<optim::Adagrad, optim::AdagradOptions>(what, class_name, groups, hyper, [](HyperReader& h) {
      return optim::AdagradOptions(h.get("lr", 1e-2))
          .lr_decay(h.get("lr_decay", 0))
          .weight_decay(h.get("weight_decay", 0))
          .initial_accumulator_value(h.get("initial_accumulator_value", 0))
          .eps(h.get("eps", 1e-10));
    });
  }
  throw OptionError(what + ": class '" + class_name + "' is not one LibTorch has (" + optimizer_classes() + ")");
}

}  // namespace ckpt::generic
