#include "reader/zip_archive.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <zlib.h>

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

bool is_signature_at(const std::uint8_t* d, std::size_t pos, std::uint32_t sig) {
  return (d[pos] | (d[pos + 1] << 8) | (d[pos + 2] << 16) | (static_cast<std::uint32_t>(d[pos + 3]) << 24)) == sig;
}

// The end-of-central-directory record, found as the readers torch.load relies on find it:
// miniz (torch.load, LibTorch, torch.jit.load) and Python's zipfile both take the LAST end
// record signature with room for a record after it. Anything that would let another reader
// see another archive is refused: bytes after the record's comment (trailing data), an
// earlier record whose comment reaches the end of the file (an archive hidden in a comment,
// which a reader that trusts comment lengths would pick), and a comment holding zip headers.
// torch.save never writes a comment, so none of this costs a real checkpoint anything.
std::size_t find_end_record(const ByteSource& source) {
  const std::size_t size = source.size();
  if (size < kEndRecordSize) {
    throw ReadError(ReadErrorKind::kTruncated, source.name(), "byte 0",
                    "file is " + std::to_string(size) + " bytes, shorter than a zip end record (22 bytes)");
  }
  const std::size_t lowest = size - kEndRecordSize > kMaxCommentSize ? size - kEndRecordSize - kMaxCommentSize : 0;
  const std::uint8_t* d = source.data();
  auto comment_length = [d](std::size_t pos) -> std::size_t { return d[pos + 20] | (d[pos + 21] << 8); };
  std::size_t last = size;
  for (std::size_t pos = size - kEndRecordSize + 1; pos-- > lowest;) {
    if (is_signature_at(d, pos, kEndOfCentralDirSig)) {
      last = pos;
      break;
    }
  }
  if (last == size) {
    throw ReadError(ReadErrorKind::kTruncated, source.name(), "end of file",
                    "no zip end-of-central-directory record: the file is truncated (an interrupted download or copy?)");
  }
  const std::string where = "end record at byte " + std::to_string(last);
  const std::size_t comment = comment_length(last);
  if (last + kEndRecordSize + comment != size) {
    const std::size_t end = last + kEndRecordSize + comment;
    throw ReadError(ReadErrorKind::kZip, source.name(), where,
                    end < size ? "ambiguous archive: " + std::to_string(size - end) +
                                     " byte(s) of trailing data after the end record and its comment; zip readers "
                                     "disagree about such files, so it is refused (torch.save writes none)"
                               : "the end record's comment of " + std::to_string(comment) + " bytes runs " +
                                     std::to_string(end - size) + " byte(s) past the end of the file (truncated?)");
  }
  for (std::size_t pos = last; pos-- > lowest;) {
    if (is_signature_at(d, pos, kEndOfCentralDirSig) && pos + kEndRecordSize + comment_length(pos) == size) {
      throw ReadError(ReadErrorKind::kZip, source.name(), "end record at byte " + std::to_string(pos),
                      "ambiguous archive: two end-of-central-directory records (bytes " + std::to_string(pos) + " and " +
                          std::to_string(last) + ") each end the file, so zip readers disagree about which archive "
                          "it holds (an archive hidden in a comment?); refused");
    }
  }
  for (std::size_t pos = last + kEndRecordSize; pos + 4 <= size; ++pos) {
    for (std::uint32_t sig : {kLocalHeaderSig, kCentralHeaderSig, kEndOfCentralDirSig, kZip64EndSig, kZip64LocatorSig}) {
      if (is_signature_at(d, pos, sig)) {
        throw ReadError(ReadErrorKind::kZip, source.name(), where,
                        "ambiguous archive: the archive comment holds zip headers (at byte " + std::to_string(pos) +
                            "), an archive hidden in a comment; refused (torch.save writes no comment)");
      }
    }
  }
  return last;
}

struct EndRecords {
  CentralDirectory cd;
  std::uint64_t directory_end;  // where the central directory must end: the zip64 or the plain end record
};

