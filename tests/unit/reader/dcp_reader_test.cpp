// torch.distributed.checkpoint directories written by PyTorch 2.6's own DCP
// (fixtures/pytorch2/generate_dcp.py): the tree DCP's load rebuilds, the chunk layout of every
// tensor, and a finding for every damaged copy (fixtures/hostile/dcp_*) with the rest still read.
#include <gtest/gtest.h>

#include <functional>

#include "reader/checkpoint.hpp"
#include "reader/chunked_tensor.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/unpickler.hpp"
#include "support/test_paths.hpp"

namespace ckpt::test {
namespace {
using namespace std::string_literals;

std::vector<std::string> keys_of(const Value& dict) {
  std::vector<std::string> out;
  for (const auto& e : dict.entries) out.push_back(e.key->text);
  return out;
}

const ChunkedTensor& chunks_of(const Value& v) {
  EXPECT_EQ(v.kind, ValueKind::kTensor);
  EXPECT_TRUE(v.tensor.chunks);
  return *v.tensor.chunks;
}

TEST(DcpReader, OneProcessRebuildsTheSeedsGanLayout) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/dcp/gan_one_process"));
  EXPECT_EQ(c.format(), CheckpointFormat::kDcp);
  EXPECT_TRUE(c.findings().empty());
  EXPECT_TRUE(c.integrity_findings().empty());
  EXPECT_EQ(c.properties().at("files"), "1");
  const Value& root = c.root();
  EXPECT_EQ(keys_of(root), (std::vector<std::string>{"generator", "discriminator", "generator_optimizer",
                                                     "discriminator_optimizer", "epoch", "loss_g", "loss_d"}));
  EXPECT_EQ(root.find("epoch")->integer, 7);
  EXPECT_EQ(root.find("loss_g")->kind, ValueKind::kFloat);
  const Value& weight = *root.find("generator")->find("main.0.weight");
  EXPECT_EQ(weight.tensor.dtype, DType::kFloat32);
  EXPECT_EQ(weight.tensor.sizes, (std::vector<std::int64_t>{16, 32, 4, 4}));
  EXPECT_EQ(weight.tensor.strides, (std::vector<std::int64_t>{512, 16, 4, 1}));
  const ChunkedTensor& whole = chunks_of(weight);
  ASSERT_EQ(whole.chunks.size(), 1u);
  EXPECT_EQ(whole.chunks[0].file, "__0_0.distcp");
  EXPECT_EQ(whole.chunks[0].sizes, weight.tensor.sizes);
  // Optimizer state keyed by parameter index, as optimizer.state_dict() gives it; param
  // groups rebuilt as a list of dicts.
  const Value& optimizer = *root.find("generator_optimizer");
  const Value& state0 = *optimizer.find("state")->find("0");
  EXPECT_EQ(keys_of(state0), (std::vector<std::string>{"step", "exp_avg", "exp_avg_sq"}));
  const Value& groups = *optimizer.find("param_groups");
  ASSERT_EQ(groups.kind, ValueKind::kList);
  ASSERT_EQ(groups.items.size(), 1u);
  EXPECT_DOUBLE_EQ(groups.items[0]->find("lr")->real, 2e-4);
  EXPECT_EQ(groups.items[0]->find("params")->items.size(), 13u);
  // A chunk's record is the torch.save archive of its tensor.
  const TensorRef chunk = whole.read_chunk(0, DType::kFloat32);
  EXPECT_EQ(chunk.sizes, weight.tensor.sizes);
  EXPECT_NE(weight.tensor.kind_note().find("1 chunk in __0_0.distcp"), std::string::npos) << weight.tensor.kind_note();
}

TEST(DcpReader, TwoRanksGiveEachShardedTensorItsChunks) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/dcp/gan_two_ranks"));
  EXPECT_TRUE(c.integrity_findings().empty());
  EXPECT_EQ(c.properties().at("files"), "2");
  const Value& generator = *c.root().find("generator");
  // Shard(0) over two ranks: rows 0-7 and 8-15, one file each.
  const ChunkedTensor& rows = chunks_of(*generator.find("main.0.weight"));
  ASSERT_EQ(rows.chunks.size(), 2u);
  EXPECT_EQ(rows.chunks[0].offsets, (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(rows.chunks[0].sizes, (std::vector<std::int64_t>{8, 32, 4, 4}));
  EXPECT_EQ(rows.chunks[1].offsets, (std::vector<std::int64_t>{8, 0, 0, 0}));
  EXPECT_NE(rows.chunks[0].file, rows.chunks[1].file);
  // Shard(1): columns.
  const ChunkedTensor& columns = chunks_of(*generator.find("main.3.weight"));
  ASSERT_EQ(columns.chunks.size(), 2u);
  EXPECT_EQ(columns.chunks[1].offsets, (std::vector<std::int64_t>{0, 8, 0, 0}));
  // Replicated: saved once.
  EXPECT_EQ(chunks_of(*generator.find("main.1.running_mean")).chunks.size(), 1u);
  // get_state_dict keys optimizer state by parameter name.
  const Value& state = *c.root().find("generator_optimizer")->find("state");
  EXPECT_EQ(keys_of(state).front(), "main.0.weight");
  const ChunkedTensor& exp_avg = chunks_of(*state.find("main.0.weight")->find("exp_avg"));
  EXPECT_EQ(exp_avg.chunks.size(), 2u);
  EXPECT_EQ(c.root().find("generator_optimizer")->find("param_groups")->items[0]->find("params")->items[0]->text,
            "main.0.weight");
  EXPECT_EQ(c.root().find("epoch")->integer, 7);
  for (std::size_t i = 0; i < rows.chunks.size(); ++i) EXPECT_EQ(rows.read_chunk(i, DType::kFloat32).sizes, rows.chunks[i].sizes);
}

TEST(DcpReader, TheMetadataFileNamesItsDirectory) {
  const Checkpoint c = read_checkpoint(fixture("pytorch2/dcp/gan_one_process/.metadata"));
  EXPECT_EQ(c.format(), CheckpointFormat::kDcp);
  EXPECT_EQ(c.root().entries.size(), 7u);
}

std::string findings_text(const Checkpoint& c) {
  std::string out;
  for (const auto& f : c.integrity_findings()) out += f.message() + "\n";
  return out;
}

struct Damage {
  const char* directory;
  const char* tensor;
  const char* says;
};

// Each damaged copy is read; the damaged tensor gets a finding naming it, its chunk and its
// file, its values cannot be read, and every other tensor still can.
TEST(DcpReader, EveryDamagedDirectoryGetsAFindingAndTheRestIsRead) {
  const Damage damages[] = {
      {"dcp_missing_distcp", "", "its file __1_0.distcp is missing"},
      {"dcp_truncated_distcp", "", ") runs past the end of __0_0.distcp (111012 bytes)"},
      {"dcp_length_lies", "generator.main.0.weight", "overlaps another record of __0_0.distcp"},
      {"dcp_overlapping_chunks", "generator.main.0.weight", "overlap: an element would be read twice"},
      {"dcp_hole", "generator.main.0.weight", "cover 7680 of its 8192 elements: a hole"},
  };
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.directory);
    const Checkpoint c = read_checkpoint(fixture("hostile/"s + d.directory));
    const std::string text = findings_text(c);
    EXPECT_NE(text.find(d.says), std::string::npos) << text;
    ASSERT_FALSE(c.integrity_findings().empty());
    const IntegrityFinding& first = c.integrity_findings().front();
    if (*d.tensor) {
      EXPECT_EQ(first.tensor, d.tensor);
    }
    // The damaged tensor refuses its values with the same words; an intact one reads.
    const Value* damaged = nullptr;
    for (const char* module : {"generator", "discriminator", "generator_optimizer", "discriminator_optimizer"}) {
      const Value* m = c.root().find(module);
      ASSERT_NE(m, nullptr);
    }
    std::string root_key = first.tensor.substr(0, first.tensor.find('.'));
    const std::string rest = first.tensor.substr(root_key.size() + 1);
    damaged = c.root().find(root_key)->find(rest);
    if (damaged && damaged->kind == ValueKind::kTensor) {
      EXPECT_FALSE(damaged->tensor.chunks->damage.empty());
      EXPECT_THROW(damaged->tensor.chunks->read_chunk(0, damaged->tensor.dtype), ReadError);
    }
    const Value& intact = *c.root().find("discriminator")->find("main.0.weight");
    if (intact.tensor.chunks->damage.empty()) {
      EXPECT_NO_THROW(intact.tensor.chunks->read_chunk(0, intact.tensor.dtype));
    }
  }
}

