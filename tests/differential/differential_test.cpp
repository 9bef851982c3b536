// Differential test: for every trusted fixture, the reader's description must equal, byte
// for byte, what Python's torch.load gives (describe_torch_load.py, run by CTest first).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "differential/describe_checkpoint.hpp"
#include "support/test_paths.hpp"
#include "support/text_helpers.hpp"

namespace ckpt::test {
namespace {


// Every fixture Python can load: not hostile/ (never torch.load those), not the LibTorch
// archives (torch.load does not read them as data) and not the TorchScript exports
// (<model>/exported/: models, not checkpoints); a torch.distributed.checkpoint directory is
// one fixture (DCP's own load is its oracle).
std::vector<std::string> trusted_fixtures() {
  std::vector<std::string> out;
  const std::filesystem::path root(CKPT_FIXTURES_DIR);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string rel = std::filesystem::relative(entry.path(), root).string();
    if (!entry.is_regular_file() || rel.rfind("hostile/", 0) == 0 || rel.rfind("libtorch/", 0) == 0 ||
        rel.find("/exported/") != std::string::npos) {
      continue;
    }
    const std::string name = entry.path().filename().string();
    if (name == ".metadata") {  // a torch.distributed.checkpoint directory: the checkpoint is the directory
      out.push_back(std::filesystem::relative(entry.path().parent_path(), root).string());
      continue;
    }
    auto ends_with = [&name](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".pt") || ends_with(".pth") || ends_with(".safetensors") || ends_with(".safetensors.index.json")) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Differential : public ::testing::TestWithParam<std::string> {};

TEST_P(Differential, MatchesTorchLoad) {
  const std::string file = fixture(GetParam());
  std::string name = GetParam();  // the oracle names its outputs by path, '/' as "__"
  for (std::size_t pos; (pos = name.find('/')) != std::string::npos;) name.replace(pos, 1, "__");
  // PyTorch 2.6's fixtures carry their oracle, written by PyTorch 2.6 (fixtures/pytorch2/generate.py).
  const std::string pytorch2 = "pytorch2__";
  const std::string expected_path =
      name.rfind(pytorch2, 0) == 0 ? std::string(CKPT_FIXTURES_DIR) + "/pytorch2/oracle/" + name.substr(pytorch2.size()) + ".jsonl"
                                   : std::string(CKPT_ORACLE_DIR) + "/" + name + ".jsonl";
  ASSERT_TRUE(std::filesystem::exists(expected_path)) << "oracle output missing: " << expected_path;
  const std::string expected = file_bytes(expected_path);
  const std::string actual = describe_checkpoint(read_checkpoint(file));
  ASSERT_FALSE(expected.empty());
  if (actual == expected) return;
  // Show the first differing line, not two walls of JSON.
  std::istringstream a(actual), e(expected);
  std::string la, le;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la)), more_e = static_cast<bool>(std::getline(e, le));
    if (!more_a && !more_e) break;
    if (la != le || more_a != more_e) {
      FAIL() << "line " << line << "\n  torch.load: " << (more_e ? le : "<end>") << "\n  ckpt reader: " << (more_a ? la : "<end>");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Differential, ::testing::ValuesIn(trusted_fixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ckpt::test
