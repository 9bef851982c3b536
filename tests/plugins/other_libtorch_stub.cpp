// Stands in for the other platform's LibTorch (built as libtorch_cpu.so.<other version>):
// a plugin linked to it names that LibTorch in its DT_NEEDED entries, as a plugin built on
// the other platform does.
extern "C" int ckpt_test_other_libtorch_marker() { return 1; }