// A record's length that runs 100 bytes into the next record: the two records share bytes,
// which no writer does; both are findings from `.metadata` alone, and the tensor refuses its values.
TEST(DcpReader, ALengthThatLiesIsFoundFromTheMetadata) {
  const Checkpoint c = read_checkpoint(fixture("hostile/dcp_length_lies"));
  const std::string text = findings_text(c);
  EXPECT_NE(text.find("'generator.main.0.weight' chunk 0 ([0, 0, 0, 0] + [8, 32, 4, 4] in __0_0.distcp): its record (17664 bytes "
                      "at byte 0) overlaps another record of __0_0.distcp"),
            std::string::npos)
      << text;
  EXPECT_EQ(c.integrity_findings().size(), 2u) << text;
  const ChunkedTensor& chunks = *c.root().find("generator")->find("main.0.weight")->tensor.chunks;
  try {
    chunks.read_chunk(0, DType::kFloat32);
    ADD_FAILURE() << "a record 100 bytes too long was read";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("'generator.main.0.weight' chunk 0"), std::string::npos) << e.what();
  }
}

// A `.metadata` written by hand (protocol 2: no frames), for what PyTorch never writes.
class MetadataPickle {
 public:
  MetadataPickle() : bytes_("\x80\x02"s) {}
  MetadataPickle& global(const std::string& module, const std::string& name) {
    bytes_ += "c" + module + "\n" + name + "\n";
    return *this;
  }
  MetadataPickle& object(const std::string& cls) {  // a dataclass instance, its state to follow
    return global("torch.distributed.checkpoint." + std::string(cls == "_StorageInfo" ? "filesystem" : "metadata"), cls).op(")\x81");
  }
  MetadataPickle& str(const std::string& text) {
    const std::uint32_t n = static_cast<std::uint32_t>(text.size());
    bytes_ += 'X';
    bytes_.append(reinterpret_cast<const char*>(&n), 4);
    bytes_ += text;
    return *this;
  }
  MetadataPickle& integer(std::int64_t v) {  // LONG1, 8 bytes little-endian
    bytes_ += "\x8a\x08"s;
    bytes_.append(reinterpret_cast<const char*>(&v), 8);
    return *this;
  }
  MetadataPickle& op(const std::string& opcodes) {
    bytes_ += opcodes;
    return *this;
  }
  // Metadata(state_dict_metadata, planner_data, storage_data), each given as pickle opcodes.
  std::string metadata(const std::function<void(MetadataPickle&)>& entries, const std::function<void(MetadataPickle&)>& planner,
                       const std::function<void(MetadataPickle&)>& storage) {
    object("Metadata").op("}");
    str("state_dict_metadata").op("}");
    entries(*this);
    op("s");
    str("planner_data").op("}");
    planner(*this);
    op("s");
    str("storage_data").op("}");
    storage(*this);
    return op("sb.").bytes_;
  }
  // An object record "key" -> (file, 0, 0).
  MetadataPickle& record(const std::string& key, const std::string& file) {
    object("MetadataIndex").op("}");
    str("fqn").str(key).op("sb");
    object("_StorageInfo").op("}");
    str("relative_path").str(file).op("s");
    str("offset").integer(0).op("s");
    str("length").integer(0).op("sbs");
    return *this;
  }

