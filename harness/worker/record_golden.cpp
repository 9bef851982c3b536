#include "worker/record_golden.hpp"

#include <torch/csrc/autograd/grad_mode.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/version.h>


#include "engine/apply.hpp"
#include "reports/atomic_file.hpp"
#include "scenarios/compatibility.hpp"

namespace ckpt {

namespace {
// The archive torch.save writes for `value`. Not torch::jit::pickle_save: it tags typed dicts
// with torch.jit._pickle.restore_type_tag, which PyTorch >= 2.6's torch.load refuses by
// default (weights_only=True); untagged, the file loads as any state dict does.
std::vector<char> torch_save_archive(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&pickle](const char* bytes, std::size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&archive](const void* data, std::size_t n) {
    const char* bytes = static_cast<const char*>(data);
    archive.insert(archive.end(), bytes, bytes + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}
}  // namespace

GoldenRecording record_golden(CheckpointSet& files, const Plugin& plugin, LoadedModel& model,
                              const CheckpointLayout& layout, std::int64_t batch, const std::string& out_file) {
  const CompatibilityReport report = check_compatibility(files, plugin, model, layout);
  GoldenRecording recording{out_file, {}, {}};
  // Values of mixed types (an int, dicts) need a generic dict, as in Python.
  c10::impl::GenericDict modules(c10::StringType::get(), c10::AnyType::get());
  auto& model_modules = model.model().modules;
  for (std::size_t i = 0; i < model_modules.size(); ++i) {
    Module& m = model_modules[i];
    const ModuleResult& r = report.modules.at(i);
    if (!m.forward) {
      recording.skipped.push_back(m.name + ": no forward in the plugin");
      continue;
    }
    if (!r.error.empty()) throw GoldenRecordError("'" + m.name + "' is not in the checkpoint: " + r.error);
    if (!r.comparison.strictly_loadable()) {
      throw GoldenRecordError("'" + m.name + "' does not load strictly from " + files.main_file() +
                              " (see `ckpt-harness diff`): golden outputs are recorded only from a model that loads fully");
    }
    load_strict(*m.module, r.comparison, r.state);
    const at::Tensor input = plugin.sample_input(model, m.name, batch);
    if (!input.defined()) {
      recording.skipped.push_back(m.name + ": the plugin gives no sample input");
      continue;
    }
    at::Tensor output;
    {
      torch::NoGradGuard no_grad;
      m.module->eval();
      output = m.forward(input);
    }
    c10::Dict<std::string, at::Tensor> entry;
    entry.insert("input", input.contiguous());
    entry.insert("output", output.contiguous());
    modules.insert(m.name, entry);
    recording.modules.push_back(m.name);
  }
  if (recording.modules.empty()) throw GoldenRecordError("no module of '" + plugin.info().name + "' has a forward to record");
  c10::impl::GenericDict golden(c10::StringType::get(), c10::AnyType::get());
  golden.insert("golden_format", c10::IValue(static_cast<std::int64_t>(1)));
  golden.insert("modules", modules);
  // Kernels differ between versions: the golden-output scenario compares with it.
  golden.insert("recorded_with", c10::IValue(std::string("LibTorch ") + TORCH_VERSION));
  const std::vector<char> bytes = torch_save_archive(c10::IValue(golden));
  try {
    write_file_atomically(out_file, [&bytes](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  } catch (const ReportWriteError& e) {
    throw GoldenRecordError(e.what());
  }
  return recording;
}

}  // namespace ckpt
