#include "reader/dcp_layout.hpp"

#include <map>
#include <set>

#include "reader/read_error.hpp"

namespace ckpt {

std::vector<std::pair<std::string, const TensorRef*>> chunked_tensors(const Value& root) {
  std::vector<std::pair<std::string, const TensorRef*>> out;
  std::vector<const Value*> stack{&root};
  std::set<const Value*> seen;  // a value shared in the tree is listed once
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (!seen.insert(v).second) continue;
    if (v->kind == ValueKind::kTensor && v->tensor.chunks) out.emplace_back(v->tensor.chunks->key, &v->tensor);
    const std::vector<ValueChild> children = children_of(*v);
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(it->value);
  }
  return out;
}

std::vector<DcpFileChunks> dcp_file_chunks(const Value& root) {
  std::map<std::string, DcpFileChunks> files;
  for (const auto& [key, tensor] : chunked_tensors(root)) {
    for (const TensorChunk& chunk : tensor->chunks->chunks) {
      if (chunk.file.empty()) continue;  // storage_data gives it no record (a finding says so)
      DcpFileChunks& f = files[chunk.file];
      f.file = chunk.file;
      f.tensors.push_back(key);
      f.chunks.push_back(chunk);
      f.record_bytes += chunk.length;
    }
  }
  std::vector<DcpFileChunks> out;
  for (auto& [name, f] : files) out.push_back(std::move(f));
  return out;
}

std::vector<IntegrityFinding> verify_chunk_records(const Value& root) {
  std::vector<IntegrityFinding> out;
  for (const auto& [key, tensor] : chunked_tensors(root)) {
    const ChunkedTensor& chunked = *tensor->chunks;
    if (!chunked.damage.empty()) continue;  // already a finding of the reading
    for (std::size_t i = 0; i < chunked.chunks.size(); ++i) {
      try {
        chunked.read_chunk(i, tensor->dtype);
      } catch (const ReadError& e) {
        out.push_back({key, "chunk " + std::to_string(i) + " (" + chunked.chunks[i].text() + ")", chunked.chunks[i].file,
                       e.what_happened()});
      }
    }
  }
  return out;
}

}  // namespace ckpt
