// The unpickler on hand-written pickles: each opcode family, Python's dict semantics,
// and the globals it interprets versus the ones it keeps inert.
#include "reader/unpickler.hpp"

#include <gtest/gtest.h>

#include "reader/known_globals.hpp"

namespace ckpt::test {
namespace {
using namespace std::string_literals;

class UnpicklerTest : public ::testing::Test {
 protected:
  const Value& load(const std::string& bytes) {
    data_ = bytes;
    cursor_ = std::make_unique<ByteCursor>(data_, "p.pkl");
    unpickler_ = std::make_unique<Unpickler>(*cursor_, arena_, nullptr);
    return *unpickler_->load();
  }
  std::string data_;
  ValueArena arena_;
  std::unique_ptr<ByteCursor> cursor_;
  std::unique_ptr<Unpickler> unpickler_;
};

TEST_F(UnpicklerTest, Integers) {
  EXPECT_EQ(load("\x80\x02K\x07."s).integer, 7);
  EXPECT_EQ(load("\x80\x02M\x34\x12."s).integer, 0x1234);
  EXPECT_EQ(load("\x80\x02J\xfb\xff\xff\xff."s).integer, -5);
  EXPECT_EQ(load("\x80\x02\x8a\x01\xff."s).integer, -1);                     // LONG1
  EXPECT_EQ(load("\x80\x02\x8a\x06\xf2\x2f\xce\x73\x3a\x0b."s).integer, 12345678901234);
  const Value& big = load("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40."s);  // 2**70
  EXPECT_TRUE(big.big_integer);
  EXPECT_EQ(big.text, "1180591620717411303424");
  const Value& negative_big = load("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0."s);  // -2**70
  EXPECT_EQ(negative_big.text, "-1180591620717411303424");
  EXPECT_EQ(load("I42\n."s).integer, 42);
  EXPECT_TRUE(load("I01\n."s).boolean);
}

TEST_F(UnpicklerTest, FloatsAndStrings) {
  EXPECT_DOUBLE_EQ(load("\x80\x02G\x3f\xb9\x99\x99\x99\x99\x99\x9a."s).real, 0.1);
  EXPECT_EQ(load("\x80\x02X\x03\x00\x00\x00" "abc."s).text, "abc");
  EXPECT_EQ(load("\x80\x04\x8c\x02hi."s).text, "hi");
  EXPECT_EQ(load("\x80\x04\x8d\x01\x00\x00\x00\x00\x00\x00\x00z."s).text, "z");
  const Value& b = load("\x80\x03" "C\x02\x00\xff."s);
  EXPECT_EQ(b.kind, ValueKind::kBytes);
  EXPECT_EQ(b.text, "\x00\xff"s);
}

TEST_F(UnpicklerTest, ProtocolTwoBytesViaCodecsEncode) {
  // b'\x00\xe9' as protocol 2 writes it: _codecs.encode('\x00é', 'latin1')
  const Value& b = load("\x80\x02" "c_codecs\nencode\nX\x03\x00\x00\x00\x00\xc3\xa9X\x06\x00\x00\x00latin1\x86R."s);
  EXPECT_EQ(b.kind, ValueKind::kBytes);
  EXPECT_EQ(b.text, "\x00\xe9"s);
}

TEST_F(UnpicklerTest, InvalidUtf8IsAnError) {
  EXPECT_THROW(load("\x80\x02X\x01\x00\x00\x00\xff."s), ReadError);
}

TEST_F(UnpicklerTest, Containers) {
  const Value& t = load("\x80\x02K\x01K\x02K\x03\x87."s);
  ASSERT_EQ(t.kind, ValueKind::kTuple);
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_EQ(t.items[2]->integer, 3);
  const Value& l = load("\x80\x02](K\x01K\x02" "e."s);
  EXPECT_EQ(l.kind, ValueKind::kList);
  EXPECT_EQ(l.items.size(), 2u);
  const Value& s = load("\x80\x04\x8f(K\x01\x90."s);
  EXPECT_EQ(s.kind, ValueKind::kSet);
  const Value& fs = load("\x80\x04(K\x01\x91."s);
  EXPECT_EQ(fs.note, "frozenset");
}

TEST_F(UnpicklerTest, DictKeepsFirstKeyPositionAndLastValue) {
  // {1: 'a', 'x': 'b', True: 'c'}: True == 1 in Python, so the first entry becomes 'c'.
  const Value& d = load("\x80\x02}(K\x01X\x01\x00\x00\x00" "aX\x01\x00\x00\x00xX\x01\x00\x00\x00" "b\x88X\x01\x00\x00\x00" "cu."s);
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.entries[0].key->integer, 1);
  EXPECT_EQ(d.entries[0].value->text, "c");
  EXPECT_EQ(d.find("x")->text, "b");
}

TEST_F(UnpicklerTest, MemoSharesValues) {
  const Value& t = load("\x80\x02]q\x00h\x00\x86."s);  // ([], []) same list twice
  EXPECT_EQ(t.items[0], t.items[1]);
  const Value& m = load("\x80\x04]\x94h\x00\x86."s);  // MEMOIZE
  EXPECT_EQ(m.items[0], m.items[1]);
}

TEST_F(UnpicklerTest, FrameAndStackGlobal) {
  const Value& od = load("\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x0b" "collections\x8c\x0bOrderedDict\x93)R."s);
  EXPECT_EQ(od.kind, ValueKind::kDict);
  EXPECT_TRUE(od.ordered);
}

TEST_F(UnpicklerTest, OrderedDictBuildKeepsMetadata) {
  const Value& d = load(
      "\x80\x02" "ccollections\nOrderedDict\n)R}X\x09\x00\x00\x00_metadata}X\x07\x00\x00\x00versionK\x01ssb."s);
  ASSERT_NE(d.metadata(), nullptr);
  EXPECT_EQ(d.metadata()->find("version")->integer, 1);
}

TEST_F(UnpicklerTest, UnknownClassBecomesInertObjectWithState) {
  // argparse.Namespace(lr=0.5) as protocol 2 writes it: NEWOBJ then BUILD.
  const Value& o = load("\x80\x02" "cargparse\nNamespace\n)\x81}X\x02\x00\x00\x00lrG\x3f\xe0\x00\x00\x00\x00\x00\x00sb."s);
  ASSERT_EQ(o.kind, ValueKind::kObject);
  EXPECT_EQ(o.text, "argparse.Namespace");
  ASSERT_NE(o.state, nullptr);
  EXPECT_DOUBLE_EQ(o.state->find("lr")->real, 0.5);
  ASSERT_EQ(unpickler_->unknown_globals().size(), 1u);
  EXPECT_EQ(unpickler_->unknown_globals()[0].name, "argparse.Namespace");
}

TEST_F(UnpicklerTest, TorchDtypeDeviceAndSize) {
  EXPECT_EQ(load("\x80\x02" "ctorch\nbfloat16\n."s).text, "bfloat16");
  EXPECT_EQ(load("\x80\x02" "ctorch\nfloat\n."s).text, "float32");
  const Value& dev = load("\x80\x02" "ctorch\ndevice\nX\x04\x00\x00\x00" "cuda\x85R."s);
  EXPECT_EQ(dev.kind, ValueKind::kDevice);
  EXPECT_EQ(dev.text, "cuda");
  const Value& size = load("\x80\x02" "ctorch\nSize\nK\x02K\x03\x86\x85R."s);
  EXPECT_EQ(size.kind, ValueKind::kTuple);
  EXPECT_EQ(size.note, "torch.Size");
  EXPECT_TRUE(unpickler_->unknown_globals().empty());
}

TEST(KnownGlobals, Classification) {
  EXPECT_EQ(classify_global("collections.OrderedDict"), GlobalTrust::kKnown);
  EXPECT_EQ(classify_global("torch.BFloat16Storage"), GlobalTrust::kKnown);
  EXPECT_EQ(classify_global("__torch__.Generator"), GlobalTrust::kTorchScript);
  EXPECT_EQ(classify_global("torch.load"), GlobalTrust::kUnknown);
  EXPECT_TRUE(is_dangerous_global("posix.system"));
  EXPECT_TRUE(is_dangerous_global("__builtin__.eval"));
  EXPECT_TRUE(is_dangerous_global("torch.load"));
  EXPECT_FALSE(is_dangerous_global("argparse.Namespace"));
  EXPECT_FALSE(is_dangerous_global("builtins.print_help"));
}

}  // namespace
}  // namespace ckpt::test
