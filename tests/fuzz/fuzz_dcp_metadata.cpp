// libFuzzer target: bytes read as the `.metadata` of a torch.distributed.checkpoint directory
// that holds no other file: the metadata's dataclasses, the planner's nesting and the chunks'
// coverage are all checked, every record is missing (an integrity finding, not a crash).
#include <cstdint>

#include "fuzz_common.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ckpt::ReadOptions options = ckpt_fuzz::fuzz_options();
  auto source = ckpt_fuzz::input_source(data, size);
  try {
    const ckpt::Checkpoint checkpoint = ckpt::read_dcp_metadata(source, "/nonexistent/ckpt-fuzz-dcp", options);
    CKPT_FUZZ_CHECK(checkpoint.format() == ckpt::CheckpointFormat::kDcp, "wrong format");
    ckpt_fuzz::exercise(checkpoint, options);
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
