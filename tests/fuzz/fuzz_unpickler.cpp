// libFuzzer target: the pickle layer. Any bytes are one pickle; a persistent id that
// StorageTable accepts gets a storage fabricated over a shared buffer of zeros (or fails
// cleanly when it would be larger), so tensor rebuilds are reachable without a zip around
// them. The result then goes through CheckpointBuilder::finish like a real checkpoint.
#include <cstdint>

#include "fuzz_common.hpp"
#include "reader/byte_cursor.hpp"
#include "reader/checkpoint_builder.hpp"
#include "reader/read_error.hpp"
#include "reader/storage_table.hpp"
#include "reader/unpickler.hpp"

namespace {
constexpr std::size_t kFabricatedBytes = 1u << 20;

const std::shared_ptr<const ckpt::ByteSource>& zeros() {
  static const auto source = ckpt::ByteSource::from_memory("fabricated storage", std::vector<std::uint8_t>(kFabricatedBytes));
  return source;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ckpt::ReadOptions options = ckpt_fuzz::fuzz_options();
  auto source = ckpt_fuzz::input_source(data, size);
  try {
    ckpt::CheckpointBuilder builder(source->name(), ckpt::CheckpointFormat::kTorchZip, size);
    ckpt::StorageTable storages(ckpt::StorageTable::IdForm::kZip, [](ckpt::StorageRef& storage, ckpt::ByteCursor& at) {
      std::uint64_t nbytes = 0;
      if (__builtin_mul_overflow(storage.numel, ckpt::dtype_itemsize(storage.dtype), &nbytes) || nbytes > kFabricatedBytes) {
        at.fail(ckpt::ReadErrorKind::kLimit, "fabricated storage '" + storage.key + "' would be over 1 MiB");
      }
      storage.set_data_offset(0);
      storage.nbytes = nbytes;
      storage.source = zeros();
    });
    ckpt::ByteCursor cursor(source->view(0, source->size()), source->name(), "pickle");
    ckpt::Unpickler unpickler(cursor, builder.arena(), [&](const ckpt::Value& pid, ckpt::ByteCursor& at) {
      return storages.resolve(pid, at, builder.arena());
    });
    const ckpt::Value* root = unpickler.load();
    CKPT_FUZZ_CHECK(root != nullptr, "load() returned null");
    builder.set_root(root);
    builder.add_unknown_globals(unpickler.unknown_globals(), "fuzz pickle");
    const ckpt::Checkpoint checkpoint = builder.finish(options);
    ckpt_fuzz::exercise(checkpoint, options);
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
