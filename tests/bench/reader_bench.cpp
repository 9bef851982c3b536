// Benchmarks of the reader core (no LibTorch), run by ci/bench.sh:
//   BM_UnpickleStateDict/N  read_checkpoint of an in-memory torch.save zip whose data.pkl is
//                           an OrderedDict of N float32 tensors, byte for byte as torch 1.13
//                           pickles it (support/pickle_writer.hpp). bytes/s = pickle bytes.
//   BM_ReadFixture/<name>   read_checkpoint of a committed fixture, from the file (mmap).
//   BM_ReadFile/<name>      the same for the file in $CKPT_BENCH_FILE, when set.
//   BM_Summarize/N          summarize() of the N-tensor tree.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <sys/stat.h>

#include "reader/checkpoint.hpp"
#include "reader/checkpoint_summary.hpp"
#include "reader/read_error.hpp"
#include "support/pickle_writer.hpp"
#include "support/test_paths.hpp"
#include "support/zip_builder.hpp"

namespace {

constexpr std::int64_t kFloatsPerTensor = 4;

struct StateDictArchive {
  std::vector<std::uint8_t> zip;
  std::size_t pickle_bytes = 0;
};

// Built once per N, outside every timed loop.
const StateDictArchive& state_dict_archive(std::size_t n) {
  static std::map<std::size_t, StateDictArchive> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  const std::string pickle = ckpt::test::state_dict_pickle(n, kFloatsPerTensor);
  std::vector<std::pair<std::string, std::string>> storages;
  storages.reserve(n);
  for (std::size_t i = 0; i < n; ++i) storages.emplace_back(std::to_string(i), ckpt::test::floats(kFloatsPerTensor));
  StateDictArchive a;
  a.zip = ckpt::test::to_bytes(ckpt::test::torch_zip(pickle, storages));
  a.pickle_bytes = pickle.size();
  return cache.emplace(n, std::move(a)).first->second;
}

ckpt::Checkpoint read_archive(const StateDictArchive& a) {
  return ckpt::read_checkpoint(ckpt::ByteSource::from_memory("state_dict.pt", a.zip));
}

// The benchmark measures nothing if the reader does not see the N tensors.
bool check_tensors(benchmark::State& state, const ckpt::Checkpoint& c, std::uint64_t expected) {
  const auto s = ckpt::summarize(c.root());
  if (s.tensors == expected && s.storages == expected) return true;
  state.SkipWithError(("expected " + std::to_string(expected) + " tensors, read " + std::to_string(s.tensors)).c_str());
  return false;
}

void BM_UnpickleStateDict(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const StateDictArchive& a = state_dict_archive(n);
  try {
    if (!check_tensors(state, read_archive(a), n)) return;
  } catch (const ckpt::ReadError& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();  // from_memory takes ownership: copy the archive untimed
    std::vector<std::uint8_t> bytes = a.zip;
    state.ResumeTiming();
    ckpt::Checkpoint c = ckpt::read_checkpoint(ckpt::ByteSource::from_memory("state_dict.pt", std::move(bytes)));
    benchmark::DoNotOptimize(&c.root());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * a.pickle_bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["pickle_KiB"] = static_cast<double>(a.pickle_bytes) / 1024.0;
}
BENCHMARK(BM_UnpickleStateDict)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_Summarize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const ckpt::Checkpoint c = read_archive(state_dict_archive(n));
  if (!check_tensors(state, c, n)) return;
  for (auto _ : state) {
    ckpt::CheckpointSummary s = ckpt::summarize(c.root());
    benchmark::DoNotOptimize(s.storage_bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Summarize)->Arg(10000)->Unit(benchmark::kMillisecond);

void read_file(benchmark::State& state, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    state.SkipWithError(("cannot stat " + path).c_str());
    return;
  }
  std::uint64_t tensors = 0;
  try {
    tensors = ckpt::summarize(ckpt::read_checkpoint(path).root()).tensors;
  } catch (const ckpt::ReadError& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    ckpt::Checkpoint c = ckpt::read_checkpoint(path);
    benchmark::DoNotOptimize(&c.root());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * static_cast<std::uint64_t>(st.st_size)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tensors));
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* fixture : {"gan_dcgan_adam.pt", "legacy_gan.pt", "safetensors/model.safetensors"}) {
    const std::string path = ckpt::test::fixture(fixture);
    benchmark::RegisterBenchmark(("BM_ReadFixture/" + base_name(fixture)).c_str(),
                                 [path](benchmark::State& s) { read_file(s, path); })
        ->Unit(benchmark::kMicrosecond);
  }
  if (const char* big = std::getenv("CKPT_BENCH_FILE"); big && *big) {
    const std::string path = big;
    benchmark::RegisterBenchmark(("BM_ReadFile/" + base_name(path)).c_str(),
                                 [path](benchmark::State& s) { read_file(s, path); })
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
