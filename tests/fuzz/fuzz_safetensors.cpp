// libFuzzer target: the safetensors reader called directly, whatever the first bytes are
// (no sniffing), so header lengths the sniffer would refuse reach it too.
#include <cstdint>

#include "fuzz_common.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ckpt::ReadOptions options = ckpt_fuzz::fuzz_options();
  auto source = ckpt_fuzz::input_source(data, size);
  (void)ckpt::looks_like_safetensors(*source);
  try {
    const ckpt::Checkpoint checkpoint = ckpt::read_safetensors(source, options);
    CKPT_FUZZ_CHECK(checkpoint.format() == ckpt::CheckpointFormat::kSafetensors, "wrong format");
    ckpt_fuzz::exercise(checkpoint, options);
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
