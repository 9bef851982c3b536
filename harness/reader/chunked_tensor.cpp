#include "reader/chunked_tensor.hpp"

#include <filesystem>
#include <optional>
#include <set>

#include "reader/checkpoint.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/zip_archive.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
std::string shape_text(const std::vector<std::int64_t>& dims) { return format_shape(dims); }
}  // namespace

std::string TensorChunk::text() const {
  return shape_text(offsets) + " + " + shape_text(sizes) + " in " + file;
}

DcpFiles::DcpFiles(std::string directory, std::uint64_t max_file_bytes, AllowedDirs confine_to)
    : directory_(std::move(directory)), max_file_bytes_(max_file_bytes), confine_to_(std::move(confine_to)) {}

std::shared_ptr<const ByteSource> DcpFiles::open(const std::string& file) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = opened_.find(file);
  if (found != opened_.end()) return found->second;
  auto source = ByteSource::map_file((std::filesystem::path(directory_) / file).string(), max_file_bytes_, confine_to_);
  opened_.emplace(file, source);
  return source;
}

std::string ChunkedTensor::summary() const {
  std::set<std::string> names;
  for (const auto& c : chunks) names.insert(c.file);
  std::string out = counted(chunks.size(), "chunk") + " in " + comma_list(names);
  if (!damage.empty()) out += "; damaged: " + damage;
  return out;
}

TensorRef ChunkedTensor::read_chunk(std::size_t i, DType dtype) const {
  const std::string where = "'" + key + "' chunk " + std::to_string(i);
  if (!damage.empty()) throw ReadError(ReadErrorKind::kTensor, files->directory(), where, damage);
  const TensorChunk& chunk = chunks.at(i);
  const auto file = files->open(chunk.file);
  const std::string record = file->name() + " bytes " + std::to_string(chunk.offset) + "+" + std::to_string(chunk.length);
  if (chunk.offset > file->size() || chunk.length > file->size() - chunk.offset) {
    throw ReadError(ReadErrorKind::kTruncated, file->name(), where,
                    "the record (" + std::to_string(chunk.length) + " bytes at byte " + std::to_string(chunk.offset) +
                        ") runs past the end of the file (" + std::to_string(file->size()) + " bytes)");
  }
  auto bytes = ByteSource::slice(file, chunk.offset, chunk.length, record);
  if (!ZipArchive::looks_like_zip(*bytes)) {
    throw ReadError(ReadErrorKind::kUnsupported, record, where,
                    "the record is not a torch.save archive (a DCP writer's other serialization, or a wrong offset)");
  }
  std::optional<Checkpoint> read;
  try {
    read = read_torch_zip(std::move(bytes), ReadOptions{});
  } catch (const ReadError& e) {
    rethrow_within(e, where);
  }
  const Checkpoint& part = *read;
  if (!part.findings().empty()) {
    throw ReadError(ReadErrorKind::kTensor, record, where, "the record names " + part.findings().front().global +
                                                               ", which a tensor record never does");
  }
  const Value& root = part.root();
  if (root.kind != ValueKind::kTensor || root.tensor.is_sparse() || root.tensor.quantization || root.tensor.meta) {
    throw ReadError(ReadErrorKind::kTensor, record, where,
                    std::string("the record holds a ") + to_string(root.kind) + ", expected a dense tensor");
  }
  if (root.tensor.dtype != dtype) {
    throw ReadError(ReadErrorKind::kTensor, record, where,
                    "the record's tensor is " + std::string(dtype_name(root.tensor.dtype)) + ", `.metadata` says " +
                        std::string(dtype_name(dtype)));
  }
  if (root.tensor.sizes != chunk.sizes) {
    throw ReadError(ReadErrorKind::kTensor, record, where,
                    "the record's tensor has shape " + shape_text(root.tensor.sizes) + ", `.metadata` says the chunk is " +
                        shape_text(chunk.sizes));
  }
  return root.tensor;  // its storage keeps the record's bytes, and so the file, alive
}

}  // namespace ckpt
