// libFuzzer target: the legacy torch.save reader called directly (it skips the magic-number
// pickle without checking it): header pickles, main pickle, storage keys, raw storages.
#include <cstdint>

#include "fuzz_common.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ckpt::ReadOptions options = ckpt_fuzz::fuzz_options();
  auto source = ckpt_fuzz::input_source(data, size);
  (void)ckpt::looks_like_torch_legacy(*source);
  try {
    const ckpt::Checkpoint checkpoint = ckpt::read_torch_legacy(source, options);
    CKPT_FUZZ_CHECK(checkpoint.format() == ckpt::CheckpointFormat::kTorchLegacy, "wrong format");
    ckpt_fuzz::exercise(checkpoint, options);
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
