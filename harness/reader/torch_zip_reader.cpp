// torch.save zip checkpoints (PyTorch >= 1.6) and LibTorch / TorchScript archives:
// <prefix>/data.pkl, <prefix>/data/<key> raw storages, <prefix>/version, optional
// <prefix>/byteorder, and for TorchScript archives <prefix>/code/ and constants.pkl.
#include <algorithm>

#include "reader/checkpoint_builder.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/storage_table.hpp"
#include "reader/zip_archive.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text.substr(0, 64));
}

// The single "<prefix>/data.pkl" record; the prefix is the archive name torch.save chose.
std::string find_prefix(const ZipArchive& zip) {
  std::vector<std::string> prefixes;
  for (const auto& e : zip.entries()) {
    const std::string& n = e.name;
    if (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0 &&
        n.find('/') == n.size() - 9) {
      prefixes.push_back(n.substr(0, n.size() - 8));
    } else if (n == "data.pkl") {
      prefixes.push_back("");
    }
  }
  const std::string& file = zip.source().name();
  if (prefixes.empty()) {
    const std::string names = comma_list(zip.entries(), [](const auto& entry) { return entry.name; }, 5);
    throw ReadError(ReadErrorKind::kZip, file, "",
                    "zip archive has no data.pkl record, so it is not a torch.save checkpoint (entries: " +
                        (names.empty() ? std::string("none") : names) + ")");
  }
  if (prefixes.size() > 1) {
    throw ReadError(ReadErrorKind::kZip, file, "",
                    "zip archive has " + std::to_string(prefixes.size()) + " data.pkl records ('" + prefixes[0] +
                        "data.pkl', '" + prefixes[1] + "data.pkl'), expected one");
  }
  return prefixes[0];
}

// torch.jit.load also unpickles constants.pkl (and a program may carry more .pkl records):
// every pickle of the file is scanned for globals, though only data.pkl builds the tree.
// Their persistent ids (tensor constants) are read as inert placeholders.
void scan_other_pickles(const ZipArchive& zip, const std::string& prefix, CheckpointBuilder& builder) {
  ValueArena scratch;
  for (const ZipEntry& e : zip.entries()) {
    const std::string& n = e.name;
    if (n == prefix + "data.pkl" || n.size() < 4 || n.compare(n.size() - 4, 4, ".pkl") != 0) continue;
    const std::string where = "zip entry '" + n + "'";
    ByteCursor cursor(zip.checked_bytes(e), zip.source().name(), where);
    Unpickler unpickler(cursor, scratch, [&scratch](const Value&, ByteCursor&) { return scratch.make(ValueKind::kNone); });
    unpickler.trust_torchscript_classes();
    unpickler.load();
    builder.add_unknown_globals(unpickler.unknown_globals(), where);
  }
}
}  // namespace