 private:
  std::string bytes_;
};

Checkpoint read_metadata(const std::string& bytes) {
  return read_dcp_metadata(ByteSource::from_memory("m/.metadata", std::vector<std::uint8_t>(bytes.begin(), bytes.end())),
                           "/nonexistent/ckpt-test-dcp", ReadOptions{});
}

// Hostile metadata cannot make the reader's work or memory grow without bound: a list position
// of a billion is a finding (the key stays flat), a shape of 2**65 elements an error.
TEST(DcpReader, MetadataCannotAskForUnboundedWork) {
  MetadataPickle gaps;
  const Checkpoint c = read_metadata(gaps.metadata(
      [](MetadataPickle& p) { p.str("k").object("BytesStorageMetadata").op("s"); },
      [](MetadataPickle& p) { p.str("k").str("x").integer(1'000'000'000).op("\x86s"); },
      [](MetadataPickle& p) { p.record("k", "__0_0.distcp"); }));
  const std::string text = findings_text(c);
  EXPECT_NE(text.find("'k': planner_data's path ['x'][1000000000] list position 1000000000 leaves more gaps than the "
                      "checkpoint has keys"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("'k': its file __0_0.distcp is missing"), std::string::npos) << text;
  ASSERT_NE(c.root().find("k"), nullptr) << "kept under its flattened key";

  MetadataPickle huge;
  try {
    read_metadata(huge.metadata(
        [](MetadataPickle& p) {
          p.str("t").object("TensorStorageMetadata").op("}");
          p.str("properties").object("TensorProperties").global("torch", "float32").op("\x85").op("bs");
          p.str("size").global("torch", "Size").op("(").integer(1).integer(std::int64_t{1} << 62).integer(8).op("t\x85R").op("s");
          p.str("chunks").op("]s").op("b").op("s");
        },
        [](MetadataPickle&) {}, [](MetadataPickle&) {}));
    ADD_FAILURE() << "a shape of 2**65 elements was read";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("has implausibly many elements"), std::string::npos) << e.what();
  }
}

// Two keys the planner puts in one place: DCP's load keeps the last; the reader says so and
// keeps the second under its flattened key, losing neither.
TEST(DcpReader, KeysThePlannerPutsInOnePlaceAreFindingsNotErrors) {
  MetadataPickle p;
  const Checkpoint c = read_metadata(p.metadata(
      [](MetadataPickle& m) {
        m.str("a").object("BytesStorageMetadata").op("s");
        m.str("b").object("BytesStorageMetadata").op("s");
      },
      [](MetadataPickle& m) {
        m.str("a").str("x").op("\x85s");
        m.str("b").str("x").op("\x85s");
      },
      [](MetadataPickle& m) { m.record("a", "f").record("b", "f"); }));
  const std::string text = findings_text(c);
  EXPECT_NE(text.find("'b': planner_data's path ['x'] puts a value where another already is"), std::string::npos) << text;
  EXPECT_NE(c.root().find("x"), nullptr);
  EXPECT_NE(c.root().find("b"), nullptr);
}

TEST(DcpReader, AForeignGlobalInTheMetadataIsASecurityFinding) {
  const Checkpoint c = read_checkpoint(fixture("hostile/dcp_foreign_global"));
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].global, "posix.system");
  EXPECT_TRUE(c.findings()[0].dangerous);
  EXPECT_EQ(c.findings()[0].pickle, "`.metadata`");
  EXPECT_EQ(c.root().find("epoch")->integer, 7) << "the rest is read";
  ASSERT_EQ(c.integrity_findings().size(), 1u);
  EXPECT_EQ(c.integrity_findings()[0].message(),
            "'epoch': planner_data holds a posix.system where a tuple of keys and indices was expected; the key stays flat");
}

// DCP's classes are data only in a `.metadata`: in any other pickle they are findings.
TEST(DcpReader, DcpClassesAreTrustedOnlyInMetadata) {
  const std::string pickle = "\x80\x02" "ctorch.distributed.checkpoint.metadata\nMetadata\n)\x81."s;
  for (const bool trusted : {false, true}) {
    ValueArena arena;
    ByteCursor cursor(pickle, "p.pkl");
    Unpickler unpickler(cursor, arena, nullptr);
    if (trusted) unpickler.trust_dcp_metadata_classes();
    unpickler.load();
    EXPECT_EQ(unpickler.unknown_globals().size(), trusted ? 0u : 1u);
  }
}

TEST(DcpReader, ADirectoryWithoutMetadataIsNotACheckpoint) {
  try {
    read_checkpoint(fixture("pytorch2/oracle"));
    ADD_FAILURE() << "read a directory without .metadata";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ckpt::test
