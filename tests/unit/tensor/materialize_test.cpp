// Materialising lazy tensors: values, zero-copy views of the mapping, shared storages,
// lifetime beyond the checkpoint, and byte order.
#include "tensor/materialize.hpp"

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include <torch/version.h>

#include <cstring>

#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"
#include "support/read_helpers.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {

// The ReadError materialising `ref` throws; a test failure (and an empty error) when none is.
ReadError materialize_error(const TensorRef& ref) {
  try {
    materialize(ref);
  } catch (const ReadError& e) {
    return e;
  }
  ADD_FAILURE() << "materialize threw no ReadError";
  return ReadError(ReadErrorKind::kIo, "", "", "");
}

// Expects `e` of `kind` with `text` in its message.
void expect_read_error(const ReadError& e, ReadErrorKind kind, const std::string& text) {
  EXPECT_EQ(e.kind(), kind) << e.what();
  EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
}

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

// PyTorch 2.6's _rebuild_tensor_v3 tensors (fixtures/pytorch2/dtypes_v3.pt): an untyped
// storage of bytes viewed as the dtype the pickle names. LibTorch 2.6 computes with every one;
// LibTorch 1.13 has complex32 only and says, for the others, which dtype and why.
TEST(Materialize, PyTorch2DtypesSavedThroughRebuildTensorV3) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/dtypes_v3.pt"));
  const auto& uint16_slice = c.root().find("uint16_slice")->tensor;
  EXPECT_EQ(uint16_slice.dtype, DType::kUInt16);
  EXPECT_EQ(uint16_slice.storage_offset, 8);
  EXPECT_EQ(uint16_slice.storage->nbytes, 48u);  // 24 uint16 elements, stored as bytes
  const at::Tensor complex32 = materialize(c.root().find("complex32")->tensor);
  EXPECT_EQ(complex32.scalar_type(), at::kComplexHalf);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  const at::Tensor f8 = materialize(c.root().find("float8_e4m3fn")->tensor);
  EXPECT_EQ(f8.scalar_type(), at::ScalarType::Float8_e4m3fn);
  const std::vector<float> expected{0.0f, 1.0f, -2.5f, 448.0f, -0.015625f, 240.0f};
  const at::Tensor values = f8.to(at::kFloat).contiguous().reshape({-1});
  ASSERT_EQ(values.numel(), 6);
  for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(values[i].item<float>(), expected[i]) << i;
  const at::Tensor slice = materialize(uint16_slice);
  EXPECT_EQ(slice.to(at::kInt).sum().item<int>(), 8 + 9 + 10 + 14 + 15 + 16);
  EXPECT_TRUE(at::equal(materialize(c.root().find("float8_transposed")->tensor).to(at::kFloat), f8.t().to(at::kFloat)));
#else
  expect_read_error(materialize_error(c.root().find("float8_e4m3fn")->tensor), ReadErrorKind::kUnsupported,
                    "dtype float8_e4m3fn cannot be computed with LibTorch 1.13");
#endif
}

// The records PyTorch 2.x writes into its archives: byteorder, .data/serialization_id, the
// version, and tensor records aligned to 64 bytes, which makes every view zero-copy.
TEST(Materialize, PyTorch2ArchiveRecordsAndAlignedStorages) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/dtypes_v3.pt"));
  EXPECT_EQ(c.properties().at("byteorder"), "little");
  EXPECT_EQ(c.properties().at("version"), "3");
  EXPECT_EQ(c.properties().at(".data/serialization_id").size(), 40u) << c.properties().at(".data/serialization_id");
  std::size_t storages = 0;
  for (const auto& e : *members_of(c.root())) {
    const TensorRef& t = e.value->tensor;
    if (e.value->kind != ValueKind::kTensor || !t.storage) continue;
    EXPECT_EQ(t.storage->data_offset() % 64, 0u) << e.key->text;
    if (dtype_itemsize(t.dtype) > 1 && t.storage_offset == 0) {  // bytes viewed in place, not copied
      try {
        EXPECT_EQ(static_cast<const void*>(materialize(t).data_ptr()),
                  static_cast<const void*>(t.storage->source->data() + t.storage->data_offset()))
            << e.key->text;
      } catch (const ReadError& error) {  // a dtype LibTorch 1.13 cannot compute with
        EXPECT_EQ(error.kind(), ReadErrorKind::kUnsupported) << error.what();
      }
    }
    ++storages;
  }
  EXPECT_GE(storages, 10u);
}

