// libFuzzer target: the zip layer. Any bytes are opened as a ZipArchive (no sniffing), and
// every entry the archive lists is looked up by name and, unless bytes() refuses it, read
// in full: the bytes must lie inside the input.
#include <cstdint>

#include "fuzz_common.hpp"
#include "reader/read_error.hpp"
#include "reader/zip_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto source = ckpt_fuzz::input_source(data, size);
  (void)ckpt::ZipArchive::looks_like_zip(*source);
  try {
    ckpt::ZipArchive zip(source);
    CKPT_FUZZ_CHECK(zip.entries().size() <= ckpt::ZipArchive::kMaxEntries, "too many entries");
    const char* begin = reinterpret_cast<const char*>(source->data());
    for (const ckpt::ZipEntry& e : zip.entries()) {
      CKPT_FUZZ_CHECK(zip.find(e.name) == &e, "find() does not return the entry '" + e.name + "'");
      std::string_view bytes;
      try {
        bytes = zip.bytes(e);  // may refuse an entry it lists (a compressed one)
      } catch (const ckpt::ReadError& refused) {
        ckpt_fuzz::expected_error(refused);
        continue;
      }
      CKPT_FUZZ_CHECK(bytes.size() == e.size, "entry '" + e.name + "' reads a different size");
      CKPT_FUZZ_CHECK(bytes.data() >= begin && bytes.size() <= size && bytes.data() - begin <= static_cast<std::ptrdiff_t>(size - bytes.size()),
                      "entry '" + e.name + "' lies outside the file");
      unsigned sum = 0;
      for (char c : bytes) sum += static_cast<unsigned char>(c);
      volatile unsigned sink = sum;
      (void)sink;
    }
    (void)zip.find("archive/data.pkl");
    ckpt_fuzz::read_ok("zip");
  } catch (const ckpt::ReadError& e) {
    ckpt_fuzz::expected_error(e);
  }
  return 0;
}
