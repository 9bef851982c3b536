// golden-output: the loaded module reproduces outputs recorded when the checkpoint was
// written (NAME.golden.pt beside NAME.pt: {'golden_format': 1, 'modules': {module:
// {'input': x, 'output': y}}, 'recorded_with': 'PyTorch 2.6.0'}, recorded in eval mode).
// Catches silently corrupted parameters and a forward that changed meaning. Kernels differ
// between PyTorch versions, so outputs recorded by another version than this harness's
// LibTorch that differ only as much as kernels do are a skip that says so, not a failure; a
// file recorded for this LibTorch (NAME.golden.libtorch-X.Y.pt) is read first.
#include <torch/csrc/autograd/grad_mode.h>

#include <ATen/ops/abs.h>
#include <ATen/ops/isclose.h>
#include <torch/version.h>

#include <cctype>
#include <filesystem>

#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"
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

const std::string kThisLibtorch = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);

// "PyTorch 2.6.0+debian" -> "2.6": the first MAJOR.MINOR in the text; "" when none.
std::string major_minor(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) || (i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1])))) continue;
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j + 1 >= text.size() || text[j] != '.' || !std::isdigit(static_cast<unsigned char>(text[j + 1]))) continue;
    std::size_t k = j + 1;
    while (k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]))) ++k;
    return text.substr(i, k - i);
  }
  return "";
}

bool exists(const std::string& path) {
  // lstat, not stat: a link that leads nowhere (or in a loop) is a golden file that cannot
  // be read, which the reader says, not a missing one.
  std::error_code ec;
  return !path.empty() && std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}
}  // namespace

CaseResult run_golden_output(UnitContext& ctx, const std::string& name) {
  ctx.require_values("golden-output");
  // NAME.golden.pt -> NAME.golden.libtorch-X.Y.pt: the checkpoint's path with the golden suffix.
  const std::string& any_version = ctx.request().golden;
  const std::string suffix = ".golden.pt";
  const std::string for_this_libtorch =
      any_version.size() > suffix.size()
          ? golden_path_for(any_version.substr(0, any_version.size() - suffix.size()) + ".pt", kThisLibtorch)
          : "";
  const std::string golden = exists(for_this_libtorch) ? for_this_libtorch : any_version;
  if (!exists(golden)) throw SkipCase("no golden outputs recorded for this checkpoint (" + any_version + ")");
  // Confined as the checkpoint is: a golden file linking out of the repository is refused.
  const Checkpoint recorded = read_checkpoint(golden, ctx.read_options());
  const Value* format = member_of(recorded.root(), "golden_format");
  if (!format || format->kind != ValueKind::kInt || format->integer != 1) {
    throw std::invalid_argument(golden + ": not a golden-output file: expected 'golden_format': 1 at the top");
  }
  const Value* recorded_with = member_of(recorded.root(), "recorded_with");
  const std::string recorder = recorded_with && recorded_with->kind == ValueKind::kStr ? recorded_with->text : "";
  const std::string recorder_version = major_minor(recorder);
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
  nlohmann::json data{{"golden", golden}, {"rtol", rtol}, {"atol", atol}, {"shape", output.sizes().vec()},
                      {"computed_with", "LibTorch " + std::string(TORCH_VERSION)}};
  if (!recorder.empty()) data["recorded_with"] = recorder;
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
    const std::string differ = with_thousands(outside) + " of " + with_thousands(out.numel()) +
                               " outputs differ from the recorded ones: " + summary;
    const bool other_kernels = !recorder_version.empty() && recorder_version != kThisLibtorch;
    if (!other_kernels) {
      data["cause"] = "drift";
      return make_case(Outcome::kFail, differ, "recorded in " + golden + (recorder.empty() ? "" : " with " + recorder) + "\n", data);
    }
    const std::string versions = "recorded with " + recorder + ", computed with LibTorch " + kThisLibtorch;
    const double kernel_atol = ctx.settings().kernel_atol;
    if (max_abs <= kernel_atol) {
      data["cause"] = "kernels";
      return make_case(Outcome::kSkipped,
                       "outside tolerance and the kernels changed: " + differ + "; " + versions +
                           ", and kernels of different versions differ this much (within kernel_atol " +
                           number_text(kernel_atol) + ")",
                       "recorded in " + golden + "\nre-record for this LibTorch: ckpt-harness record-golden CHECKPOINT "
                       "--plugin NAME --for-this-libtorch (writes " + for_this_libtorch + "), or run on the LibTorch " +
                           recorder_version + " platform\n",
                       data);
    }
    data["cause"] = "drift";
    return make_case(Outcome::kFail,
                     differ + "; " + versions + ", but the difference exceeds what kernels of different versions give "
                         "(kernel_atol " + number_text(kernel_atol) + "): the model's outputs drifted",
                     "recorded in " + golden + "\n", data);
  }
  return make_case(Outcome::kPass, "reproduces the recorded outputs: " + summary, "", data);
}

}  // namespace ckpt