// PyTorch 2.6's tensor kinds besides dense ones (fixtures/pytorch2/tensor_kinds.pt): each
// comes back as LibTorch's own kind with the values PyTorch saved.
TEST(Materialize, SparseTensorsInEveryLayoutHoldTheSavedValues) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/tensor_kinds.pt"));
  const Value& sparse = *c.root().find("sparse");
  at::Tensor expected = at::zeros({4, 6});
  expected[0][1] = 1.5f;
  expected[2][3] = -2.0f;
  expected[3][0] = 0.25f;
  expected[3][5] = 4.0f;
  for (const char* name : {"coo", "csr", "csc", "bsr", "bsc"}) {
    const TensorRef& ref = sparse.find(name)->tensor;
    const at::Tensor t = materialize(ref);
    EXPECT_EQ(std::string(layout_name(ref.layout)), std::string("sparse_") + name);
    EXPECT_NE(t.layout(), at::kStrided) << name;
    EXPECT_TRUE(at::equal(t.to_dense(), expected)) << name;
  }
  EXPECT_TRUE(materialize(sparse.find("coo")->tensor).is_coalesced());
  EXPECT_FALSE(materialize(sparse.find("coo_uncoalesced")->tensor).is_coalesced());
  const at::Tensor hybrid = materialize(sparse.find("coo_hybrid")->tensor);
  EXPECT_EQ(hybrid.sparse_dim(), 1);
  EXPECT_EQ(hybrid.dense_dim(), 1);
}

TEST(Materialize, SparseIndicesOutsideTheShapeAreRefused) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/tensor_kinds.pt"));
  TensorRef ref = c.root().find("sparse")->find("coo_hybrid")->tensor;  // indices [[0, 3]], shape [5, 2]
  ref.sizes = {3, 2};
  EXPECT_EQ(check_view_within_storage(ref), "");  // the parts' shapes still fit: only their values do not
  expect_read_error(materialize_error(ref), ReadErrorKind::kTensor, "invalid sparse_coo tensor");  // index 3 of a dimension of 3
  TensorRef csr = c.root().find("sparse")->find("csr")->tensor;
  csr.sizes = {5, 6};
  EXPECT_EQ(check_view_within_storage(csr),
            "sparse_csr compressed indices have 5 entries, expected 6 (one more than the rows of [5, 6])");
}

TEST(Materialize, QuantizedTensorsKeepTheirScalesAndZeroPoints) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/tensor_kinds.pt"));
  const Value& quantized = *c.root().find("quantized");
  const at::Tensor per_tensor = materialize(quantized.find("per_tensor_quint8")->tensor);
  EXPECT_EQ(per_tensor.scalar_type(), at::kQUInt8);
  EXPECT_DOUBLE_EQ(per_tensor.q_scale(), 0.05);
  EXPECT_EQ(per_tensor.q_zero_point(), 3);
  EXPECT_TRUE(at::allclose(per_tensor.dequantize(), per_tensor.int_repr().to(at::kFloat).sub(3).mul(0.05)));
  const at::Tensor per_channel = materialize(quantized.find("per_channel_qint8")->tensor);
  EXPECT_EQ(per_channel.q_per_channel_axis(), 0);
  EXPECT_DOUBLE_EQ(per_channel.q_per_channel_scales()[3].item<double>(), 0.4);
  EXPECT_EQ(per_channel.q_per_channel_zero_points()[2].item<std::int64_t>(), -1);
  const at::Tensor weight = materialize(quantized.find("linear")->find("_packed_params._packed_params")->items[0]->tensor);
  EXPECT_EQ(weight.scalar_type(), at::kQInt8);
  EXPECT_EQ(weight.sizes().vec(), (std::vector<std::int64_t>{3, 6}));
}

TEST(Materialize, MetaTensorHasNoDataToGive) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/tensor_kinds.pt"));
  const TensorRef& meta = c.root().find("meta")->tensor;
  EXPECT_TRUE(meta.meta);
  EXPECT_EQ(meta.sizes, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(meta.nbytes(), 0u);
  expect_read_error(materialize_error(meta), ReadErrorKind::kUnsupported, "saved from the meta device");
}

}  // namespace
}  // namespace ckpt::test