Checkpoint read_torch_zip(std::shared_ptr<const ByteSource> source, const ReadOptions& options) {
  auto archive = std::make_shared<ZipArchive>(source);  // kept by the storages: they locate their bytes lazily
  const ZipArchive& zip = *archive;
  const std::string& file = source->name();
  const std::string prefix = find_prefix(zip);
  for (const ZipEntry& e : zip.entries()) {  // torch.save writes every record into one folder
    if (e.name.compare(0, prefix.size(), prefix) != 0) {
      throw ReadError(ReadErrorKind::kZip, file, "zip entry '" + e.name + "'",
                      "outside the folder '" + prefix + "' that holds data.pkl: torch.save writes every record there");
    }
  }
  // A TorchScript archive is what torch.load hands to torch.jit.load: one with constants.pkl
  // (torch.serialization._is_torchscript_zip). Without it, code/ records or not, torch.load
  // unpickles data.pkl with Python's pickle, which imports `__torch__.` classes like any
  // module: they are findings there.
  const bool torchscript = zip.find(prefix + "constants.pkl") != nullptr;
  CheckpointBuilder builder(file, torchscript ? CheckpointFormat::kTorchScriptArchive : CheckpointFormat::kTorchZip,
                            source->size());
  builder.set_property("archive", prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1));
  if (torchscript) {
    // A TorchScript program's code (Python source under code/) is listed, never run: only
    // data.pkl and the tensor records are read.
    const auto code_files = std::count_if(zip.entries().begin(), zip.entries().end(), [&](const ZipEntry& e) {
      return e.name.compare(0, prefix.size() + 5, prefix + "code/") == 0 && e.name.size() > 3 &&
             e.name.compare(e.name.size() - 3, 3, ".py") == 0;
    });
    if (code_files > 0) builder.set_property("torchscript_code_files", std::to_string(code_files));
  }

  bool big_endian = false;
  // PyTorch >= 2.1 adds .data/serialization_id (an id of the save, for torch.load's mmap
  // and checkpoint caches): kept as a property, as the other records.
  for (const char* record : {"version", ".data/version", "byteorder", ".data/serialization_id"}) {
    if (const ZipEntry* e = zip.find(prefix + record)) builder.set_property(record, trimmed(zip.checked_bytes(*e)));
  }
  if (const ZipEntry* e = zip.find(prefix + "byteorder")) {
    // torch.load compares the record's bytes as they are (b'little' or b'big'), no newline.
    const std::string order(zip.checked_bytes(*e).substr(0, 64));
    if (order != "little" && order != "big") {
      throw ReadError(ReadErrorKind::kZip, file, "zip entry '" + e->name + "'",
                      "byteorder record says '" + order + "', expected 'little' or 'big'");
    }
    big_endian = order == "big";
  }
  // PyTorchFileReader reads '.data/version' when it is there, else 'version', and refuses an
  // archive with neither: check the record it reads (the missing case is refused once the
  // pickle is read, so that other errors keep their own message).
  const ZipEntry* version_record = zip.find(prefix + ".data/version");
  if (!version_record) version_record = zip.find(prefix + "version");
  if (const ZipEntry* e = version_record) {
    const std::string version = trimmed(zip.checked_bytes(*e));
    char* end = nullptr;
    long v = std::strtol(version.c_str(), &end, 10);
    if (version.empty() || *end != '\0' || v < 1 || v > 10) {
      throw ReadError(ReadErrorKind::kUnsupported, file, "zip entry '" + e->name + "'",
                      "archive format version '" + version + "' is not one this reader knows (1-10)");
    }
  }

  StorageTable storages(StorageTable::IdForm::kZip, [&](StorageRef& storage, ByteCursor& at) {
    const std::string name = prefix + "data/" + storage.key;
    const ZipEntry* record = zip.find(name);
    if (!record) at.fail(ReadErrorKind::kZip, "storage record '" + name + "' is missing from the archive");
    if (record->method != 0) {  // its size is the inflated one: the bytes in the file are fewer
      at.fail(ReadErrorKind::kZip, "storage record '" + name + "' is compressed (method " + std::to_string(record->method) +
                                       "); torch.save stores tensor data uncompressed");
    }
    const std::uint64_t expected = storage.numel * dtype_itemsize(storage.dtype);
    if (storage.numel > (std::uint64_t{1} << 60) || record->size != expected) {
      at.fail(ReadErrorKind::kTensor, "storage record '" + name + "' has " + std::to_string(record->size) +
                                          " bytes, but the pickle declares " + std::to_string(storage.numel) + " " +
                                          std::string(dtype_name(storage.dtype)) + " elements (" +
                                          std::to_string(expected) + " bytes)");
    }
    // torch.load reads every record a persistent id names while it unpickles: its local
    // header is checked now, not when (if ever) the tensor's bytes are read.
    archive->data_offset(*record);
    storage.set_data_locator([archive, record] { return archive->data_offset(*record); });
    storage.nbytes = record->size;
    storage.big_endian = big_endian;
    storage.source = zip.shared_source();
  });

  const ZipEntry& pickle_entry = *zip.find(prefix + "data.pkl");
  const std::string where = "zip entry '" + pickle_entry.name + "'";
  ByteCursor cursor(zip.checked_bytes(pickle_entry), file, where);
  Unpickler unpickler(cursor, builder.arena(), [&](const Value& pid, ByteCursor& at) {
    return storages.resolve(pid, at, builder.arena());
  });
  if (torchscript) unpickler.trust_torchscript_classes();
  builder.set_root(unpickler.load());
  builder.add_unknown_globals(unpickler.unknown_globals(), where);
  if (torchscript) scan_other_pickles(zip, prefix, builder);
  if (!version_record) {
    throw ReadError(ReadErrorKind::kZip, file, "",
                    "zip archive has no '" + prefix + "version' record: torch.load and LibTorch refuse such an archive "
                    "(torch.save always writes one)");
  }
  return builder.finish(options);
}

}  // namespace ckpt
