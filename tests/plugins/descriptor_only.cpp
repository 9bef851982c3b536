// A descriptor exported by hand, without CKPT_PLUGIN and without a factory. The fields
// come from compile definitions, so one source gives no_factory.so (every field right),
// wrong_abi.so, wrong_torch.so and wrong_cxx11_abi.so.
#include <ckpt/plugin.hpp>

#ifndef CKPT_TEST_ABI_VERSION
#define CKPT_TEST_ABI_VERSION ::ckpt::kPluginAbiVersion
#endif
#ifndef CKPT_TEST_TORCH_MINOR
#define CKPT_TEST_TORCH_MINOR TORCH_VERSION_MINOR
#endif
#ifdef CKPT_TEST_FLIP_CXX11_ABI
#define CKPT_TEST_CXX11_ABI (1 - _GLIBCXX_USE_CXX11_ABI)
#else
#define CKPT_TEST_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#endif

namespace ckpt_test {
inline const ::ckpt::PluginDescriptor* descriptor() {
  static const ::ckpt::PluginDescriptor d{CKPT_TEST_ABI_VERSION, TORCH_VERSION_MAJOR, CKPT_TEST_TORCH_MINOR,
                                          CKPT_TEST_CXX11_ABI,  CKPT_TEST_NAME,      "0.0.1",
                                          "a descriptor exported by hand"};
  return &d;
}
}  // namespace ckpt_test

BOOST_DLL_ALIAS(ckpt_test::descriptor, CKPT_PLUGIN_DESCRIPTOR_SYMBOL)
