#include "reader/zip_archive.hpp"

#include <algorithm>
#include <cctype>

#include "reader/byte_cursor.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

namespace {
constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kMaxCommentSize = 0xffff;
constexpr std::uint16_t kZip64ExtraId = 0x0001;

struct CentralDirectory {
  std::uint64_t entry_count = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

std::string entry_where(const std::string& name) { return "zip entry '" + name + "'"; }

// A name that would leave the folder a tool extracts the archive into: absolute, with a
// '..' segment or a backslash (a separator on Windows). torch.save never writes one.
bool escapes_the_archive(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string::npos) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = name.find('/', start);
    if (name.compare(start, slash == std::string::npos ? std::string::npos : slash - start, "..") == 0) return true;
    if (slash == std::string::npos) return false;
    start = slash + 1;
  }
}

std::string case_folded(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// The end-of-central-directory record is the last thing in the file, followed only by its
// comment; scan backwards and accept only a record whose comment reaches exactly the end.
std::size_t find_end_record(const ByteSource& source) {
  const std::size_t size = source.size();
  if (size < kEndRecordSize) {
    throw ReadError(ReadErrorKind::kTruncated, source.name(), "byte 0",
                    "file is " + std::to_string(size) + " bytes, shorter than a zip end record (22 bytes)");
  }
  const std::size_t lowest = size - kEndRecordSize > kMaxCommentSize ? size - kEndRecordSize - kMaxCommentSize : 0;
  const std::uint8_t* d = source.data();
  for (std::size_t pos = size - kEndRecordSize + 1; pos-- > lowest;) {
    if (d[pos] == 0x50 && d[pos + 1] == 0x4b && d[pos + 2] == 0x05 && d[pos + 3] == 0x06) {
      std::size_t comment = d[pos + 20] | (d[pos + 21] << 8);
      if (pos + kEndRecordSize + comment == size) return pos;
    }
  }
  throw ReadError(ReadErrorKind::kTruncated, source.name(), "end of file",
                  "no zip end-of-central-directory record: the file is truncated (an interrupted download or copy?)");
}

CentralDirectory read_end_records(const ByteSource& source) {
  const std::size_t end_pos = find_end_record(source);
  ByteCursor cur(source.view(0, source.size()), source.name());
  cur.seek(end_pos + 4, "end record");
  std::uint16_t disk = cur.u16("disk number");
  std::uint16_t cd_disk = cur.u16("central directory disk");
  std::uint16_t disk_entries = cur.u16("entries on disk");
  std::uint16_t total_entries = cur.u16("total entries");
  std::uint32_t cd_size = cur.u32("central directory size");
  std::uint32_t cd_offset = cur.u32("central directory offset");
  if (disk != 0 || cd_disk != 0 || disk_entries != total_entries) {
    cur.fail_at(end_pos, ReadErrorKind::kZip, "multi-disk (split) zip archives are not supported");
  }
  CentralDirectory cd{total_entries, cd_offset, cd_size};
  const bool needs_zip64 = total_entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu;
  if (end_pos >= 20) {
    ByteCursor loc(source.view(end_pos - 20, 20), source.name(), "", end_pos - 20);
    if (loc.u32("zip64 locator signature") == kZip64LocatorSig) {
      loc.u32("zip64 end disk");
      std::uint64_t z64_pos = loc.u64("zip64 end record offset");
      if (z64_pos > end_pos - 20 || end_pos - 20 - z64_pos < 56) {
        loc.fail_at(0, ReadErrorKind::kZip, "zip64 end record offset " + std::to_string(z64_pos) + " is outside the file");
      }
      ByteCursor z(source.view(z64_pos, end_pos - 20 - z64_pos), source.name(), "", z64_pos);
      if (z.u32("zip64 end signature") != kZip64EndSig) {
        z.fail_at(0, ReadErrorKind::kZip, "expected a zip64 end-of-central-directory record signature");
      }
      z.u64("record size");
      z.u16("version made by");
      z.u16("version needed");
      z.u32("disk number");
      z.u32("central directory disk");
      z.u64("entries on disk");
      cd.entry_count = z.u64("total entries");
      cd.size = z.u64("central directory size");
      cd.offset = z.u64("central directory offset");
      return cd;
    }
  }
  if (needs_zip64) cur.fail_at(end_pos, ReadErrorKind::kZip, "the end record needs zip64 fields but there is no zip64 locator");
  return cd;
}

void apply_zip64_extra(std::string_view extra, ByteCursor& where, std::uint64_t& size, std::uint64_t& csize,
                       std::uint64_t& local_offset, bool need_size, bool need_csize, bool need_offset) {
  ByteCursor x(extra, where.file(), where.where());
  while (x.remaining() >= 4) {
    std::uint16_t id = x.u16("extra field id");
    std::uint16_t len = x.u16("extra field length");
    std::string_view body = x.take(len, "extra field");
    if (id != kZip64ExtraId) continue;
    ByteCursor b(body, where.file(), where.where());
    if (need_size) size = b.u64("zip64 uncompressed size");
    if (need_csize) csize = b.u64("zip64 compressed size");
    if (need_offset) local_offset = b.u64("zip64 local header offset");
    return;
  }
  if (need_size || need_csize || need_offset) where.fail(ReadErrorKind::kZip, "sizes are marked zip64 but the entry has no zip64 extra field");
}
}  // namespace

