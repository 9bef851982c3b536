#include "reader/value.hpp"

#include <cstdio>

namespace ckpt {

const char* to_string(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kStr: return "str";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kTuple: return "tuple";
    case ValueKind::kList: return "list";
    case ValueKind::kSet: return "set";
    case ValueKind::kDict: return "dict";
    case ValueKind::kTensor: return "tensor";
    case ValueKind::kNdarray: return "ndarray";
    case ValueKind::kDType: return "dtype";
    case ValueKind::kDevice: return "device";
    case ValueKind::kGlobal: return "global";
    case ValueKind::kObject: return "object";
    case ValueKind::kStorage: return "storage";
  }
  return "?";
}

const Value* Value::find(std::string_view key) const {
  if (kind != ValueKind::kDict) return nullptr;
  for (const auto& e : entries) {
    if (e.key->kind == ValueKind::kStr && e.key->text == key) return e.value;
  }
  return nullptr;
}

const Value* Value::metadata() const {
  for (const auto& a : attributes) {
    if (a.key->kind == ValueKind::kStr && a.key->text == "_metadata") return a.value;
  }
  return nullptr;
}

bool Value::is_container() const {
  switch (kind) {
    case ValueKind::kTuple:
    case ValueKind::kList:
    case ValueKind::kSet:
    case ValueKind::kDict:
    case ValueKind::kObject: return true;
    default: return false;
  }
}

Value* ValueArena::make(ValueKind kind) {
  if (size_ % kChunk == 0) chunks_.push_back(std::make_unique<Value[]>(kChunk));
  Value* v = &chunks_.back()[size_ % kChunk];
  ++size_;
  charged_ += sizeof(Value);
  v->kind = kind;
  return v;
}

}  // namespace ckpt

namespace ckpt {

namespace {
std::string scalar_repr(const Value& v) {
  switch (v.kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return v.boolean ? "True" : "False";
    case ValueKind::kFloat: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.real);
      return buf;
    }
    case ValueKind::kInt: return v.big_integer ? v.text : std::to_string(v.integer);
    default: return std::string("<") + to_string(v.kind) + ">";
  }
}
}  // namespace

const std::vector<DictEntry>* members_of(const Value& v) {
  if (v.kind == ValueKind::kDict) return &v.entries;
  if (v.kind == ValueKind::kObject && v.state && v.state->kind == ValueKind::kDict) return &v.state->entries;
  return nullptr;
}

const Value* member_of(const Value& v, std::string_view key) {
  const auto* m = members_of(v);
  if (!m) return nullptr;
  for (const auto& e : *m) {
    if (e.key->kind == ValueKind::kStr && e.key->text == key) return e.value;
  }
  return nullptr;
}

PathComponent key_component(const Value& key) {
  if (key.kind == ValueKind::kStr) return {PathComponent::Kind::kKey, key.text, 0};
  if (key.kind == ValueKind::kInt && !key.big_integer) return {PathComponent::Kind::kIntKey, {}, key.integer};
  return {PathComponent::Kind::kOther, "[" + scalar_repr(key) + "]", 0};
}

Path child_path(const Path& parent, const PathComponent& c) {
  switch (c.kind) {
    case PathComponent::Kind::kKey: return parent.child_key(c.key);
    case PathComponent::Kind::kIntKey: return parent.child_int_key(c.number);
    case PathComponent::Kind::kIndex: return parent.child_index(c.number);
    case PathComponent::Kind::kOther: return parent.child_other(c.key);
  }
  return parent;
}

PathComponent ChildRef::component() const {
  switch (via) {
    case Via::kIndex: return {PathComponent::Kind::kIndex, {}, index};
    case Via::kKey: return key_component(*key);
    case Via::kKeyItself: return {PathComponent::Kind::kOther, "<key>", 0};
    case Via::kAttribute: return {PathComponent::Kind::kOther, "." + key->text, 0};
    case Via::kArgs: return {PathComponent::Kind::kOther, "<args>", 0};
    case Via::kState: return {PathComponent::Kind::kOther, "<state>", 0};
  }
  return {PathComponent::Kind::kOther, "?", 0};
}

std::vector<ChildRef> child_refs_of(const Value& v) {
  using Via = ChildRef::Via;
  std::vector<ChildRef> out;
  auto add_entries = [&out](const std::vector<DictEntry>& entries, bool as_attributes) {
    for (const auto& e : entries) {
      if (e.key->is_container()) out.push_back({Via::kKeyItself, 0, e.key, e.key});
      const bool attribute = as_attributes && e.key->kind == ValueKind::kStr;
      out.push_back({attribute ? Via::kAttribute : Via::kKey, 0, e.key, e.value});
    }
  };
  for (std::size_t i = 0; i < v.items.size(); ++i) out.push_back({Via::kIndex, static_cast<std::int64_t>(i), nullptr, v.items[i]});
  add_entries(v.entries, false);
  add_entries(v.attributes, true);
  if (v.kind == ValueKind::kObject) {
    if (v.args && !(v.args->kind == ValueKind::kTuple && v.args->items.empty())) out.push_back({Via::kArgs, 0, nullptr, v.args});
    if (v.state) {
      if (v.state->kind == ValueKind::kDict) {
        add_entries(v.state->entries, true);
      } else {
        out.push_back({Via::kState, 0, nullptr, v.state});
      }
    }
  }
  return out;
}

std::vector<ValueChild> children_of(const Value& v) {
  std::vector<ValueChild> out;
  for (const ChildRef& c : child_refs_of(v)) out.push_back({c.component(), c.value});
  return out;
}

}  // namespace ckpt
