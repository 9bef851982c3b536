// A valid shared library that exports nothing the harness looks for.
extern "C" __attribute__((visibility("default"))) int ckpt_test_not_a_plugin() { return 42; }
