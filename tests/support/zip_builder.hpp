#pragma once
// Builds zip files in memory for tests: stored entries laid out as torch.save lays them,
// with knobs to break exactly one thing (method, sizes, names, offsets).
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ckpt::test {

struct ZipEntrySpec {
  std::string name;
  std::string data;
  std::uint16_t method = 0;             // 0 stored, 8 deflate (data is not really compressed)
  std::int64_t central_size_delta = 0;  // lie about the size in the central directory
  std::string local_name = {};          // name in the local header if different
  std::uint32_t crc_xor = 0;            // recorded CRC-32 ^ this: nonzero records a wrong one
};

inline std::uint32_t crc32_of(const std::string& data) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

inline void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
inline void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

inline std::string build_zip(const std::vector<ZipEntrySpec>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    const std::string& local_name = e.local_name.empty() ? e.name : e.local_name;
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, e.method);
    put16(out, 0);
    put16(out, 0);
    const std::uint32_t crc = crc32_of(e.data) ^ e.crc_xor;
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(e.data.size()));
    put32(out, static_cast<std::uint32_t>(e.data.size()));
    put16(out, static_cast<std::uint32_t>(local_name.size()));
    put16(out, 0);
    out += local_name;
    out += e.data;

    const auto size = static_cast<std::uint32_t>(static_cast<std::int64_t>(e.data.size()) + e.central_size_delta);
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, e.method);
    put16(central, 0);
    put16(central, 0);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<std::uint32_t>(e.name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += e.name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// A pickle as torch.save writes it for {'w': tensor(float32, sizes, strides, offset)}
// over storage '0' of `numel` elements. Protocol 2.
inline std::string tensor_dict_pickle(std::uint8_t numel, std::vector<std::uint8_t> sizes,
                                      std::vector<std::uint8_t> strides, std::uint8_t offset = 0,
                                      const std::string& storage_class = "FloatStorage") {
  auto tuple = [](const std::vector<std::uint8_t>& v) {
    std::string s = "(";
    for (auto x : v) s += std::string("K") + static_cast<char>(x);
    return s + "t";
  };
  using namespace std::string_literals;
  std::string p = "\x80\x02}X\x01\x00\x00\x00w"s;
  p += "ctorch._utils\n_rebuild_tensor_v2\n("s;
  p += "(X\x07\x00\x00\x00storagectorch\n"s + storage_class + "\nX\x01\x00\x00\x00"s + "0" + "X\x03\x00\x00\x00"s + "cpu";
  p += std::string("K") + static_cast<char>(numel) + "tQ";
  p += std::string("K") + static_cast<char>(offset);
  p += tuple(sizes) + tuple(strides);
  p += "\x89"s + "ccollections\nOrderedDict\n)Rt" + "R" + "s.";
  return p;
}

// A torch.save-style archive: archive/data.pkl, archive/data/<key> records, archive/version.
inline std::string torch_zip(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages) {
  std::vector<ZipEntrySpec> entries{{"archive/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages) entries.push_back({"archive/data/" + key, bytes});
  entries.push_back({"archive/version", "3\n"});
  return build_zip(entries);
}

inline std::vector<std::uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

inline std::string floats(std::size_t n) { return std::string(n * 4, '\0'); }

}  // namespace ckpt::test
