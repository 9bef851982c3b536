#pragma once
// Turns a lazy TensorRef into a torch tensor. The only part of the reader that links
// LibTorch. Bytes are not copied: the tensor views the file's mapping and keeps it alive.
#include <ATen/core/Tensor.h>

#include "reader/tensor_ref.hpp"

namespace ckpt {

// Sparse tensors come back in their layout (their invariants checked, as torch.load
// does), quantized ones quantized. Throws ReadError(kUnsupported) for storages it cannot
// represent and for meta tensors, which have no data. The result shares
// memory with other tensors of the same storage (tied weights stay tied).
// `prefetch`: read the whole storage into memory at once (the fastest first touch); off
// for callers that copy it out a slice at a time.
at::Tensor materialize(const TensorRef& ref, bool prefetch = true);

at::ScalarType to_scalar_type(DType dtype);

// After the tensor's bytes were copied elsewhere (a load into a model, a clone), returns
// its storage's mapped pages to the system, so a load holds the model once, not the model
// and the file. Tensors still viewing the storage read it from the file again.
void release_pages(const TensorRef& ref);

// A tensor with its own copy of the bytes, which may be modified in place: for large
// tensors a fresh copy-on-write mapping of the file (nothing is copied or read until
// used, as Adam's state before the next step), else a copy in memory.
at::Tensor materialize_owned(const TensorRef& ref);

// target.copy_(materialize(ref)) (dtypes converted as copy_ does), a slice at a time for
// large contiguous tensors, each slice's pages released once copied: loading a model holds
// the model and at most one slice of the file, however large its tensors.
void copy_released(const TensorRef& ref, at::Tensor& target);

}  // namespace ckpt
