#include "reader/zip_archive.hpp"

#include <gtest/gtest.h>

#include "reader/read_error.hpp"
#include "support/read_helpers.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

TEST(ZipArchive, ReadsTorchSaveEntriesInPlace) {
  const auto source = ByteSource::map_file(fixture("gan_dcgan_adam.pt"));
  const ZipArchive zip(source);
  const ZipEntry* pkl = zip.find("gan_dcgan_adam/data.pkl");
  ASSERT_NE(pkl, nullptr);
  EXPECT_EQ(zip.bytes(*pkl).substr(0, 2), std::string("\x80\x02", 2));
  const ZipEntry* version = zip.find("gan_dcgan_adam/version");
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(zip.bytes(*version), "3\n");
  // Bytes are views of the mapping, not copies.
  EXPECT_EQ(zip.bytes(*pkl).data(), reinterpret_cast<const char*>(source->data() + zip.data_offset(*pkl)));
  // torch.save aligns storage records to 64 bytes so they can be mapped as tensors.
  for (const auto& e : zip.entries()) {
    if (e.name.find("/data/") != std::string::npos) {
      EXPECT_EQ(zip.data_offset(e) % 64, 0u) << e.name;
    }
  }
}

TEST(ZipArchive, EndRecordWithComment) {
  std::string zip = build_zip({{"a/data.pkl", "x"}});
  zip[zip.size() - 2] = 5;  // comment length 5
  zip += "hello";
  const ZipArchive archive(ByteSource::from_memory("c.zip", to_bytes(zip)));
  EXPECT_EQ(archive.entries().size(), 1u);
}

TEST(ZipArchive, EntryCountThatCannotFit) {
  std::string zip = build_zip({{"a/data.pkl", "x"}});
  zip[zip.size() - 12] = '\xff';  // total entries low byte: 255 entries in a 46-byte directory
  zip[zip.size() - 14] = '\xff';
  try {
    ZipArchive archive(ByteSource::from_memory("c.zip", to_bytes(zip)));
    FAIL();
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot fit"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ckpt::test
