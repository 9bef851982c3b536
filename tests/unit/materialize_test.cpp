// Materialising lazy tensors: values, zero-copy views of the mapping, shared storages,
// lifetime beyond the checkpoint, and byte order.
#include "tensor/materialize.hpp"

#include <ATen/ops/equal.h>
#include <gtest/gtest.h>

#include <cstring>

#include "reader/checkpoint.hpp"
#include "support/read_helpers.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

TEST(Materialize, ZeroCopyViewOfTheMappedFile) {
  const Checkpoint c = read_checkpoint(fixture("generator_state_dict.pt"));
  const TensorRef& ref = c.root().find("main.0.weight")->tensor;
  const at::Tensor t = materialize(ref);
  EXPECT_EQ(t.sizes().vec(), ref.sizes);
  EXPECT_EQ(static_cast<const void*>(t.data_ptr()),
            static_cast<const void*>(ref.storage->source->data() + ref.storage->data_offset()));
}

TEST(Materialize, TiedTensorsShareMemoryAndViewsKeepStrides) {
  const Checkpoint c = read_checkpoint(fixture("tied_and_views.pt"));
  const at::Tensor embed = materialize(c.root().find("embed")->tensor);
  const at::Tensor row = materialize(c.root().find("row")->tensor);
  const at::Tensor transposed = materialize(c.root().find("transposed")->tensor);
  EXPECT_TRUE(at::equal(row, embed[1]));
  EXPECT_TRUE(at::equal(transposed, embed.t()));
  EXPECT_EQ(transposed.strides().vec(), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(row.data_ptr<float>(), embed.data_ptr<float>() + 3);
}

TEST(Materialize, TensorOutlivesItsCheckpoint) {
  at::Tensor t;
  {
    const Checkpoint c = read_checkpoint(fixture("dtypes.pt"));
    t = materialize(c.root().find("float64")->tensor);
  }
  // The mapping must still be there: reading it after the checkpoint is gone gives the
  // same values as a fresh read (an unmapped page would crash instead).
  const Checkpoint again = read_checkpoint(fixture("dtypes.pt"));
  EXPECT_TRUE(at::equal(t, materialize(again.root().find("float64")->tensor)));
}

TEST(Materialize, InPlaceWritesDoNotReachTheFile) {
  const std::string before = file_bytes(fixture("parameter.pt"));
  {
    const Checkpoint c = read_checkpoint(fixture("parameter.pt"));
    at::Tensor t = materialize(c.root().tensor);
    t.fill_(42.0f);
    EXPECT_FLOAT_EQ(t[0][0].item<float>(), 42.0f);
  }
  EXPECT_EQ(file_bytes(fixture("parameter.pt")), before);
}

TEST(Materialize, BigEndianArchiveIsSwapped) {
  // Two float32 values 1.0 and -2.0 stored big-endian, as a byteorder=big archive has them.
  const std::string be("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8);
  const std::string zip = build_zip({{"archive/data.pkl", tensor_dict_pickle(2, {2}, {1})},
                                     {"archive/data/0", be},
                                     {"archive/byteorder", "big"},
                                     {"archive/version", "3\n"}});
  const Checkpoint c = read_bytes(zip);
  const at::Tensor t = materialize(c.root().find("w")->tensor);
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -2.0f);
}

TEST(Materialize, EveryDtype) {
  const Checkpoint c = read_checkpoint(fixture("dtypes.pt"));
  for (const auto& e : c.root().entries) {
    const at::Tensor t = materialize(e.value->tensor);
    EXPECT_EQ(t.scalar_type(), to_scalar_type(e.value->tensor.dtype)) << e.key->text;
    EXPECT_EQ(t.numel(), 6) << e.key->text;
  }
}

}  // namespace
}  // namespace ckpt::test
