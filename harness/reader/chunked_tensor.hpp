#pragma once
// A tensor of a torch.distributed.checkpoint (DCP) directory. Its global shape is cut into
// chunks (one per rank that held a shard of it, one for a tensor saved whole), each a
// torch.save record at a byte range of one of the directory's `.distcp` files. Nothing of a
// chunk is read until the tensor's values are: tensor/materialize.hpp assembles them.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reader/byte_source.hpp"
#include "reader/tensor_ref.hpp"

namespace ckpt {

struct ReadOptions;

struct TensorChunk {
  std::vector<std::int64_t> offsets, sizes;  // where the chunk lies in the global tensor
  std::string file;                           // beside `.metadata`: "__1_0.distcp"
  std::uint64_t offset = 0, length = 0;       // the record's bytes in `file`
  std::string text() const;                   // "[3, 0] + [3, 4] in __1_0.distcp"
};

// The files of one DCP directory, each opened (mapped, confined) once, when a chunk first
// needs it; shared by the directory's chunked tensors.
class DcpFiles {
 public:
  DcpFiles(std::string directory, std::uint64_t max_file_bytes, AllowedDirs confine_to);
  const std::string& directory() const { return directory_; }
  // `file` of the directory (a name without directories); throws ReadError when it cannot
  // be opened.
  std::shared_ptr<const ByteSource> open(const std::string& file) const;

 private:
  std::string directory_;
  std::uint64_t max_file_bytes_;
  AllowedDirs confine_to_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const ByteSource>> opened_;
};

struct ChunkedTensor {
  std::string key;  // its key in `.metadata`: "generator.main.0.weight"
  std::vector<TensorChunk> chunks;
  std::shared_ptr<const DcpFiles> files;
  // Why the chunks cannot give the tensor ("" when they can): a hole, an overlap, a chunk
  // outside the shape, a missing file or a record past its end. The checkpoint's integrity
  // findings say the same; reading the tensor's values throws it.
  std::string damage;

  // "2 chunks in __0_0.distcp, __1_0.distcp": how inspect describes it.
  std::string summary() const;
  // The tensor of chunk `i`'s record: a torch.save archive holding one dense tensor of
  // `dtype` whose shape is the chunk's. Throws ReadError naming the file, the record's bytes
  // and the tensor when it is not (or when the tensor is damaged).
  TensorRef read_chunk(std::size_t i, DType dtype) const;
};

}  // namespace ckpt
