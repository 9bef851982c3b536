// Legacy torch.save files (_use_new_zipfile_serialization=False): five pickles in a row
// (magic number, protocol version, sys info, the object, the storage keys), then each
// storage as an int64 element count followed by its raw bytes. torch.load unpickles all
// five with the same unpickler, so a global in any of them would run: every one is
// scanned, and its globals are findings like the main pickle's.
#include "reader/checkpoint_builder.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/storage_table.hpp"

namespace ckpt {

namespace {
// pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): PROTO 2, LONG1 10 bytes, little-endian.
constexpr unsigned char kMagicPickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                          0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
constexpr std::int64_t kProtocolVersion = 1001;
}  // namespace

bool looks_like_torch_legacy(const ByteSource& source) {
  return source.size() >= sizeof kMagicPickle &&
         std::equal(std::begin(kMagicPickle), std::end(kMagicPickle), source.data());
}

Checkpoint read_torch_legacy(std::shared_ptr<const ByteSource> source, const ReadOptions& options) {
  const std::string& file = source->name();
  CheckpointBuilder builder(file, CheckpointFormat::kTorchLegacy, source->size());
  ByteCursor cursor(source->view(0, source->size()), file);
  ValueArena scratch;  // header pickles are not part of the tree

  // A header pickle, scanned like the main one. Its globals are not part of the tree, so
  // they are findings of the pickle they are in (no tree path).
  auto load_header = [&](const char* what) {
    Unpickler header(cursor, scratch, nullptr);
    const Value* value = header.load();
    builder.add_unknown_globals(header.unknown_globals(), what);
    return std::make_pair(value, header.unknown_globals().size());
  };
  // Names the globals a refused header pickle holds: they would run before torch.load
  // noticed the value is wrong.
  auto globals_note = [](std::size_t count) {
    return count == 0 ? std::string()
                      : " (and it holds " + std::to_string(count) + " global(s) outside the allow-list, which torch.load "
                                                                      "would run before noticing)";
  };

  cursor.seek(sizeof kMagicPickle, "magic number");
  const std::size_t protocol_pos = cursor.position();
  const auto [protocol, protocol_globals] = load_header("protocol version pickle");
  if (protocol->kind != ValueKind::kInt || protocol->integer != kProtocolVersion) {
    cursor.fail_at(protocol_pos, ReadErrorKind::kUnsupported,
                   "legacy protocol version is not " + std::to_string(kProtocolVersion) + globals_note(protocol_globals));
  }
  const std::size_t sys_info_pos = cursor.position();
  const auto [sys_info, sys_info_globals] = load_header("sys info pickle");
  if (sys_info->kind != ValueKind::kDict) {
    cursor.fail_at(sys_info_pos, ReadErrorKind::kPickle, "sys info: expected a dict" + globals_note(sys_info_globals));
  }
  if (const Value* little = sys_info->find("little_endian")) {
    builder.set_property("sys_info.little_endian", little->boolean ? "true" : "false");
    if (little->kind == ValueKind::kBool && !little->boolean) {
      cursor.fail_at(sys_info_pos, ReadErrorKind::kUnsupported, "checkpoint was written on a big-endian machine");
    }
  }
  builder.set_property("version", std::to_string(kProtocolVersion));

  StorageTable storages(StorageTable::IdForm::kLegacy,
                        [](StorageRef& storage, ByteCursor&) { (void)storage; });  // located after the keys list
  Unpickler main(cursor, builder.arena(), [&](const Value& pid, ByteCursor& at) {
    return storages.resolve(pid, at, builder.arena());
  });
  builder.set_root(main.load());
  builder.add_unknown_globals(main.unknown_globals(), "main pickle");

  const std::size_t keys_pos = cursor.position();
  const auto [keys, keys_globals] = load_header("storage keys pickle");
  if (keys->kind != ValueKind::kList) {
    cursor.fail_at(keys_pos, ReadErrorKind::kPickle, "storage keys: expected a list of strings" + globals_note(keys_globals));
  }
  for (const Value* key : keys->items) {
    if (key->kind != ValueKind::kStr) {
      cursor.fail_at(keys_pos, ReadErrorKind::kPickle, "storage keys: expected strings" + globals_note(keys_globals));
    }
    std::shared_ptr<StorageRef> storage = storages.find(key->text);
    const std::size_t header_pos = cursor.position();
    const std::uint64_t count = cursor.u64("storage element count");
    if (!storage) cursor.fail_at(header_pos, ReadErrorKind::kTensor, "storage '" + key->text + "' is listed but no tensor uses it");
    if (count != storage->numel) {
      cursor.fail_at(header_pos, ReadErrorKind::kTensor,
                     "storage '" + key->text + "' holds " + std::to_string(count) + " elements, but the pickle declares " +
                         std::to_string(storage->numel));
    }
    const std::uint64_t nbytes = count * dtype_itemsize(storage->dtype);
    if (count > (std::uint64_t{1} << 60) || nbytes > cursor.remaining()) {
      cursor.fail_at(header_pos, ReadErrorKind::kTruncated,
                     "storage '" + key->text + "' needs " + std::to_string(nbytes) + " bytes, only " +
                         std::to_string(cursor.remaining()) + " remain");
    }
    if (storage->source) cursor.fail_at(header_pos, ReadErrorKind::kTensor, "storage '" + key->text + "' is listed twice");
    storage->set_data_offset(cursor.position());
    storage->nbytes = nbytes;
    storage->source = source;
    cursor.take(nbytes, "storage bytes");
  }
  for (const auto& [key, storage] : storages.storages()) {
    if (!storage->source) {
      throw ReadError(ReadErrorKind::kTensor, file, "storage section",
                      "storage '" + key + "' is used by a tensor but its bytes are missing");
    }
  }
  return builder.finish(options);
}

}  // namespace ckpt
