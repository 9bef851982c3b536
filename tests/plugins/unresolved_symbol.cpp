// Links although build() calls a function no library defines: loading it with immediate
// binding (RTLD_NOW) must fail, instead of the first call failing in the middle of a run.
#include <ckpt/plugin.hpp>

extern "C" void ckpt_test_symbol_that_does_not_exist();

namespace {

class Unresolved : public ckpt::Architecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt_test_symbol_that_does_not_exist();
    return {};
  }
  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    return {};
  }
};

}  // namespace

CKPT_PLUGIN(Unresolved, "unresolved", "1.0.0", "Calls a function that no library defines")
