// The catalogue of bad inputs (tests/hostile/README.md lists it for people): every bad
// checkpoint, plugin, config and run event the harness must survive, each one a run of the
// real `ckpt-harness run` beside a good unit (the tiny plugin on its Linear(2, 2) state
// dict). For each entry the test asserts what the issue asks of every case:
//   - the supervisor ends on its own (no hang) with the expected exit code;
//   - no process grew past a bound (max RSS of the supervisor and its workers);
//   - the reports hold the finding as the right JUnit element (<failure> for a bad or
//     incompatible checkpoint, <error> for a crash, timeout, broken plugin or config) with
//     its category and the words a person needs;
//   - junit.xml is valid against both JUnit schemas we support;
//   - the good unit is intact (it passed, every case accounted for);
//   - no process of the run is left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/pickle_writer.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_paths.hpp"
#include "support/text_helpers.hpp"
#include "support/zip_builder.hpp"

namespace ckpt::test {
namespace {

using namespace std::string_literals;
using nlohmann::json;
namespace fs = std::filesystem;

// --- what an entry sets up ------------------------------------------------------------------

// How the bad input must come out.
enum class Verdict {
  kFailure,      // a <failure> in the bad unit (bad or incompatible checkpoint); exit 1
  kError,        // an <error> (crash, timeout, broken plugin, config); exit 1 or 2
  kHandled,      // not a fault at all: the bad unit runs and passes (e.g. a CUDA location)
  kReportError,  // the run's own reports cannot be written: said on stderr; exit 4
  kNoReport,     // no safe place for reports (or a command that writes none): said on stderr only
};

// The run an entry makes: what it adds to the standard config and how it runs it.
struct Scene {
  fs::path dir;
  std::string checkpoint;     // file name of the bad checkpoint in dir ("" when none)
  std::string plugin_path;    // a bad plugin file, added to [plugins] paths
  std::string plugin_name;    // its name when it loads ("faulty"), run on good.pt
  std::string plugin_options; // [plugins.<plugin_name>] options
  std::string run_settings;   // more [run] lines
  std::string config_tail;    // appended to the config
  std::string replace_config; // when set: the whole config
  std::string args;           // more arguments of `run`
  std::string wrapper;        // a command the run is started through (prlimit ...)
  std::string report_dir;     // --report-dir; default dir/report
  bool config_report_dir = false;  // no --report-dir: the config's report_dir (default ckpt-harness-report)
  std::string config_name;    // the config passed to the run, in dir (default harness.toml, as written)
  std::string command = "run";  // or "inspect --config" (no reports: Verdict::kNoReport)
  fs::path outside;           // a directory outside the repository (outside_dir()): left as it was
  double timeout = 10;        // seconds per unit
  int jobs = 2;               // workers
  // Acts on the running supervisor (signals), given its pid and where its output goes.
  std::function<void(pid_t, const fs::path& output)> during;
};

struct Entry {
  std::string id;                    // category.name: the test's name and the README's row
  std::function<void(Scene&)> make;  // writes the bad input into scene.dir
  Verdict verdict;
  int exit_code;
  std::vector<std::string> words;    // each in the finding's message (or in the output)
};


void PrintTo(const Entry& e, std::ostream* os) { *os << e.id; }

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A bad checkpoint file named bad.pt.
std::function<void(Scene&)> checkpoint(std::function<std::string()> bytes) {
  return [bytes](Scene& s) {
    s.checkpoint = "bad.pt";
    write_file(s.dir / s.checkpoint, bytes());
  };
}

// --- bad checkpoints --------------------------------------------------------------------------

// The pickle of tiny's Linear(2, 2) state dict as torch.save writes it, with `edit` applied
// to the tensor of `weight`.
std::string linear_state_dict_pickle(const std::function<void(PickleWriter::Tensor&)>& edit = {},
                                     const std::string& weight_key = "weight") {
  PickleWriter w;
  w.ordered_dict(2, [&](std::size_t i) {
    PickleWriter::Tensor t;
    t.storage_key = std::to_string(i);
    if (i == 0) {
      w.str(weight_key);
      t.storage_numel = 4;
      t.sizes = {2, 2};
      t.strides = {2, 1};
      if (edit) edit(t);
    } else {
      w.str("bias");
      t.storage_numel = 2;
      t.sizes = {2};
      t.strides = {1};
    }
    w.tensor(t);
  });
  return w.finish();
}

// That state dict as a torch.save file; the storage of `weight` holds `weight_bytes`.
std::string linear_state_dict(const std::function<void(PickleWriter::Tensor&)>& edit = {},
                              const std::string& weight_bytes = std::string(16, '\0')) {
  return torch_zip(linear_state_dict_pickle(edit), {{"0", weight_bytes}, {"1", floats(2)}});
}

std::string pickle_zip(const std::string& pickle) { return torch_zip(pickle, {}); }

std::string float_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A raw deflate stream (zip method 8) of `bytes` zeros: a few KiB that inflate to `bytes`.
std::string deflated_zeros(std::size_t bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (std::size_t done = 0; done < bytes; done += zeros.size()) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(zeros.size());
    const int flush = done + zeros.size() >= bytes ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof buffer;
      deflate(&z, flush);
      out.append(buffer, sizeof buffer - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

// A zip whose one entry claims sizes: compressed `packed.size()`, uncompressed `unpacked`.
std::string zip_bomb() {
  const std::string packed = deflated_zeros(std::size_t{1} << 30);  // 1 GiB of zeros in ~1 MiB
  std::string zip = build_zip({{"archive/data.pkl", tensor_dict_pickle(4, {4}, {1})},
                               {"archive/data/0", packed, 8},
                               {"archive/version", "3\n"}});
  // Patch the uncompressed size of archive/data/0 to 1 GiB in both headers.
  const std::string local_sig = "PK\x03\x04"s, central_sig = "PK\x01\x02"s;
  auto patch = [&zip](std::size_t header, std::size_t field) {
    const std::uint32_t size = 1u << 30;
    for (int i = 0; i < 4; ++i) zip[header + field + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  };
  const std::size_t second_local = zip.find(local_sig, 1);
  patch(second_local, 22);
  const std::size_t second_central = zip.find(central_sig, zip.find(central_sig) + 1);
  patch(second_central, 24);
  return zip;
}

std::string truncated_fixture() {
  const std::string whole = file_bytes(fixture("dcgan/current.pt"));
  return whole.substr(0, whole.size() * 6 / 10);
}

std::string random_bytes(std::size_t n) {
  std::mt19937 rng(7);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string with_central_directory_broken() {
  std::string zip = linear_state_dict();
  const std::size_t central = zip.find("PK\x01\x02"s);
  zip.replace(central, 4, "PK\x01\x09"s);
  return zip;
}

std::string global_call_pickle(const std::string& module, const std::string& name, const std::string& argument) {
  return "\x80\x02}X\x04\x00\x00\x00" "evilc"s + module + "\n" + name + "\nX" + std::string(1, static_cast<char>(argument.size())) +
         "\x00\x00\x00"s + argument + "\x85Rs."s;
}

// {'evil': torch._tensor._rebuild_from_type_v2(posix.system, torch.Tensor, ('touch /tmp/pwned',), None)}:
// an allow-listed rebuild handed a function to call in place of a tensor rebuild.
std::string subclass_rebuild_calling_system() {
  const std::string command = "touch /tmp/pwned";
  return "\x80\x02}X\x04\x00\x00\x00" "evil" "ctorch._tensor\n_rebuild_from_type_v2\n(cposix\nsystem\nctorch\nTensor\nX"s +
         std::string(1, static_cast<char>(command.size())) + "\x00\x00\x00"s + command + "\x85Nt" "Rs."s;
}

// --- files torch.load would read differently ---------------------------------------------------

// A clean state dict whose end record's comment holds a second archive with a global, plus
// `tail`: miniz and zipfile read the hidden archive (the last end record), while a reader that
// trusts comment lengths reads the outer one.
std::string archive_hidden_in_the_comment(const std::string& tail) {
  std::string outer = linear_state_dict();
  const std::string hidden = pickle_zip(global_call_pickle("posix", "system", "touch /tmp/pwned")) + tail;
  outer[outer.size() - 2] = static_cast<char>(hidden.size() & 0xff);
  outer[outer.size() - 1] = static_cast<char>(hidden.size() >> 8);
  return outer + hidden;
}

// A legacy torch.save file (non-zip) of tiny's state dict whose sys info or storage keys
// pickle (which torch.load unpickles before and after the object) calls posix.system.
std::string legacy_with_header_global(const std::string& where, bool five_item_ids = false) {
  const std::string magic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"s;
  const std::string call = "cposix\nsystem\nX\x02\x00\x00\x00id\x85R"s;
  const std::string sys_info = where == "sys_info"
                                   ? "\x80\x02}(X\x0d\x00\x00\x00little_endian\x88X\x01\x00\x00\x00x"s + call + "u."
                                   : "\x80\x02}X\x0d\x00\x00\x00little_endian\x88s."s;
  // OrderedDict {'weight': tensor [2, 2], 'bias': tensor [2]} over storages '0' and '1'.
  auto tensor = [&](const std::string& key, int numel, const std::string& size_and_stride) {
    return "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"s + key +
           "X\x03\x00\x00\x00" "cpu"s + "K" + static_cast<char>(numel) + (five_item_ids ? "" : "N") + "tQK\x00"s +
           size_and_stride + "\x89" "ccollections\nOrderedDict\n)R" "tR"s;
  };
  const std::string object = "\x80\x02" "ccollections\nOrderedDict\n)R(X\x06\x00\x00\x00weight"s +
                             tensor("0", 4, "K\x02K\x02\x86K\x02K\x01\x86"s) + "X\x04\x00\x00\x00" "bias"s +
                             tensor("1", 2, "K\x02\x85K\x01\x85"s) + "u.";
  const std::string keys = "\x80\x02](X\x01\x00\x00\x00" "0X\x01\x00\x00\x00" "1e"s + (where == "keys" ? call + "0" : "") + ".";
  const std::string storages = "\x04\x00\x00\x00\x00\x00\x00\x00"s + floats(4) + "\x02\x00\x00\x00\x00\x00\x00\x00"s + floats(2);
  return magic + "\x80\x02M\xe9\x03."s + sys_info + object + keys + storages;
}

// --- resource bombs: small files that describe huge trees --------------------------------------

std::string binunicode(const std::string& text) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out += static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return out + text;
}

// A list of `dicts` dicts, each {K: None} with the same memoized key K of `key_bytes` bytes.
std::string long_key_shared_by_many_dicts(std::size_t key_bytes, std::size_t dicts) {
  std::string p = "\x80\x02"s + binunicode(std::string(key_bytes, 'k')) + "q\x00" "0]("s;
  for (std::size_t i = 0; i < dicts; ++i) p += "}h\x00" "Ns"s;
  return pickle_zip(p + "e.");
}

// {K: {K: {K: ... None}}} `depth` levels deep under one memoized key K of `key_bytes` bytes.
std::string deep_dicts_under_a_long_shared_key(std::size_t key_bytes, std::size_t depth) {
  std::string p = "\x80\x02"s + binunicode(std::string(key_bytes, 'k')) + "q\x00" "0}"s;
  for (std::size_t i = 0; i < depth; ++i) p += "h\x00}"s;
  return pickle_zip(p + "h\x00N"s + std::string(depth + 1, 's') + ".");
}

// set(L) `copies` times over one memoized list L of `items` Nones: 6 bytes per copy of L.
std::string copies_of_a_shared_list(std::size_t items, std::size_t copies) {
  std::string p = "\x80\x02" "cbuiltins\nset\nq\x00" "0("s + std::string(items, 'N') + "lq\x01" "0]("s;
  for (std::size_t i = 0; i < copies; ++i) p += "h\x00h\x01\x85R"s;
  return pickle_zip(p + "e.");
}

// A list of `count` empty OrderedDicts, 4 bytes of pickle each (a memoized class, REDUCE).
std::string millions_of_small_values(std::size_t count) {
  std::string p = "\x80\x02" "ccollections\nOrderedDict\nq\x00" "0("s;
  p.reserve(p.size() + 4 * count + 2);
  for (std::size_t i = 0; i < count; ++i) p += "h\x00)R"s;
  return pickle_zip(p + "l.");
}

// A safetensors file of `count` empty tensors, then a byte that belongs to none of them.
std::string safetensors_of_many_tensors(std::size_t count) {
  std::string header = "{";
  for (std::size_t i = 0; i < count; ++i) {
    header += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  header += "}";
  std::string file;
  for (int i = 0; i < 8; ++i) file += static_cast<char>((static_cast<std::uint64_t>(header.size()) >> (8 * i)) & 0xff);
  return file + header + "x";
}

// --- bad plugins ------------------------------------------------------------------------------

std::function<void(Scene&)> plugin_file(const std::string& path) {
  return [path](Scene& s) { s.plugin_path = path; };
}

// The faulty test plugin (tiny's model) with `fault`, run on good.pt beside tiny.
std::function<void(Scene&)> faulty(const std::string& fault, double timeout = 10) {
  return [fault, timeout](Scene& s) {
    s.plugin_path = CKPT_TEST_FAULTY;
    s.plugin_name = "faulty";
    s.plugin_options = "width = 2, fault = \"" + fault + "\"";
    s.timeout = timeout;
  };
}

// good_plugin.so with its ELF machine changed to AArch64: a library for another machine.
void other_architecture(Scene& s) {
  std::string elf = file_bytes(CKPT_TEST_GOOD_PLUGIN);
  elf[18] = static_cast<char>(183);  // e_machine = EM_AARCH64
  elf[19] = 0;
  s.plugin_path = (s.dir / "arm64.so").string();
  write_file(s.plugin_path, elf);
}

// --- bad configs ------------------------------------------------------------------------------

std::function<void(Scene&)> config_tail(const std::string& text) {
  return [text](Scene& s) { s.config_tail = text; };
}

// Text of a file of the CI machine that no report may quote (the reader quotes 16 bytes of
// a file it does not recognise: kSecretMark is within them).
const std::string kSecret = "SECRET-OF-THE-CI-MACHINE: not for a pull request to read\n";
const std::string kSecretMark = "SECRET-OF";

// A directory beside the repository (the test's directory), for links to lead out to; the
// test removes it, and checks that the run left it as it was and quoted none of it.
fs::path outside_dir(Scene& s) {
  s.outside = s.dir.parent_path() / (s.dir.filename().string() + "-outside");
  fs::create_directories(s.outside);
  write_file(s.outside / "secret", kSecret);
  return s.outside;
}

// A link `name` in the repository to `target` outside it: the secret file, or an empty
// directory made for it.
void link_out(Scene& s, const fs::path& name, const std::string& target) {
  const fs::path outside = outside_dir(s);
  if (target != "secret") fs::create_directories(outside / target);
  fs::create_directories((s.dir / name).parent_path());
  fs::create_symlink(outside / target, s.dir / name);
}

// A sharded safetensors set of tiny's state dict whose one shard links out of the repository.
void index_shard_linking_out(Scene& s) {
  s.checkpoint = "bad.safetensors.index.json";
  write_file(s.dir / s.checkpoint,
             R"({"metadata": {}, "weight_map": {"weight": "shard-1.safetensors", "bias": "shard-1.safetensors"}})");
  link_out(s, "shard-1.safetensors", "secret");
}

// A link `name` in the repository that leads to itself.
void link_loop(Scene& s, const std::string& name) { fs::create_symlink(fs::path(name).filename(), s.dir / name); }

// The files of `dir` and their bytes (nothing when it does not exist).
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out[e.path().string()] = e.is_regular_file() ? file_bytes(e.path()) : "";
  return out;
}

// --- run events -------------------------------------------------------------------------------

bool output_has(const fs::path& output, const std::string& text) {
  std::ifstream in(output);
  std::stringstream s;
  s << in.rdbuf();
  return s.str().find(text) != std::string::npos;
}

// Waits until tiny's unit was reported (so a hanging faulty unit is what is left running).
void wait_for_good_unit(const fs::path& output) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (!output_has(output, "tiny@1.0.0/good.pt") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  pid_t child;
  while (in >> child) out.push_back(child);
  return out;
}

std::function<void(Scene&)> signal_during_hang(int signal) {
  return [signal](Scene& s) {
    faulty("hang", 60)(s);
    s.during = [signal](pid_t supervisor, const fs::path& output) {
      wait_for_good_unit(output);
      ::kill(supervisor, signal);
    };
  };
}

void kill_workers_during_hang(Scene& s) {
  faulty("hang", 60)(s);
  s.during = [](pid_t supervisor, const fs::path& output) {
    wait_for_good_unit(output);
    for (pid_t worker : children_of(supervisor)) ::kill(worker, SIGKILL);
  };
}

// --- the catalogue ------------------------------------------------------------------------------

const std::string kNotACheckpoint = "[not-a-checkpoint]";

std::vector<Entry> catalogue() {
  std::vector<Entry> c;
  auto add = [&c](std::string id, std::function<void(Scene&)> make, Verdict v, int exit_code, std::vector<std::string> words) {
    c.push_back({std::move(id), std::move(make), v, exit_code, std::move(words)});
  };
  const Verdict F = Verdict::kFailure, E = Verdict::kError;

  // file
  add("file.empty", checkpoint([] { return ""s; }), F, 1, {kNotACheckpoint, "bad.pt", "empty"});
  add("file.shorter_than_a_zip_trailer", checkpoint([] { return "PK\x03\x04garbage"s; }), F, 1,
      {"[truncated]", "shorter than a zip end record"});
  add("file.truncated_download", checkpoint(truncated_fixture), F, 1, {"bad.pt", "truncated"});
  add("file.text", checkpoint([] { return "model weights are on the shared drive\n"s; }), F, 1,
      {kNotACheckpoint, "found text starting 'model weights"});
  add("file.image", checkpoint([] { return "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"s + random_bytes(200); }), F, 1,
      {kNotACheckpoint, "89 50 4e 47"});
  add("file.random_bytes", checkpoint([] { return random_bytes(4096); }), F, 1, {kNotACheckpoint, "byte 0"});
  add("file.git_lfs_pointer", checkpoint([] {
        return "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"s;
      }), F, 1, {"Git LFS pointer", "git lfs pull"});
  add("file.directory", [](Scene& s) { s.checkpoint = "bad.pt"; fs::create_directory(s.dir / s.checkpoint); }, F, 1,
      {"bad.pt", "is a directory"});
  add("file.fifo", [](Scene& s) { s.checkpoint = "bad.pt"; ASSERT_EQ(::mkfifo((s.dir / s.checkpoint).c_str(), 0600), 0); }, F, 1,
      {"bad.pt", "not a regular file"});
  add("file.missing", [](Scene& s) { s.checkpoint = "missing.pt"; }, E, 2, {"'missing.pt' matches no file"});
  add("file.vanished", [](Scene& s) { s.checkpoint = "bad.pt"; fs::create_symlink(s.dir / "gone.pt", s.dir / s.checkpoint); },
      F, 1, {"bad.pt", "cannot open", "No such file"});
  add("file.torchscript_program", [](Scene& s) {
        // torch.jit.save's layout, with code that would leave a file behind if it ever ran.
        s.checkpoint = "bad.pt";
        write_file(s.dir / s.checkpoint,
                   build_zip({{"scripted/data.pkl", linear_state_dict_pickle()},
                              {"scripted/data/0", floats(4)},
                              {"scripted/data/1", floats(2)},
                              {"scripted/code/__torch__/model.py", "import os\nos.system('touch " + (s.dir / "ran").string() + "')\n"},
                              {"scripted/constants.pkl", "\x80\x02)."s},
                              {"scripted/version", "3\n"}}));
        s.args = "--verbose";
      }, Verdict::kHandled, 0, {"a TorchScript program: its 1 code file(s) are never run"});
  add("file.name_with_a_newline_and_escape_sequences", [](Scene& s) {
        // A file name that, printed raw, would reset the terminal and add a line of its own.
        s.checkpoint = "bad\\nPASS          tiny forged.pt\\u001bc.pt";
        write_file(s.dir / "bad\nPASS          tiny forged.pt\x1b" "c.pt", random_bytes(512));
      }, F, 1, {kNotACheckpoint});
  add("file.over_the_size_cap", [](Scene& s) {
        s.checkpoint = "bad.pt";
        write_file(s.dir / s.checkpoint, std::string((std::size_t{3} << 20), 'x'));
        s.run_settings = "max_file_mib = 2\n";
      }, F, 1, {"bad.pt", "over the size limit"});

  // zip
  add("zip.missing_data_pkl", checkpoint([] { return build_zip({{"archive/version", "3\n"}}); }), F, 1, {"[zip]", "no data.pkl"});
  add("zip.missing_storage_record", checkpoint([] { return torch_zip(tensor_dict_pickle(4, {4}, {1}), {}); }), F, 1,
      {"archive/data/0"});
  add("zip.compressed_entry",
      checkpoint([] { return build_zip({{"archive/data.pkl", "\x80\x02N."s, 8}, {"archive/version", "3\n"}}); }), F, 1,
      {"[zip]", "compressed"});
  add("zip.bomb", checkpoint(zip_bomb), F, 1, {"[zip]", "compressed"});
  add("zip.lying_sizes", checkpoint([] {
        ZipEntrySpec lying{"archive/data.pkl", "\x80\x02N."s};
        lying.central_size_delta = 1000;
        return build_zip({lying, {"archive/version", "3\n"}});
      }), F, 1, {"[truncated]", "zip entry 'archive/data.pkl'", "runs past the end"});
  add("zip.duplicate_names",
      checkpoint([] { return build_zip({{"archive/data.pkl", "\x80\x02N."s}, {"archive/data.pkl", "\x80\x02N."s}}); }), F, 1,
      {"[zip]", "duplicate"});
  add("zip.case_variant_names", checkpoint([] {
        return build_zip({{"archive/data.pkl", "\x80\x02N."s}, {"archive/DATA.pkl", "\x80\x02N."s}, {"archive/version", "3\n"}});
      }), F, 1, {"[zip]", "'archive/data.pkl' and 'archive/DATA.pkl' differ only in case"});
  add("zip.unexpected_names", checkpoint([] {
        return build_zip({{"archive/data.pkl", "\x80\x02N."s}, {"../../etc/cron.d/evil", "* * * * * root sh"},
                          {"archive/version", "3\n"}});
      }), F, 1, {"[zip]", "zip entry '../../etc/cron.d/evil'", "would write outside its folder"});
  add("zip.names_outside_the_archive_folder", checkpoint([] {
        return build_zip({{"archive/data.pkl", "\x80\x02N."s}, {"payload.bin", "x"}, {"archive/version", "3\n"}});
      }), F, 1, {"[zip]", "zip entry 'payload.bin'", "outside the folder 'archive/'"});
  add("zip.unsupported_version", checkpoint([] {
        return build_zip({{"archive/data.pkl", "\x80\x02N."s}, {"archive/version", "99\n"}});
      }), F, 1, {"[unsupported]", "archive format version '99'"});
  add("zip.malformed_central_directory", checkpoint(with_central_directory_broken), F, 1, {"[zip]", "central directory"});
  add("zip.archive_hidden_in_the_comment", checkpoint([] { return archive_hidden_in_the_comment("x"); }), F, 1,
      {"[zip]", "ambiguous archive", "trailing data"});
  add("zip.archive_hidden_in_the_comment_to_the_end", checkpoint([] { return archive_hidden_in_the_comment(""); }), F, 1,
      {"[zip]", "ambiguous archive", "two end-of-central-directory records"});
  add("zip.trailing_data", checkpoint([] { return linear_state_dict() + "appended"; }), F, 1,
      {"[zip]", "8 byte(s) of trailing data"});
  add("zip.gap_before_the_end_record", checkpoint([] {
        std::string zip = linear_state_dict();
        zip.insert(zip.size() - 22, "GAP!");
        return zip;
      }), F, 1, {"[zip]", "does not end where the end record starts"});
  add("zip.directory_holds_more_than_its_count", checkpoint([] {
        std::string zip = linear_state_dict();
        zip[zip.size() - 22 + 8] = static_cast<char>(zip[zip.size() - 22 + 8] - 1);
        zip[zip.size() - 22 + 10] = static_cast<char>(zip[zip.size() - 22 + 10] - 1);
        return zip;
      }), F, 1, {"[zip]", "left in the central directory"});
  add("zip.overlapping_entries", checkpoint([] {
        std::string zip = build_zip({{"archive/data.pkl", linear_state_dict_pickle()}, {"archive/data/0", floats(4)},
                                     {"archive/data/1", floats(2)}, {"archive/version", "3\n"}});
        const std::size_t second_central = zip.find("PK\x01\x02"s, zip.find("PK\x01\x02"s) + 1);
        for (int i = 0; i < 4; ++i) zip[second_central + 42 + i] = 0;  // data/0's header: data.pkl's
        return zip;
      }), F, 1, {"[zip]", "overlaps zip entry"});
  add("zip.wrong_crc_of_the_pickle", checkpoint([] {
        ZipEntrySpec pickle{"archive/data.pkl", linear_state_dict_pickle()};
        pickle.crc_xor = 0x5a5a;
        return build_zip({pickle, {"archive/data/0", floats(4)}, {"archive/data/1", floats(2)}, {"archive/version", "3\n"}});
      }), F, 1, {"[zip]", "CRC-32"});

  // pickle
  add("pickle.global_posix_system", checkpoint([] { return pickle_zip(global_call_pickle("posix", "system", "touch /tmp/pwned")); }),
      F, 1, {"posix.system"});
  add("pickle.global_builtins_eval",
      checkpoint([] { return pickle_zip(global_call_pickle("builtins", "eval", "__import__('os')")); }), F, 1, {"builtins.eval"});
  add("pickle.global_torch_load", checkpoint([] { return pickle_zip(global_call_pickle("torch", "load", "/tmp/other.pt")); }), F, 1,
      {"torch.load"});
  add("pickle.system_as_a_tensor_subclass_rebuild", checkpoint([] { return pickle_zip(subclass_rebuild_calling_system()); }), F, 1,
      {"posix.system"});
  add("pickle.unknown_opcode", checkpoint([] { return pickle_zip("\x80\x02\xff."s); }), F, 1, {"[pickle]", "unknown opcode 0xff"});
  add("pickle.missing_stop", checkpoint([] { return pickle_zip("\x80\x02N"s); }), F, 1, {"without a STOP"});
  add("pickle.stack_underflow_in_reduce", checkpoint([] { return pickle_zip("\x80\x02N\x52."s); }), F, 1,
      {"[pickle]", "stack underflow in REDUCE"});
  add("pickle.stack_underflow_in_build", checkpoint([] { return pickle_zip("\x80\x02Nb."s); }), F, 1,
      {"[pickle]", "stack underflow in BUILD"});
  add("pickle.stack_underflow_in_setitems", checkpoint([] { return pickle_zip("\x80\x02(N}u."s); }), F, 1,
      {"[pickle]", "stack underflow in SETITEMS"});
  add("pickle.memo_read_of_unset_slot", checkpoint([] { return pickle_zip("\x80\x02h\x05."s); }), F, 1,
      {"[pickle]", "memo slot 5 read before it was written"});
  add("pickle.memo_bomb", checkpoint([] { return pickle_zip("\x80\x02Nr\xff\xff\xff\xff."s); }), F, 1, {"None"});
  add("pickle.length_past_the_end", checkpoint([] { return pickle_zip("\x80\x02X\xff\xff\xff\x7f" "abc."s); }), F, 1,
      {"BINUNICODE: expected 2147483647 more bytes"});
  add("pickle.nesting_a_million_deep", checkpoint([] {
        const std::size_t depth = 1'000'000;
        return pickle_zip("\x80\x02"s + std::string(depth, ']') + std::string(depth - 1, 'a') + ".");
      }), F, 1, {"[limit]", "[...988 more levels...]", "nested deeper than 1000 levels"});
  add("pickle.torchscript_class_in_a_plain_torch_save", checkpoint([] { return pickle_zip("\x80\x02" "c__torch__\nModel\n)\x81."s); }),
      F, 1, {"__torch__.Model"});
  add("pickle.torchscript_class_beside_code_without_constants", checkpoint([] {
        // code/ alone does not make torch.load hand the file to torch.jit.load (constants.pkl
        // does): Python's pickle would import __torch__.
        return build_zip({{"m/data.pkl", "\x80\x02" "c__torch__\nModel\n)\x81."s}, {"m/code/__torch__.py", "x = 1\n"},
                          {"m/version", "3\n"}});
      }), F, 1, {"__torch__.Model"});
  add("pickle.global_in_a_torchscript_constants_pickle", checkpoint([] {
        return build_zip({{"m/data.pkl", linear_state_dict_pickle()}, {"m/data/0", floats(4)}, {"m/data/1", floats(2)},
                          {"m/constants.pkl", "\x80\x02"s + "cposix\nsystem\nX\x02\x00\x00\x00id\x85R."s},
                          {"m/version", "3\n"}});
      }), F, 1, {"posix.system", "in the zip entry 'm/constants.pkl'"});
  add("pickle.legacy_global_in_sys_info", checkpoint([] { return legacy_with_header_global("sys_info"); }), F, 1,
      {"posix.system", "in the sys info pickle"});
  add("pickle.legacy_global_in_storage_keys", checkpoint([] { return legacy_with_header_global("keys"); }), F, 1,
      {"posix.system", "in the storage keys pickle"});
  add("pickle.legacy_five_item_persistent_id", checkpoint([] { return legacy_with_header_global("", true); }), F, 1,
      {"[pickle]", "found a tuple of 5 item(s)"});
  add("pickle.setitems_on_a_list", checkpoint([] { return pickle_zip("\x80\x02](NNu."s); }), F, 1,
      {"[pickle]", "SETITEMS on a list"});
  // resource bombs (issue 16, item 6): each took gigabytes or minutes before
  add("pickle.long_key_shared_by_many_dicts", checkpoint([] { return long_key_shared_by_many_dicts(500'000, 100'000); }), F, 1,
      {"bad.pt"});
  add("pickle.deep_dicts_under_a_long_shared_key", checkpoint([] { return deep_dicts_under_a_long_shared_key(65'536, 990); }),
      F, 1, {"does not load strictly: 2 missing, 1 unexpected"});
  add("pickle.copies_of_a_shared_list", checkpoint([] { return copies_of_a_shared_list(200'000, 2'000); }), F, 1,
      {"[limit]", "the memory limit for a pickle in"});
  add("pickle.millions_of_small_values", checkpoint([] { return millions_of_small_values(4'900'000); }), F, 1,
      {"[limit]", "the memory limit for a pickle in"});
  add("file.safetensors_header_of_400k_tensors", checkpoint([] { return safetensors_of_many_tensors(400'000); }), F, 1,
      {"[safetensors]", "1 bytes after the last tensor belong to no tensor"});
  // key rules (issue 16, item 5)
  add("pickle.key_rule_on_a_200_kb_key", [](Scene& s) {
        write_file(s.dir / "long_key.pt", pickle_zip("\x80\x02}"s + binunicode(std::string(200'000, 'a')) + "Ns."));
        s.config_tail = "[[checkpoints]]\nname = \"ruled\"\nfiles = [\"long_key.pt\"]\nlayout = \"state-dict\"\n"
                        "plugins = [\"tiny\"]\nkey_rules = [{ pattern = '(.|\\n)*', replace = '$&' }]\n";
      }, F, 1, {"does not load strictly: 2 missing, 1 unexpected"});

  // torch.distributed.checkpoint directories: damaged copies of a two-rank save
  // (fixtures/pytorch2/generate_dcp.py writes them into fixtures/hostile/dcp_*), copied in as bad/.
  auto dcp_directory = [](const std::string& name) {
    return [name](Scene& s) {
      s.checkpoint = "bad";
      fs::copy(fixture("hostile/" + name), s.dir / s.checkpoint, fs::copy_options::recursive);
    };
  };
  add("dcp.missing_distcp", dcp_directory("dcp_missing_distcp"), F, 1,
      {"is damaged (142 finding(s))", "its file __1_0.distcp is missing"});
  add("dcp.truncated_distcp", dcp_directory("dcp_truncated_distcp"), F, 1,
      {"is damaged (22 finding(s))", "runs past the end of __0_0.distcp (111012 bytes)"});
  add("dcp.overlapping_chunks", dcp_directory("dcp_overlapping_chunks"), F, 1,
      {"'generator.main.0.weight' chunks 0", "overlap: an element would be read twice"});
  add("dcp.hole", dcp_directory("dcp_hole"), F, 1,
      {"'generator.main.0.weight': its 2 chunk(s) cover 7680 of its 8192 elements: a hole"});
  add("dcp.length_lies", dcp_directory("dcp_length_lies"), F, 1,
      {"is damaged (2 finding(s))", "overlaps another record of __0_0.distcp"});
  add("dcp.foreign_global", dcp_directory("dcp_foreign_global"), F, 1,
      {"holds 1 global(s) outside the allow-list: posix.system (in the `.metadata`)"});

  // tensor
  add("tensor.view_past_its_storage",
      checkpoint([] { return linear_state_dict([](PickleWriter::Tensor& t) { t.sizes = {3, 2}; }); }), F, 1, {"weight"});
  add("tensor.error_about_a_key_with_a_nul", checkpoint([] {
        return torch_zip(linear_state_dict_pickle([](PickleWriter::Tensor& t) { t.sizes = {3, 2}; }, "we\0ight"s),
                         {{"0", std::string(16, '\0')}, {"1", floats(2)}});
      }), F, 1, {"['we\\x00ight']", "view reaches element"});
  add("tensor.negative_size",
      checkpoint([] { return linear_state_dict([](PickleWriter::Tensor& t) { t.sizes = {-2, 2}; }); }), F, 1, {"negative"});
  add("tensor.negative_stride",
      checkpoint([] { return linear_state_dict([](PickleWriter::Tensor& t) { t.strides = {-2, 1}; }); }), F, 1, {"negative"});
  add("tensor.storage_bytes_disagree_with_numel",
      checkpoint([] { return linear_state_dict({}, std::string(12, '\0')); }), F, 1, {"archive/data/0"});
  add("tensor.size_and_stride_ranks_differ",
      checkpoint([] { return linear_state_dict([](PickleWriter::Tensor& t) { t.strides = {1}; }); }), F, 1,
      {"size has 2 dimensions but stride has 1"});
  add("tensor.nan_and_inf", [](Scene& s) {
        s.checkpoint = "bad.pt";
        const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
        write_file(s.dir / s.checkpoint, linear_state_dict({}, float_bytes({0.5f, nan, inf, -inf})));
        s.config_tail = "[scenarios]\nrequire_finite = true\n";
      }, F, 1, {"weight", "NaN"});
  add("tensor.cuda_location_on_a_cpu_machine", [](Scene& s) {
        s.checkpoint = "bad.pt";
        fs::copy_file(fixture("cuda_location.pt"), s.dir / s.checkpoint);
      }, Verdict::kHandled, 0, {});

  // plugin
  add("plugin.not_a_library", plugin_file(CKPT_TEST_NOT_A_LIBRARY), E, 1, {"not_a_library.so", "cannot load it as a shared library"});
  add("plugin.other_architecture", other_architecture, E, 1, {"arm64.so", "built for AArch64", "this machine is x86-64"});
  add("plugin.unresolved_symbol", plugin_file(CKPT_TEST_UNRESOLVED_SYMBOL), E, 1, {"unresolved_symbol.so", "undefined symbol"});
  add("plugin.missing_entry_point", plugin_file(CKPT_TEST_NO_ENTRY_POINT), E, 1, {"no_entry_point.so", "not a ckpt-harness plugin"});
  add("plugin.wrong_abi_version", plugin_file(CKPT_TEST_WRONG_ABI), E, 1, {"wrong_abi.so", "ABI", "999"});
  add("plugin.throws_a_std_exception", [](Scene& s) {
        s.plugin_path = CKPT_TEST_THROWING;
        s.plugin_name = "throwing";
        s.plugin_options = "throw = \"std\"";
      }, E, 1, {"throwing"});
  add("plugin.throws_a_non_std_exception", faulty("throw_int"), E, 1, {"threw something that is not a std::exception"});
  add("plugin.segfaults", faulty("segfault"), E, 1, {"SIGSEGV"});
  add("plugin.aborts", faulty("abort"), E, 1, {"SIGABRT"});
  add("plugin.hangs", faulty("hang", 2), E, 1, {"timed out"});
  add("plugin.segfaults_while_described", [](Scene& s) {
        faulty("segfault")(s);
        s.plugin_options += ", from_call = 1";
      }, E, 1, {"not run: no plugin matching 'faulty' could be described", "SIGSEGV"});
  add("plugin.calls_exit_0", faulty("exit0"), E, 1, {"exited with status 0"});
  add("plugin.allocates_without_bound", [](Scene& s) {
        faulty("oom", 120)(s);  // touching 1.5 GiB takes long on a loaded machine: the memory limit ends it, not the clock
        s.run_settings = "memory_limit_mib = 1536\n";
      }, E, 1, {"memory"});
  add("plugin.floods_stderr", faulty("flood"), Verdict::kHandled, 0, {});
  add("plugin.writes_a_file_without_bound", faulty("write_file"), E, 1, {"SIGXFSZ"});
  add("plugin.leaks_file_descriptors", faulty("leak_fds"), Verdict::kHandled, 0,
      {"note: faulty@1.0.0/good.pt: the plugin left", "files open", "so its worker was replaced"});
  add("plugin.burns_cpu", [](Scene& s) {
        faulty("spin", 60)(s);
        s.run_settings = "cpu_seconds_per_unit = 2\n";
      }, E, 1, {"SIGXCPU"});
  add("plugin.forges_results_on_the_reply_channel", faulty("forge_results"), E, 1,
      {"broke the protocol", "without the writer's pid"});
  add("plugin.forges_enveloped_results", faulty("forge_enveloped_results"), E, 1,
      {"broke the protocol", "that does not answer the request in flight"});
  add("plugin.forks_and_both_processes_answer", faulty("fork"), Verdict::kHandled, 0,
      {"note: faulty@1.0.0/good.pt: the plugin forked a process", "stopped before it could answer for the worker"});
  add("plugin.writes_an_endless_line_to_the_reply_channel", faulty("unterminated_reply"), E, 1,
      {"broke the protocol", "a line longer than 64 MiB"});
  add("plugin.leaves_a_process_in_a_session_of_its_own", faulty("setsid_child"), Verdict::kHandled, 0,
      {"note: faulty@1.0.0/good.pt: the plugin left", "process(es) running after the unit", "they were ended"});
  add("plugin.crashes_later_in_another_plugins_unit", [](Scene& s) {
        faulty("segfault_later")(s);
        const fs::path trigger = s.dir / "crash-now";
        s.plugin_options += ", trigger = \"" + trigger.string() + "\"";
        s.jobs = 1;  // one worker: faulty's unit, then tiny's
        s.during = [trigger](pid_t, const fs::path& output) {
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
          while (!output_has(output, "faulty@1.0.0/good.pt") && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          write_file(trigger, "");
        };
      }, Verdict::kHandled, 0, {"note: ", "SIGSEGV"});
  add("plugin.signals_the_supervisor", faulty("signal_supervisor"), Verdict::kHandled, 0,
      {"sent the supervisor SIGTERM", "so it was ignored"});
  add("plugin.crashes_in_its_static_destructors", faulty("crash_at_exit"), Verdict::kHandled, 0,
      {"killed by SIGSEGV", "static destructors"});

  // config
  add("config.syntax_error", [](Scene& s) { s.replace_config = "[run\njobs = 2\n"; }, E, 2, {"harness.toml:1:"});
  add("config.unknown_key", config_tail("[scenarios]\nrelaxed_treshold = 0.5\n"), E, 2,
      {"unknown key 'relaxed_treshold'", "relaxed_threshold"});
  add("config.wrong_type", [](Scene& s) { s.run_settings = "memory_limit_mib = \"lots\"\n"; }, E, 2, {"memory_limit_mib"});
  add("config.out_of_range", [](Scene& s) { s.run_settings = "memory_limit_mib = 1\n"; }, E, 2, {"[run] memory_limit_mib", "256"});
  add("config.no_scenarios_selected", config_tail("[scenarios]\nrun = []\n"), E, 2, {"no scenario would run"});
  add("config.duplicate_group_names", config_tail("[[checkpoints]]\nname = \"good\"\nfiles = [\"good.pt\"]\n"), E, 2,
      {"two [[checkpoints]] groups are named 'good'"});
  add("config.checkpoint_outside_the_repository", config_tail("[[checkpoints]]\nname = \"escape\"\nfiles = [\"/etc/passwd\"]\n"),
      E, 2, {"'/etc/passwd' is outside the repository"});
  add("config.link_out_of_the_repository", [](Scene& s) {
        fs::create_symlink("/etc/passwd", s.dir / "inside.pt");
        s.config_tail = "[[checkpoints]]\nname = \"escape\"\nfiles = [\"inside.pt\"]\n";
      }, E, 2, {"inside.pt' is outside the repository", "(it resolves to /etc/passwd)"});
  add("config.key_rule_of_30000_nested_parentheses",
      config_tail("[[checkpoints]]\nname = \"ruled\"\nfiles = [\"good.pt\"]\nplugins = [\"tiny\"]\nkey_rules = [{ pattern = '" +
                  std::string(30'000, '(') + std::string(30'000, ')') + "' }]\n"),
      E, 2, {"harness.toml:", "key rule pattern", "over the limit of 1024"});
  add("config.report_dir_outside_the_repository", [](Scene& s) { s.run_settings = "report_dir = \"/tmp\"\n"; }, E, 2,
      {"[run] report_dir: '/tmp' is outside the repository"});
  add("config.index_shard_links_outside", index_shard_linking_out, F, 1,
      {"[io]", "shard-1.safetensors", "is outside", "(it resolves to "});
  add("config.golden_file_links_outside", [](Scene& s) {
        s.checkpoint = "bad.pt";
        fs::copy_file(fixture("cuda_location.pt"), s.dir / s.checkpoint);
        link_out(s, "bad.golden.pt", "secret");
      }, F, 1, {"bad.golden.pt", "is outside", "(it resolves to "});
  add("config.report_dir_links_outside", [](Scene& s) {
        s.config_report_dir = true;
        link_out(s, "ckpt-harness-report", "reports");
      }, Verdict::kNoReport, 2, {"error [config]", "[run] report_dir", "'ckpt-harness-report' is outside", "(it resolves to "});
  add("config.report_dir_option_links_outside", [](Scene& s) {
        link_out(s, "ckpt-report", "reports");
        s.report_dir = (s.dir / "ckpt-report" / "shard-1").string();
      }, Verdict::kNoReport, 2, {"error [config]", "--report-dir", "leads out of the repository", "(it resolves to "});
  add("config.junit_xml_links_outside", [](Scene& s) {
        link_out(s, "report/junit.xml", "secret");
      }, Verdict::kHandled, 0, {});
  add("config.link_loop_reached_by_a_glob", [](Scene& s) {
        fs::create_directories(s.dir / "loops");
        link_loop(s, "loops/a.pt");
        s.config_tail = "[[checkpoints]]\nname = \"loop\"\nfiles = [\"loops/*.pt\"]\n";
      }, E, 2, {"harness.toml:", "files: 'loops/a.pt' is a symbolic link loop"});
  add("config.link_loop_as_a_checkpoint_path", [](Scene& s) {
        link_loop(s, "loop.pt");
        s.config_tail = "[[checkpoints]]\nname = \"loop\"\nfiles = [\"loop.pt\"]\n";
      }, E, 2, {"harness.toml:", "files: 'loop.pt' is a symbolic link loop"});
  add("config.link_loop_as_a_plugin_path", [](Scene& s) {
        link_loop(s, "loop.so");
        s.plugin_path = "loop.so";
      }, E, 2, {"harness.toml:", "[plugins] paths: 'loop.so' is a symbolic link loop"});
  add("config.link_loop_as_a_models_file", [](Scene& s) {
        link_loop(s, "loop.json");
        s.config_tail = "[[models]]\nname = \"m\"\nversion = \"1.0.0\"\nplugin = \"manifest\"\nfiles = { manifest = \"loop.json\" }\n";
      }, E, 2, {"harness.toml:", "[[models]] 'm' files.manifest: 'loop.json' is a symbolic link loop"});
  add("config.config_is_a_link_loop", [](Scene& s) {
        link_loop(s, "loop.toml");
        s.config_name = "loop.toml";
      }, E, 2, {"loop.toml: cannot read the config", "symbolic link loop"});
  add("config.inspect_config_is_a_link_loop", [](Scene& s) {
        link_loop(s, "loop.toml");
        s.config_name = "loop.toml";
        s.command = "inspect --config";
      }, Verdict::kNoReport, 2, {"error [config]", "loop.toml: cannot read the config", "symbolic link loop"});

  // run
  add("run.sigint", signal_during_hang(SIGINT), E, 130, {"interrupted"});
  add("run.sigterm", signal_during_hang(SIGTERM), E, 130, {"interrupted"});
  add("run.sighup", signal_during_hang(SIGHUP), E, 130, {"interrupted"});
  add("run.sigkill_of_a_worker", kill_workers_during_hang, E, 1, {"SIGKILL"});
  add("run.unwritable_report_dir", [](Scene& s) {
        write_file(s.dir / "a-file", "x");
        s.report_dir = (s.dir / "a-file" / "report").string();
      }, Verdict::kReportError, 4, {"error [report]", "a-file"});
  // The file size limit (of the supervisor only: workers get their own) takes the small
  // junit.xml (~3 KB) but neither results.json nor report.html (~8 KB each).
  add("run.full_disk", [](Scene& s) { s.wrapper = "prlimit --fsize=5000: "; }, Verdict::kReportError, 4,
      {"error [report]", "results.json: File too large", "report.html: File too large", "(written: junit.xml)"});
  return c;
}

// --- running one entry ------------------------------------------------------------------------

struct Outcome {
  int exit_code = -1;
  bool hung = false;
  long max_rss_kib = 0;
  std::string output;
};

// Runs `command` through sh (exec'd, so the pid is the supervisor's), with `marker` in its
// environment so that its processes can be found afterwards; `during` runs meanwhile.
Outcome run_measured(const std::string& command, const fs::path& output, const std::string& marker,
                     const std::function<void(pid_t, const fs::path&)>& during) {
  Outcome o;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("CKPT_CATALOGUE_RUN", marker.c_str(), 1);
    const std::string line = "exec " + command + " >" + output.string() + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (during) during(pid, output);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  rusage usage{};
  for (;;) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      o.hung = true;
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.max_rss_kib = usage.ru_maxrss;
  o.output = file_bytes(output.string());
  return o;
}

// Processes (other than zombies) whose environment carries `marker`: left behind by the run.
std::vector<std::string> leftovers(const std::string& marker) {
  std::vector<std::string> out;
  const std::string needle = "CKPT_CATALOGUE_RUN=" + marker;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string environ = file_bytes(entry.path().string() + "/environ");
    if (environ.find(needle + '\0') == std::string::npos) continue;
    const std::string stat = file_bytes(entry.path().string() + "/stat");
    const std::size_t close = stat.rfind(')');
    if (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z') continue;
    out.push_back(name + ": " + file_bytes(entry.path().string() + "/cmdline"));
  }
  return out;
}

std::string xml_unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&#10;", "\n"}, {"&amp;", "&"}};
  for (const auto& [entity, text] : entities) {
    for (std::size_t at = s.find(entity); at != std::string::npos; at = s.find(entity, at + 1)) s.replace(at, std::strlen(entity), text);
  }
  return s;
}

// The message attributes of every <failure> or <error> (`element`) of a JUnit file.
std::vector<std::string> junit_messages(const std::string& junit, const std::string& element) {
  std::vector<std::string> out;
  const std::string open = "<" + element + " message=\"";
  for (std::size_t at = junit.find(open); at != std::string::npos; at = junit.find(open, at + 1)) {
    const std::size_t start = at + open.size();
    out.push_back(xml_unescape(junit.substr(start, junit.find('"', start) - start)));
  }
  return out;
}

bool contains_all(const std::string& text, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (text.find(w) == std::string::npos) return false;
  }
  return true;
}

std::string test_name(const std::string& id) {
  std::string name = id;
  for (char& ch : name) {
    if (ch == '.') ch = '_';
  }
  return name;
}

class HostileCatalogue : public TempDirTest, public ::testing::WithParamInterface<Entry> {
 protected:
  std::string write_config(const Scene& s) {
    const fs::path path = s.dir / "harness.toml";
    if (!s.replace_config.empty()) {
      write_file(path, s.replace_config);
      return path.string();
    }
    std::ostringstream t;
    t << "[run]\njobs = " << s.jobs << "\ntimeout_seconds = " << s.timeout << "\n" << s.run_settings << "\n[plugins]\npaths = [\""
      << CKPT_TEST_GOOD_PLUGIN << "\"" << (s.plugin_path.empty() ? "" : ", \"" + s.plugin_path + "\"") << "]\n"
      << "[plugins.tiny]\noptions = { width = 2 }\n";
    if (!s.plugin_name.empty()) t << "[plugins." << s.plugin_name << "]\noptions = { " << s.plugin_options << " }\n";
    t << "\n[[checkpoints]]\nname = \"good\"\nfiles = [\"good.pt\"]\nlayout = \"state-dict\"\nplugins = [\"tiny\""
      << (s.plugin_name.empty() ? "" : ", \"" + s.plugin_name + "\"") << "]\n";
    if (!s.checkpoint.empty()) {
      t << "\n[[checkpoints]]\nname = \"bad\"\nfiles = [\"" << s.checkpoint << "\"]\nlayout = \"state-dict\"\nplugins = [\"tiny\"]\n";
    }
    t << "\n" << s.config_tail;
    write_file(path, t.str());
    return path.string();
  }
};

TEST_P(HostileCatalogue, SurvivesAndReports) {
  const Entry& entry = GetParam();
#ifdef __SANITIZE_ADDRESS__
  if (entry.id == "plugin.allocates_without_bound") {
    GTEST_SKIP() << "an AddressSanitizer build has no worker memory limit (its shadow memory is terabytes)";
  }
#endif
  Scene scene;
  scene.dir = dir_;
  fs::copy_file(fixture("cuda_location.pt"), dir_ / "good.pt");  // tiny's Linear(2, 2) state dict
  entry.make(scene);
  const std::string config = scene.config_name.empty() ? write_config(scene) : (dir_ / scene.config_name).string();
  if (!scene.config_name.empty()) write_config(scene);  // beside it, as a run would find it
  // Removed however the test ends: it lies outside the test's directory.
  const std::unique_ptr<const fs::path, void (*)(const fs::path*)> remove_outside(
      &scene.outside, [](const fs::path* p) { if (!p->empty()) fs::remove_all(*p); });
  const std::map<std::string, std::string> outside_before = files_of(scene.outside);
  const std::string report_dir = scene.config_report_dir   ? (dir_ / "ckpt-harness-report").string()
                                 : scene.report_dir.empty() ? (dir_ / "report").string()
                                                            : scene.report_dir;
  const std::string plugin_dir = fs::path(CKPT_TEST_FAULTY).parent_path().string();
  const bool run = scene.command == "run";
  const std::string command = scene.wrapper + CKPT_HARNESS_BIN + " " + (run ? "run --config" : scene.command) + " " + config +
                              " --allow-path " + plugin_dir +
                              (run && !scene.config_report_dir ? " --report-dir " + report_dir : "") + " " + scene.args;
  const std::string marker = entry.id + "-" + std::to_string(::getpid());
  const Outcome o = run_measured(command, dir_ / "output.txt", marker, scene.during);
  SCOPED_TRACE(entry.id + ": " + command + "\n" + o.output.substr(0, 6000));

  ASSERT_FALSE(o.hung) << "the run did not end within 120 s";
  EXPECT_EQ(o.exit_code, entry.exit_code);
  EXPECT_LT(o.max_rss_kib, 2L << 20) << "a process of the run grew to " << o.max_rss_kib / 1024 << " MiB";
  std::vector<std::string> stray;
  for (int i = 0; i < 50 && !(stray = leftovers(marker)).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(stray.empty()) << "left behind: " << (stray.empty() ? "" : stray.front());
  EXPECT_FALSE(fs::exists(dir_ / "ran")) << "code from the input ran";
  // Whatever a file name, a message or a plugin's output holds, the console shows text: no
  // terminal escape, no carriage return, no line a file name made up.
  EXPECT_EQ(o.output.find('\x1b'), std::string::npos) << "a terminal escape reached the console";
  EXPECT_EQ(o.output.find('\r'), std::string::npos) << "a carriage return reached the console";
  EXPECT_EQ(o.output.find("\nPASS          tiny forged.pt"), std::string::npos) << "a file name made up a line of the console";
  EXPECT_EQ(files_of(scene.outside), outside_before) << "the run wrote outside the repository";
  EXPECT_EQ(o.output.find(kSecretMark), std::string::npos) << "the output quotes a file outside the repository";
  for (const auto& [path, bytes] : files_of(report_dir)) {
    EXPECT_EQ(bytes.find(kSecretMark), std::string::npos) << path << " quotes a file outside the repository";
  }

  if (entry.verdict == Verdict::kNoReport) {  // said on the console; nothing written, through a link or not
    EXPECT_TRUE(contains_all(o.output, entry.words)) << "expected the output to say: " << ::testing::PrintToString(entry.words);
    EXPECT_TRUE(files_of(report_dir).empty()) << "reports were written to " << report_dir;
    return;
  }

  if (entry.verdict == Verdict::kReportError || entry.verdict == Verdict::kHandled) {  // said in the console
    EXPECT_TRUE(contains_all(o.output, entry.words)) << "expected the output to say: " << ::testing::PrintToString(entry.words);
  }
  const std::string junit_path = report_dir + "/junit.xml";
  if (entry.verdict == Verdict::kReportError && !fs::exists(report_dir)) return;  // nowhere to write one
  ASSERT_TRUE(fs::exists(junit_path)) << "no junit.xml";
  for (const char* schema : {"junit-ant-windyroad.xsd", "junit-10-jenkins-xunit.xsd"}) {
    const CommandResult valid =
        run_command("xmllint --noout --schema " + std::string(CKPT_JUNIT_XSD_DIR) + "/" + schema + " " + junit_path + " 2>&1");
    EXPECT_EQ(valid.exit_code, 0) << schema << ": " << valid.out;
  }
  const std::string junit = file_bytes(junit_path);
  for (const auto& leftover : fs::directory_iterator(report_dir)) {
    const std::string name = leftover.path().filename();
    EXPECT_TRUE(name == "junit.xml" || name == "results.json" || name == "report.html") << "unexpected file " << name;
    EXPECT_FALSE(leftover.is_symlink()) << name << " is still a link: a report was written through it";
  }

  if (entry.verdict == Verdict::kFailure || entry.verdict == Verdict::kError) {
    const std::string element = entry.verdict == Verdict::kFailure ? "failure" : "error";
    const std::vector<std::string> messages = junit_messages(junit, element);
    const auto match = std::find_if(messages.begin(), messages.end(), [&](const std::string& m) { return contains_all(m, entry.words); });
    const bool found = match != messages.end();
    if (found) std::cout << "finding <" << element << ">: " << *match << "\n";
    EXPECT_TRUE(found) << "no <" << element << "> says " << ::testing::PrintToString(entry.words) << "; the <" << element
                       << ">s say:\n" << ::testing::PrintToString(messages);
    if (entry.verdict == Verdict::kFailure) {
      EXPECT_TRUE(junit_messages(junit, "error").empty()) << "a bad checkpoint is a <failure>, never an <error>: "
                                                          << ::testing::PrintToString(junit_messages(junit, "error"));
    }
  }
  if (entry.exit_code == 2) {  // a config error: the run never started; its one unit says why
    const json results = json::parse(std::ifstream(report_dir + "/results.json"));
    ASSERT_EQ(results.at("units").size(), 1u) << results.dump(1);
    EXPECT_EQ(results.at("units")[0].at("kind"), "run-end");
    EXPECT_NE(junit.find("package=\"config\""), std::string::npos) << junit;
    return;
  }

  if (entry.verdict == Verdict::kReportError) {  // results.json may be missing: the good unit in JUnit
    EXPECT_NE(junit.find("name=\"tiny@1.0.0/good.pt\" package=\"tiny@1_0_0\" id=\"0\" tests=\"11\" failures=\"0\" errors=\"0\""),
              std::string::npos) << junit;
    return;
  }
  const json results = json::parse(std::ifstream(report_dir + "/results.json"));
  bool good_seen = false;
  for (const auto& u : results.at("units")) {
    const bool good = u.at("id") == "tiny@1.0.0/good.pt";
    const bool bad_checkpoint_unit = u.at("id") == "tiny@1.0.0/" + scene.checkpoint;
    if (good) {
      good_seen = true;
      EXPECT_EQ(u.at("outcome"), "pass") << u.dump(1);
      EXPECT_GE(u.at("cases").size(), 5u);
    }
    if (entry.verdict == Verdict::kHandled && (good || bad_checkpoint_unit || u.at("plugin").at("name") == scene.plugin_name)) {
      EXPECT_EQ(u.at("outcome"), "pass") << u.dump(1);
    }
  }
  EXPECT_TRUE(good_seen) << "the good unit is not in results.json";
}

INSTANTIATE_TEST_SUITE_P(, HostileCatalogue, ::testing::ValuesIn(catalogue()),
                         [](const ::testing::TestParamInfo<Entry>& info) { return test_name(info.param.id); });

// The README's table lists exactly the catalogue's entries, so people can read what the
// harness does with each bad input and find its test.
TEST(HostileCatalogueReadme, ListsEveryEntry) {
  const std::string readme = file_bytes(std::string(CKPT_HOSTILE_README));
  ASSERT_FALSE(readme.empty());
  std::set<std::string> listed;
  std::istringstream lines(readme);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::size_t end = line.find('`', 3);
    listed.insert(line.substr(3, end - 3));
  }
  std::set<std::string> ids;
  for (const auto& e : catalogue()) ids.insert(e.id);
  EXPECT_EQ(listed, ids);
  EXPECT_GE(ids.size(), 45u);
}

}  // namespace
}  // namespace ckpt::test
