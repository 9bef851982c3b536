#pragma once
// What a torch.distributed.checkpoint's files hold, for `inspect`: each file's chunks (which
// tensor, where in it), and a check of every chunk's record that reads the record's zip
// directory and pickle, never its tensor data: a length that lies, a record that is not a
// tensor of its chunk's shape and dtype.
#include <cstdint>
#include <string>
#include <vector>

#include "reader/checkpoint.hpp"
#include "reader/chunked_tensor.hpp"

namespace ckpt {

struct DcpFileChunks {
  std::string file;                        // "__0_0.distcp"
  std::vector<std::string> tensors;        // the key of each chunk below, in tree order
  std::vector<TensorChunk> chunks;
  std::uint64_t record_bytes = 0;          // of its tensor records
};

// Every chunked tensor of the tree, in tree order, as (key, tensor).
std::vector<std::pair<std::string, const TensorRef*>> chunked_tensors(const Value& root);

// The chunks of each file, files in name order.
std::vector<DcpFileChunks> dcp_file_chunks(const Value& root);

// A finding for every chunk whose record does not read as its chunk's tensor (tensors already
// found damaged are not read again).
std::vector<IntegrityFinding> verify_chunk_records(const Value& root);

}  // namespace ckpt
