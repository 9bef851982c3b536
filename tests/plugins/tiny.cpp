// A working plugin: one Linear module and its SGD optimizer, sized by the option "width".
// Built twice: good_plugin.so and duplicate_tiny.so (CKPT_TEST_TINY_VERSION differs), both
// named "tiny", so a registry given both must refuse the second.
#include "linear_model.hpp"

#ifndef CKPT_TEST_TINY_VERSION
#define CKPT_TEST_TINY_VERSION "1.0.0"
#endif

namespace {
class Tiny : public ckpt_test::LinearArchitecture {};
}  // namespace

CKPT_PLUGIN(Tiny, "tiny", CKPT_TEST_TINY_VERSION, "One Linear layer and SGD: the smallest working plugin")