bool ZipArchive::looks_like_zip(const ByteSource& source) {
  const std::uint8_t* d = source.data();
  return source.size() >= 4 && d[0] == 0x50 && d[1] == 0x4b && d[2] == 0x03 && d[3] == 0x04;
}

ZipArchive::ZipArchive(std::shared_ptr<const ByteSource> source) : source_(std::move(source)) {
  read_central_directory();
}

void ZipArchive::read_central_directory() {
  const ByteSource& src = *source_;
  const CentralDirectory cd = read_end_records(src);
  if (cd.offset > src.size() || cd.size > src.size() - cd.offset) {
    throw ReadError(ReadErrorKind::kZip, src.name(), "central directory",
                    "central directory at byte " + std::to_string(cd.offset) + " of " + std::to_string(cd.size) +
                        " bytes lies outside the " + std::to_string(src.size()) + "-byte file (truncated?)");
  }
  if (cd.entry_count > kMaxEntries) {
    throw ReadError(ReadErrorKind::kLimit, src.name(), "central directory",
                    std::to_string(cd.entry_count) + " entries, over the limit of " + std::to_string(kMaxEntries));
  }
  // Each central header is at least 46 bytes: a count that cannot fit is a lie.
  if (cd.entry_count * 46 > cd.size) {
    throw ReadError(ReadErrorKind::kZip, src.name(), "central directory",
                    std::to_string(cd.entry_count) + " entries cannot fit in " + std::to_string(cd.size) + " bytes");
  }
  central_directory_offset_ = cd.offset;
  ByteCursor cur(src.view(cd.offset, cd.size), src.name(), "central directory", cd.offset);
  entries_.reserve(static_cast<std::size_t>(cd.entry_count));
  for (std::uint64_t i = 0; i < cd.entry_count; ++i) {
    const std::size_t header_pos = cur.position();
    if (cur.u32("central header signature") != kCentralHeaderSig) {
      cur.fail_at(header_pos, ReadErrorKind::kZip, "expected central directory header " + std::to_string(i + 1) + " of " +
                                                       std::to_string(cd.entry_count));
    }
    cur.u16("version made by");
    cur.u16("version needed");
    std::uint16_t flags = cur.u16("flags");
    std::uint16_t method = cur.u16("compression method");
    cur.u16("time");
    cur.u16("date");
    std::uint32_t crc = cur.u32("crc32");
    std::uint64_t csize = cur.u32("compressed size");
    std::uint64_t size = cur.u32("uncompressed size");
    std::uint16_t name_len = cur.u16("name length");
    std::uint16_t extra_len = cur.u16("extra length");
    std::uint16_t comment_len = cur.u16("comment length");
    cur.u16("disk start");
    cur.u16("internal attributes");
    cur.u32("external attributes");
    std::uint64_t local_offset = cur.u32("local header offset");
    std::string name(cur.take(name_len, "entry name"));
    std::string_view extra = cur.take(extra_len, "extra field");
    cur.take(comment_len, "entry comment");
    apply_zip64_extra(extra, cur, size, csize, local_offset, size == 0xffffffffu, csize == 0xffffffffu,
                      local_offset == 0xffffffffu);

    const std::string where = entry_where(name);
    auto fail = [&](ReadErrorKind kind, const std::string& what) { throw ReadError(kind, src.name(), where, what); };
    if (flags & 0x1) fail(ReadErrorKind::kZip, "entry is encrypted");
    if (method == 0 && csize != size) {
      fail(ReadErrorKind::kZip, "stored entry has compressed size " + std::to_string(csize) +
                                    " but uncompressed size " + std::to_string(size));
    }
    if (by_name_.count(name) != 0) fail(ReadErrorKind::kZip, "duplicate entry name: a zip may hold each name once");
    if (escapes_the_archive(name)) {
      fail(ReadErrorKind::kZip, "entry name is absolute or has a '..' segment or a backslash: torch.save never writes "
                                "one, and a tool extracting this archive would write outside its folder");
    }
    // Names that differ only in case are one file on a case-insensitive file system: which
    // one a tool sees would depend on where the archive is extracted.
    if (const auto [it, inserted] = by_folded_name_.emplace(case_folded(name), name); !inserted) {
      fail(ReadErrorKind::kZip, "entry names '" + it->second + "' and '" + name +
                                    "' differ only in case: a zip may hold each name once, whatever the case");
    }

    // The local header is read when the entry is first used (data_offset); here only
    // what the central directory alone can say.
    if (local_offset > src.size() || src.size() - local_offset < 30 || csize > src.size() - local_offset - 30) {
      fail(ReadErrorKind::kTruncated, "entry of " + std::to_string(csize) + " bytes with its header at byte " +
                                          std::to_string(local_offset) + " runs past the end of the " +
                                          std::to_string(src.size()) + "-byte file");
    }
    by_name_.emplace(name, entries_.size());
    entries_.push_back(ZipEntry{std::move(name), local_offset, size, csize, method, crc});
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipArchive::bytes(const ZipEntry& entry) const {
  if (entry.method != 0) {
    throw ReadError(ReadErrorKind::kZip, source_->name(), "zip entry '" + entry.name + "'",
                    "entry is compressed (method " + std::to_string(entry.method) +
                        "); torch.save stores data.pkl and tensor data uncompressed, so this file was re-packed "
                        "or is not a checkpoint");
  }
  return source_->view(static_cast<std::size_t>(data_offset(entry)), static_cast<std::size_t>(entry.size));
}

std::uint64_t ZipArchive::data_offset(const ZipEntry& entry) const {
  const auto index = static_cast<std::size_t>(&entry - entries_.data());
  if (data_offsets_.empty()) data_offsets_.assign(entries_.size(), 0);
  if (data_offsets_[index] != 0) return data_offsets_[index];
  const ByteSource& src = *source_;
  const std::string where = "zip entry '" + entry.name + "'";
  auto fail = [&](ReadErrorKind kind, const std::string& what) { throw ReadError(kind, src.name(), where, what); };
  const std::uint64_t local_offset = entry.local_header_offset;
  std::string header_buffer;
  const std::size_t header_len = static_cast<std::size_t>(std::min<std::uint64_t>(30 + entry.name.size(), src.size() - local_offset));
  const std::string_view header = src.copy_out(static_cast<std::size_t>(local_offset), header_len, header_buffer);
  ByteCursor local(header.substr(0, 30), src.name(), where, local_offset);
  if (local.u32("local header signature") != kLocalHeaderSig) {
    fail(ReadErrorKind::kZip, "no local header at byte " + std::to_string(local_offset));
  }
  local.seek(26, "local header");
  const std::uint64_t local_name_len = local.u16("local name length");
  const std::uint64_t local_extra_len = local.u16("local extra length");
  const std::uint64_t offset = local_offset + 30 + local_name_len + local_extra_len;
  if (offset > src.size() || entry.compressed_size > src.size() - offset) {
    fail(ReadErrorKind::kTruncated, "entry data of " + std::to_string(entry.compressed_size) + " bytes at byte " +
                                        std::to_string(offset) + " runs past the end of the " +
                                        std::to_string(src.size()) + "-byte file");
  }
  if (local_name_len != entry.name.size() || header.substr(30) != entry.name) {
    fail(ReadErrorKind::kZip, "local header names a different entry than the central directory");
  }
  if (offset < central_directory_offset_ && entry.compressed_size > central_directory_offset_ - offset) {
    fail(ReadErrorKind::kZip, "entry data overlaps the central directory");
  }
  data_offsets_[index] = offset;
  return offset;
}

}  // namespace ckpt