EndRecords read_end_records(const ByteSource& source) {
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
      if (loc.u32("total disks") != 1) {  // miniz refuses any other count
        loc.fail_at(0, ReadErrorKind::kZip, "multi-disk (split) zip archives are not supported (zip64 locator)");
      }
      if (z64_pos > end_pos - 20 || end_pos - 20 - z64_pos < 56) {
        loc.fail_at(0, ReadErrorKind::kZip, "zip64 end record offset " + std::to_string(z64_pos) + " is outside the file");
      }
      // zipfile finds the zip64 record at a fixed distance before the end record, miniz by
      // the locator's offset: they must agree.
      if (end_pos - 20 - z64_pos != 56) {
        loc.fail_at(0, ReadErrorKind::kZip, "ambiguous archive: the zip64 end record at byte " + std::to_string(z64_pos) +
                                                " is not directly before its locator");
      }
      ByteCursor z(source.view(z64_pos, end_pos - 20 - z64_pos), source.name(), "", z64_pos);
      if (z.u32("zip64 end signature") != kZip64EndSig) {
        z.fail_at(0, ReadErrorKind::kZip, "expected a zip64 end-of-central-directory record signature");
      }
      z.u64("record size");
      z.u16("version made by");
      z.u16("version needed");
      // miniz takes these from the zip64 record, not from the plain end record.
      const std::uint32_t z64_disk = z.u32("disk number");
      const std::uint32_t z64_cd_disk = z.u32("central directory disk");
      const std::uint64_t z64_disk_entries = z.u64("entries on disk");
      cd.entry_count = z.u64("total entries");
      if (z64_disk != 0 || z64_cd_disk != 0 || z64_disk_entries != cd.entry_count) {
        z.fail_at(0, ReadErrorKind::kZip, "multi-disk (split) zip archives are not supported (zip64 end record)");
      }
      cd.size = z.u64("central directory size");
      cd.offset = z.u64("central directory offset");
      return {cd, z64_pos};
    }
  }
  if (needs_zip64) cur.fail_at(end_pos, ReadErrorKind::kZip, "the end record needs zip64 fields but there is no zip64 locator");
  return {cd, end_pos};
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
  const EndRecords end = read_end_records(src);
  const CentralDirectory& cd = end.cd;
  if (cd.offset > src.size() || cd.size > src.size() - cd.offset) {
    throw ReadError(ReadErrorKind::kZip, src.name(), "central directory",
                    "central directory at byte " + std::to_string(cd.offset) + " of " + std::to_string(cd.size) +
                        " bytes lies outside the " + std::to_string(src.size()) + "-byte file (truncated?)");
  }
  // Python's zipfile shifts every offset by the gap between where the directory ends and
  // where the end record starts (it allows data prepended to an archive); miniz does not.
  // With a gap the two read different bytes, so there must be none.
  if (cd.offset + cd.size != end.directory_end) {
    throw ReadError(ReadErrorKind::kZip, src.name(), "central directory",
                    "ambiguous archive: the central directory (bytes " + std::to_string(cd.offset) + " to " +
                        std::to_string(cd.offset + cd.size) + ") does not end where the end record starts (byte " +
                        std::to_string(end.directory_end) + "); zip readers place its entries differently");
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
    const std::uint16_t disk_start = cur.u16("disk start");
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
    // Encrypted, patch data, strong encryption, masked local headers: miniz refuses them all.
    if (flags & (0x1 | 0x20 | 0x40 | 0x2000)) fail(ReadErrorKind::kZip, "entry is encrypted or patch data (flags " + std::to_string(flags) + ")");
    // miniz refuses an entry on a disk other than 0 or 1, zipfile ignores the field.
    if (disk_start != 0) fail(ReadErrorKind::kZip, "entry starts on disk " + std::to_string(disk_start) +
                                                       ": multi-disk (split) zip archives are not supported");
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
  // miniz reads as many headers as the end record counts, zipfile as many as the directory's
  // size holds: they must be the same.
  if (cur.remaining() != 0) {
    cur.fail_at(cur.position(), ReadErrorKind::kZip,
                "ambiguous archive: " + std::to_string(cur.remaining()) + " byte(s) left in the central directory after its " +
                    std::to_string(cd.entry_count) + " entries; zip readers that go by size would read more entries");
  }
  check_no_overlap();
}

// Each entry's local header and data lie before the next entry's header and before the
// central directory: overlapping entries are how one record is read as two (and how
// overlapping zip bombs work). Uses the shortest extent the central directory allows.
void ZipArchive::check_no_overlap() {
  std::vector<const ZipEntry*> by_offset;
  by_offset.reserve(entries_.size());
  next_starts_.assign(entries_.size(), central_directory_offset_);
  for (const ZipEntry& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
  for (std::size_t i = 0; i < by_offset.size(); ++i) {
    const ZipEntry& e = *by_offset[i];
    const std::uint64_t end = e.local_header_offset + 30 + e.name.size() + e.compressed_size;
    const std::uint64_t next = i + 1 < by_offset.size() ? by_offset[i + 1]->local_header_offset : central_directory_offset_;
    next_starts_[static_cast<std::size_t>(&e - entries_.data())] = next;
    if (end > next) {
      throw ReadError(ReadErrorKind::kZip, source_->name(), "zip entry '" + e.name + "'",
                      "overlaps " + (i + 1 < by_offset.size() ? "zip entry '" + by_offset[i + 1]->name + "'"
                                                              : std::string("the central directory")) +
                          ": its header and data end at byte " + std::to_string(end) + ", after byte " +
                          std::to_string(next) + " where that starts");
    }
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

std::string_view ZipArchive::checked_bytes(const ZipEntry& entry) const {
  const std::string_view data = bytes(entry);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < data.size();) {  // zlib takes at most 4 GiB at once
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(data.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), chunk);
    done += chunk;
  }
  if (static_cast<std::uint32_t>(crc) != entry.crc32) {
    char text[64];
    std::snprintf(text, sizeof text, "%08x, but its bytes' CRC-32 is %08x", entry.crc32, static_cast<std::uint32_t>(crc));
    throw ReadError(ReadErrorKind::kZip, source_->name(), "zip entry '" + entry.name + "'",
                    std::string("the central directory records CRC-32 ") + text +
                        ": readers that check CRCs (Python's zipfile, torch.load 1.13) refuse the record and others read it (a damaged or altered file)");
  }
  return data;
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
  const std::uint64_t next_start = next_starts_[index];
  if (offset > next_start || entry.compressed_size > next_start - offset) {
    fail(ReadErrorKind::kZip, next_start == central_directory_offset_
                                  ? "entry data overlaps the central directory"
                                  : "entry data overlaps the next entry's header at byte " + std::to_string(next_start));
  }
  data_offsets_[index] = offset;
  return offset;
}

}  // namespace ckpt
