#pragma once
// The key a LibTorch optimizer's state() holds a parameter's state under: the parameter's
// TensorImpl, as a string in LibTorch 1.x (c10::guts::to_string, gone in 2.x) and as the
// pointer itself in LibTorch 2.x. The one place that knows which LibTorch this is built for.
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace ckpt {

#if TORCH_VERSION_MAJOR >= 2
inline void* optimizer_state_key(const at::Tensor& parameter) { return parameter.unsafeGetTensorImpl(); }
#else
inline std::string optimizer_state_key(const at::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}
#endif

}  // namespace ckpt
