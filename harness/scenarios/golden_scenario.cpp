// golden-output: the loaded module reproduces outputs recorded when the checkpoint was
// written (NAME.golden.pt beside NAME.pt: {'golden_format': 1, 'modules': {module:
// {'input': x, 'output': y}}}, recorded in eval mode). Catches silently corrupted
// parameters and a forward that changed meaning.
#include <torch/csrc/autograd/grad_mode.h>

#include <ATen/ops/abs.h>
#include <ATen/ops/isclose.h>
#include <filesystem>

#include "scenarios/case_text.hpp"
#include "scenarios/scenario_catalog.hpp"
#include "tensor/materialize.hpp"

namespace ckpt {

namespace {
const Value& tensor_member(const Value& entry, const char* key, const std::string& golden, const std::string& module) {
  const Value* v = member_of(entry, key);
  if (!v || v->kind != ValueKind::kTensor) {
    throw std::invalid_argument(golden + ": ['modules']['" + module + "']['" + key + "'] must be a tensor");
  }
  return *v;
}
}  // namespace

CaseResult run_golden_output(UnitContext& ctx, const std::string& name) {
  ctx.require_values("golden-output");
  const std::string& golden = ctx.request().golden;
  // lstat, not stat: a link that leads nowhere (or in a loop) is a golden file that cannot
  // be read, which the reader says, not a missing one.
  std::error_code ec;
  if (golden.empty() || !std::filesystem::exists(std::filesystem::symlink_status(golden, ec))) {
    throw SkipCase("no golden outputs recorded for this checkpoint (" + golden + ")");
  }
  // Confined as the checkpoint is: a golden file linking out of the repository is refused.
  const Checkpoint recorded = read_checkpoint(golden, ctx.read_options());
  const Value* format = member_of(recorded.root(), "golden_format");
  if (!format || format->kind != ValueKind::kInt || format->integer != 1) {
    throw std::invalid_argument(golden + ": not a golden-output file: expected 'golden_format': 1 at the top");
  }
  const Value* modules = member_of(recorded.root(), "modules");
  const Value* entry = modules ? member_of(*modules, name) : nullptr;
  if (!entry) throw SkipCase(golden + " records no outputs of '" + name + "'");
  ctx.require_strict(name);
  LoadedModel& model = ctx.loaded_model();
  const Module* m = model.module(name);
  if (!m || !m->forward) throw SkipCase("'" + name + "' has no forward in the plugin");
  const at::Tensor input = materialize(tensor_member(*entry, "input", golden, name).tensor).clone();
  const at::Tensor expected = materialize(tensor_member(*entry, "output", golden, name).tensor);
  at::Tensor output;
  {
    torch::NoGradGuard no_grad;
    m->module->eval();
    output = m->forward(input);
  }
  const double rtol = ctx.settings().rtol, atol = ctx.settings().atol;
  nlohmann::json data{{"golden", golden}, {"rtol", rtol}, {"atol", atol}, {"shape", output.sizes().vec()}};
  if (output.sizes() != expected.sizes()) {
    data["expected_shape"] = expected.sizes().vec();
    return make_case(Outcome::kFail,
                     "output shape " + format_shape(output.sizes().vec()) + " differs from the recorded " +
                         format_shape(expected.sizes().vec()),
                     "", data);
  }
  const at::Tensor out = output.to(at::kDouble), want = expected.to(at::kDouble);
  const at::Tensor diff = (out - want).abs();
  const double max_abs = diff.numel() ? diff.max().item<double>() : 0.0;
  const std::int64_t outside = diff.numel() ? (~at::isclose(out, want, rtol, atol)).sum().item<std::int64_t>() : 0;
  data["max_abs_difference"] = max_abs;
  data["elements_outside"] = outside;
  data["elements"] = out.numel();
  const std::string summary = "max abs difference " + number_text(max_abs) + " over " + with_thousands(out.numel()) +
                              " outputs (rtol " + number_text(rtol) + ", atol " + number_text(atol) + ")";
  if (outside > 0) {
    return make_case(Outcome::kFail,
                     with_thousands(outside) + " of " + with_thousands(out.numel()) +
                         " outputs differ from the recorded ones: " + summary,
                     "recorded in " + golden + "\n", data);
  }
  return make_case(Outcome::kPass, "reproduces the recorded outputs: " + summary, "", data);
}

}  // namespace ckpt
