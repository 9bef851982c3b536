#include "torchscript/scripted_module.hpp"

namespace ckpt::torchscript {

namespace {
// "__torch__.torch.nn.modules.batchnorm.BatchNorm2d" -> "BatchNorm2d": the type name the
// harness reads (BatchNorm submodules get PyTorch's migration of old state).
std::string type_name(const torch::jit::Module& module) {
  const auto name = module.type()->name();
  return name ? name->name() : "ScriptModule";
}
}  // namespace

ScriptedModule::ScriptedModule(torch::jit::Module module, std::set<std::string>* non_persistent, const std::string& prefix)
    : torch::nn::Module(type_name(module)), module_(std::move(module)) {
  for (const auto& p : module_.named_parameters(/*recurse=*/false)) {
    register_parameter(p.name, p.value, p.value.requires_grad());
  }
  for (const auto& b : module_.named_buffers(/*recurse=*/false)) {
    if (non_persistent && non_persistent->erase(prefix + b.name) > 0) continue;
    register_buffer(b.name, b.value);
  }
  for (const auto& child : module_.named_children()) {
    register_module(child.name, std::make_shared<ScriptedModule>(child.value, non_persistent, prefix + child.name + "."));
  }
  torch::nn::Module::train(module_.is_training());
}

void ScriptedModule::train(bool on) {
  module_.train(on);
  torch::nn::Module::train(on);  // this module's flag and its children's, through their own train()
}

bool ScriptedModule::has_single_tensor_forward() const {
  const auto method = module_.find_method("forward");
  if (!method) return false;
  const auto& arguments = method->function().getSchema().arguments();
  return arguments.size() == 2 && arguments[1].type()->kind() == c10::TypeKind::TensorType;  // self, input
}

torch::Tensor ScriptedModule::forward(const torch::Tensor& input) {
  return module_.forward({input}).toTensor();
}

std::string error_cause(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = c10_error ? c10_error->what_without_backtrace() : error.what();
  if (text.find("Traceback of TorchScript") == std::string::npos) return text.substr(0, text.find('\n'));
  text.erase(text.find_last_not_of(" \n") + 1);
  return text.substr(text.rfind('\n') + 1);
}

}  // namespace ckpt::torchscript
