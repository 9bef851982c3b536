#pragma once
// Typed reads of TOML values that fail at the value's line:column with what was expected,
// and the unknown-key check with its "did you mean" suggestion.
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ckpt::detail {

class TomlFields {
 public:
  TomlFields(std::string file, const toml::table& table, std::string table_name)
      : file_(std::move(file)), table_(table), name_(std::move(table_name)) {}

  // Rejects keys not in `known`, suggesting the nearest.
  void check_keys(const std::vector<std::string>& known) const;

  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min, std::int64_t max) const;
  std::optional<double> number(const std::string& key, double min, double max) const;
  std::optional<bool> boolean(const std::string& key) const;
  std::optional<Located> string(const std::string& key) const;
  std::optional<std::string> choice(const std::string& key, const std::vector<std::string>& choices) const;
  std::optional<std::vector<Located>> strings(const std::string& key) const;  // array of strings
  const toml::table* table(const std::string& key) const;
  const toml::array* array_of_tables(const std::string& key) const;

  SourcePlace place(const toml::node& node) const;
  SourcePlace place_of(const std::string& key) const;  // the key's value, or the table
  SourcePlace place_of_table() const;                  // the table's header
  [[noreturn]] void fail(const toml::node& node, const std::string& message) const;
  std::string qualified(const std::string& key) const;  // "[run] jobs"
  const std::string& file() const { return file_; }

 private:
  const toml::node* get(const std::string& key) const { return table_.get(key); }
  std::string file_;
  const toml::table& table_;
  std::string name_;
};

SourcePlace place_in(const std::string& file, const toml::source_region& region);

}  // namespace ckpt::detail
