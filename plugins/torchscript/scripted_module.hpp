#pragma once
// A TorchScript module (torch.jit.script, saved by the team's Python) seen as the
// torch::nn::Module the harness loads checkpoints into: the same parameter and buffer
// tensors (a load into one is a load into the other), each scripted submodule a child with
// its Python type name ("BatchNorm2d"), and train()/eval() forwarded to the scripted
// module, so its forward really behaves as the mode says.
#include <c10/util/Exception.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>

#include <memory>
#include <set>
#include <string>

namespace ckpt::torchscript {

class ScriptedModule : public torch::nn::Module {
 public:
  // `non_persistent`: qualified names of buffers that are not part of the state dict
  // (persistent=False in Python; TorchScript does not keep the flag). They stay in the
  // scripted module but are left out here, so checkpoints are not expected to hold them;
  // each name found is erased from the set. `prefix`: this module's qualified name.
  explicit ScriptedModule(torch::jit::Module module, std::set<std::string>* non_persistent = nullptr,
                          const std::string& prefix = "");

  void train(bool on = true) override;
  // Whether forward takes one tensor (the form the harness calls); a conditional model's
  // forward(z, labels) does not.
  bool has_single_tensor_forward() const;
  torch::Tensor forward(const torch::Tensor& input);

 private:
  torch::jit::Module module_;
};

// The cause of a LibTorch error in one line: the last line of a TorchScript interpreter's
// traceback ("RuntimeError: Given groups=1, ... expected input[4, 3, 8, 8] to have 6
// channels"; the interpreter throws torch::jit::JITException, a std::runtime_error), otherwise
// the first line of the message (a c10::Error's without its C++ backtrace).
std::string error_cause(const std::exception& error);

}  // namespace ckpt::torchscript
