#include "torchscript/exported_step.hpp"

#include <ckpt/plugin.hpp>
#include <torch/utils.h>

#include "torchscript/scripted_module.hpp"

namespace ckpt::torchscript {

namespace {
// The method's argument types after self, as TorchScript prints them ("str, Dict(str, Tensor)").
std::string argument_types(const torch::jit::Method& method) {
  std::string out;
  const auto& arguments = method.function().getSchema().arguments();
  for (std::size_t i = 1; i < arguments.size(); ++i) out += (i > 1 ? ", " : "") + arguments[i].type()->str();
  return out;
}

std::string return_type(const torch::jit::Method& method) {
  const auto& returns = method.function().getSchema().returns();
  return returns.size() == 1 ? returns[0].type()->str() : "(" + std::to_string(returns.size()) + " values)";
}
}  // namespace

ExportedStep::ExportedStep(torch::jit::Module module, const std::string& option, const std::string& file)
    : module_(std::move(module)), file_(file) {
  struct Wanted {
    const char *name, *arguments, *returns;
  };
  for (const auto& [name, arguments, returns] : {Wanted{"batch", "", "Dict(str, Tensor)"},
                                                 Wanted{"loss", "str, Dict(str, Tensor)", "Tensor"}}) {
    const auto method = module_.find_method(name);
    const std::string shown = std::string(name) + "(self" + (*arguments ? ", " : "") + arguments + ")";
    if (!method) {
      throw OptionError(option + ": '" + file + "' has no method " + shown +
                        " (an exported step: its children are the model's modules; batch() -> Dict[str, Tensor] draws "
                        "a batch, loss(optimizer, batch) -> Tensor gives what that optimizer minimises)");
    }
    if (argument_types(*method) != arguments || return_type(*method) != returns) {
      throw OptionError(option + ": '" + file + "': " + name + " takes (" + argument_types(*method) + ") and returns " +
                        return_type(*method) + ", expected " + shown + " -> " + returns);
    }
  }
  if (modules().empty()) throw OptionError(option + ": '" + file + "' has no child module: nothing to train");
}

std::vector<std::pair<std::string, torch::jit::Module>> ExportedStep::modules() const {
  std::vector<std::pair<std::string, torch::jit::Module>> out;
  for (const auto& child : module_.named_children()) out.emplace_back(child.name, child.value);
  return out;
}

void ExportedStep::run(const std::vector<std::pair<std::string, torch::optim::Optimizer*>>& updates, std::int64_t step) {
  const auto failed = [&](const std::string& what, const std::string& cause) {
    return std::runtime_error("the exported training step (" + file_ + ") failed in " + what + ": " + cause);
  };
  torch::manual_seed(100 + step);
  c10::IValue batch;
  try {
    batch = module_.get_method("batch")({});
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw failed("batch()", error_cause(e));
  }
  for (const auto& [name, optimizer] : updates) {
    optimizer->zero_grad();
    c10::IValue loss;
    try {
      loss = module_.get_method("loss")({name, batch});
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw failed("loss(\"" + name + "\", batch)", error_cause(e));
    }
    const torch::Tensor value = loss.toTensor();
    if (value.numel() != 1 || !value.requires_grad()) {
      throw failed("loss(\"" + name + "\", batch)", value.numel() != 1
                                                        ? "it returned " + std::to_string(value.numel()) + " values, expected one"
                                                        : "its result does not depend on any parameter being trained");
    }
    try {
      value.backward();
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw failed("the backward pass of loss(\"" + name + "\", batch)", error_cause(e));
    }
    optimizer->step();
  }
}

}  // namespace ckpt::torchscript
