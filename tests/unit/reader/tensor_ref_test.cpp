#include "reader/tensor_ref.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace ckpt::test {
namespace {

TensorRef view(std::vector<std::int64_t> sizes, std::vector<std::int64_t> strides, std::int64_t offset,
               std::uint64_t storage_floats) {
  auto storage = std::make_shared<StorageRef>();
  storage->dtype = DType::kFloat32;
  storage->numel = storage_floats;
  storage->nbytes = storage_floats * 4;
  TensorRef t;
  t.dtype = DType::kFloat32;
  t.sizes = std::move(sizes);
  t.strides = std::move(strides);
  t.storage_offset = offset;
  t.storage = storage;
  return t;
}

TEST(TensorRef, ViewsInsideTheirStorage) {
  EXPECT_EQ(check_view_within_storage(view({2, 3}, {3, 1}, 0, 6)), "");
  EXPECT_EQ(check_view_within_storage(view({3, 2}, {1, 3}, 0, 6)), "");  // transposed
  EXPECT_EQ(check_view_within_storage(view({3, 4}, {1, 0}, 0, 3)), "");  // expanded
  EXPECT_EQ(check_view_within_storage(view({}, {}, 5, 6)), "");          // 0-d at the end
  EXPECT_EQ(check_view_within_storage(view({0, 5}, {5, 1}, 6, 6)), "");  // empty
}

TEST(TensorRef, ViewsOutsideTheirStorage) {
  EXPECT_NE(check_view_within_storage(view({2, 3}, {3, 1}, 1, 6)), "");
  EXPECT_NE(check_view_within_storage(view({}, {}, 6, 6)), "");
  EXPECT_NE(check_view_within_storage(view({2}, {1}, -1, 6)).find("negative storage offset"), std::string::npos);
  EXPECT_NE(check_view_within_storage(view({-2}, {1}, 0, 6)).find("negative size"), std::string::npos);
  EXPECT_NE(check_view_within_storage(view({2}, {-1}, 0, 6)).find("negative stride"), std::string::npos);
  EXPECT_NE(check_view_within_storage(view({2, 2}, {1}, 0, 6)).find("dimensions"), std::string::npos);
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  EXPECT_NE(check_view_within_storage(view({huge, huge}, {1, 1}, 0, 6)), "");
  EXPECT_NE(check_view_within_storage(view({2}, {huge}, huge, 6)), "");
}

TEST(TensorRef, Contiguity) {
  EXPECT_TRUE(view({2, 3}, {3, 1}, 0, 6).is_contiguous());
  EXPECT_FALSE(view({3, 2}, {1, 3}, 0, 6).is_contiguous());
  EXPECT_EQ(view({2, 3}, {3, 1}, 0, 6).nbytes(), 24u);
}

}  // namespace
}  // namespace ckpt::test
