// Engine benchmarks: comparing a 10,000-key state dict, and the whole compare step (read,
// extract, compare) on the big benchmark checkpoint named by $CKPT_BENCH_FILE, to set
// against Python's torch.load + load_state_dict(strict=False) (tests/bench/python_side.py).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "engine/compare.hpp"
#include "engine/layout.hpp"

namespace ckpt {
namespace {

// A schema equal to a state dict's own tensors: the model the checkpoint was written from.
ModuleSchema schema_matching(const StateDict& state, const std::string& name) {
  ModuleSchema schema;
  schema.name = name;
  for (const auto& e : state.entries) {
    if (e.value->kind != ValueKind::kTensor) continue;
    schema.tensors.push_back({e.key, e.value->tensor.dtype, e.value->tensor.sizes, false});
    const std::string suffix = ".running_mean";
    if (e.key.size() > suffix.size() && e.key.compare(e.key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      schema.submodules.push_back({e.key.substr(0, e.key.size() - suffix.size()), "BatchNorm2d", true});
    }
  }
  return schema;
}

void BM_CompareStateDict(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  ValueArena arena;
  StateDict state;
  for (std::size_t i = 0; i < n; ++i) {
    Value* v = arena.make(ValueKind::kTensor);
    v->tensor.dtype = DType::kFloat32;
    v->tensor.sizes = {64, 64, 3, 3};
    const std::string key = "blocks." + std::to_string(i / 4) + ".conv" + std::to_string(i % 4) + ".weight";
    state.entries.push_back({key, key, v});
  }
  const ModuleSchema schema = schema_matching(state, "generator");
  for (auto _ : st) {
    ModuleComparison c = compare_module(schema, state);
    benchmark::DoNotOptimize(c);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}
BENCHMARK(BM_CompareStateDict)->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);

// What `diff` does before any tensor byte is read, on a multi-hundred-MB file.
void BM_CompareCheckpointFile(benchmark::State& st, const std::string& file) {
  for (auto _ : st) {
    CheckpointSet files(file);
    for (const char* module : {"generator", "discriminator"}) {
      const StateDict state = extract_state_dict(files, {"", {{module}}, ""}, {});
      st.PauseTiming();
      const ModuleSchema schema = schema_matching(state, module);  // the model exists before the check
      st.ResumeTiming();
      ModuleComparison c = compare_module(schema, state);
      benchmark::DoNotOptimize(c);
    }
  }
}

}  // namespace
}  // namespace ckpt

int main(int argc, char** argv) {
  if (const char* file = std::getenv("CKPT_BENCH_FILE")) {
    benchmark::RegisterBenchmark("BM_CompareCheckpointFile", ckpt::BM_CompareCheckpointFile, std::string(file))
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
