// libFuzzer target: the whole reader as users call it, ckpt::read_checkpoint on bytes in
// memory: format sniffing, then the torch zip, legacy, safetensors or safetensors-index reader.
// The input is named as if it lay in $CKPT_FUZZ_SHARD_DIR, so that an index can name the
// shards placed there (ci/fuzz-smoke.sh copies the fixture shards); without it, shards are
// looked up in a directory that does not exist and fail cleanly.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_common.hpp"
#include "reader/read_error.hpp"

namespace {
std::string input_name;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("CKPT_FUZZ_SHARD_DIR");
  input_name = std::string(dir && *dir ? dir : "/nonexistent-ckpt-fuzz-dir") + "/fuzz-input";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ckpt::ReadOptions options = ckpt_fuzz::fuzz_options();
  try {
    const ckpt::Checkpoint checkpoint = ckpt::read_checkpoint(ckpt_fuzz::input_source(data, size, input_name), options);
    CKPT_FUZZ_CHECK(checkpoint.file_bytes() == size || checkpoint.format() == ckpt::CheckpointFormat::kSafetensorsIndex,
                    "file_bytes differs from the input size");
    ckpt_fuzz::exercise(checkpoint, options);
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
