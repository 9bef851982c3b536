#pragma once
// The one error type of the reader: what went wrong, in which file, where, and what was expected.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ckpt {

enum class ReadErrorKind {
  kIo,             // cannot open, map or stat the file
  kNotACheckpoint, // no known format matches the first bytes
  kTruncated,      // the data ends before a structure it announces
  kZip,            // malformed or disallowed zip structure
  kPickle,         // malformed pickle stream
  kTensor,         // tensor metadata inconsistent with its storage
  kSafetensors,    // malformed safetensors header or index
  kUnsupported,    // well-formed, but a feature this reader does not handle
  kLimit,          // a safety limit (size, depth, count) was exceeded
};

const char* to_string(ReadErrorKind kind);

class ReadError : public std::runtime_error {
 public:
  // where: "byte 1234", "zip entry 'archive/data.pkl' byte 57", "['generator']['w']", ...
  ReadError(ReadErrorKind kind, std::string file, std::string where, std::string what);

  ReadErrorKind kind() const { return kind_; }
  const std::string& file() const { return file_; }
  const std::string& where() const { return where_; }
  const std::string& what_happened() const { return what_; }

 private:
  ReadErrorKind kind_;
  std::string file_;
  std::string where_;
  std::string what_;
};

// Rethrows `error` with a location prefix added in front of its `where` (used when a
// nested structure, such as a pickle inside a zip entry, reports an offset of its own).
[[noreturn]] void rethrow_within(const ReadError& error, const std::string& outer_where);

}  // namespace ckpt
