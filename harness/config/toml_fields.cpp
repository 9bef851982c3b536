#include "config/toml_fields.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "text/suggest.hpp"

namespace ckpt::detail {

SourcePlace place_in(const std::string& file, const toml::source_region& region) {
  return {file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

SourcePlace TomlFields::place(const toml::node& node) const { return place_in(file_, node.source()); }

SourcePlace TomlFields::place_of(const std::string& key) const {
  const toml::node* node = get(key);
  return place_in(file_, node ? node->source() : table_.source());
}

SourcePlace TomlFields::place_of_table() const { return place_in(file_, table_.source()); }

void TomlFields::fail(const toml::node& node, const std::string& message) const { fail_config(place(node), message); }

std::string TomlFields::qualified(const std::string& key) const { return name_.empty() ? key : "[" + name_ + "] " + key; }

void TomlFields::check_keys(const std::vector<std::string>& known) const {
  for (const auto& [key, node] : table_) {
    const std::string k(key.str());
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string message = "unknown key '" + k + "'" + (name_.empty() ? "" : " in [" + name_ + "]");
    const std::string nearest = nearest_word(k, known);
    message += nearest.empty() ? "; known keys: " + join_words(known) : "; did you mean '" + nearest + "'?";
    fail_config(place_in(file_, key.source()), message);
  }
}

std::optional<std::int64_t> TomlFields::integer(const std::string& key, std::int64_t min, std::int64_t max) const {
  const toml::node* node = get(key);
  if (!node) return std::nullopt;
  const auto* v = node->as_integer();
  if (!v) fail(*node, qualified(key) + " must be an integer");
  if (v->get() < min || v->get() > max) {
    fail(*node, qualified(key) + " is " + std::to_string(v->get()) + ": expected " + std::to_string(min) + " to " +
                    std::to_string(max));
  }
  return v->get();
}

std::optional<double> TomlFields::number(const std::string& key, double min, double max) const {
  const toml::node* node = get(key);
  if (!node) return std::nullopt;
  double value = 0;
  if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else {
    fail(*node, qualified(key) + " must be a number");
  }
  if (!(value >= min && value <= max)) {
    std::ostringstream m;
    m << qualified(key) << " is " << value << ": expected " << min << " to " << max;
    fail(*node, m.str());
  }
  return value;
}

std::optional<bool> TomlFields::boolean(const std::string& key) const {
  const toml::node* node = get(key);
  if (!node) return std::nullopt;
  const auto* v = node->as_boolean();
  if (!v) fail(*node, qualified(key) + " must be true or false");
  return v->get();
}

std::optional<Located> TomlFields::string(const std::string& key) const {
  const toml::node* node = get(key);
  if (!node) return std::nullopt;
  const auto* v = node->as_string();
  if (!v) fail(*node, qualified(key) + " must be a string");
  const SourcePlace p = place(*node);
  return Located{v->get(), p.line, p.column};
}

std::optional<std::string> TomlFields::choice(const std::string& key, const std::vector<std::string>& choices) const {
  const auto value = string(key);
  if (!value) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), value->value) == choices.end()) {
    const std::string nearest = nearest_word(value->value, choices);
    fail(*get(key), qualified(key) + " is '" + value->value + "': expected one of " + join_words(choices) +
                        (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)"));
  }
  return value->value;
}

std::optional<std::vector<Located>> TomlFields::strings(const std::string& key) const {
  const toml::node* node = get(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) fail(*node, qualified(key) + " must be an array of strings");
  std::vector<Located> out;
  for (const toml::node& item : *array) {
    const auto* s = item.as_string();
    if (!s) fail(item, qualified(key) + " must hold only strings");
    const SourcePlace p = place(item);
    out.push_back({s->get(), p.line, p.column});
  }
  return out;
}

const toml::table* TomlFields::table(const std::string& key) const {
  const toml::node* node = get(key);
  if (!node) return nullptr;
  if (!node->is_table()) fail(*node, qualified(key) + " must be a table");
  return node->as_table();
}

const toml::array* TomlFields::array_of_tables(const std::string& key) const {
  const toml::node* node = get(key);
  if (!node) return nullptr;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    fail(*node, qualified(key) + " must be an array of tables ([[" + key + "]])");
  }
  return array;
}

}  // namespace ckpt::detail
