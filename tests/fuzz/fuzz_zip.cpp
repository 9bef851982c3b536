// libFuzzer target: the zip layer. Any bytes are opened as a ZipArchive (no sniffing), and
// every entry the archive accepts is looked up by name and read in full.
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
    for (const ckpt::ZipEntry& e : zip.entries()) {
      CKPT_FUZZ_CHECK(zip.find(e.name) == &e, "find() does not return the entry '" + e.name + "'");
      CKPT_FUZZ_CHECK(e.data_offset <= size && e.size <= size - e.data_offset, "entry '" + e.name + "' lies outside the file");
      std::string_view bytes = zip.bytes(e);
      CKPT_FUZZ_CHECK(bytes.size() == e.size, "entry '" + e.name + "' reads a different size");
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
