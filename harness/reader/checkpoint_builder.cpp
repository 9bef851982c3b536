#include "reader/checkpoint_builder.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "reader/known_globals.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

CheckpointBuilder::CheckpointBuilder(std::string file, CheckpointFormat format, std::uint64_t file_bytes) {
  checkpoint_.file_ = std::move(file);
  checkpoint_.format_ = format;
  checkpoint_.file_bytes_ = file_bytes;
  checkpoint_.arena_ = std::make_shared<ValueArena>();
}

void CheckpointBuilder::add_unknown_globals(const std::vector<GlobalReference>& globals, const std::string& pickle) {
  for (const auto& g : globals) globals_.push_back({g, pickle});
}

void CheckpointBuilder::adopt(Checkpoint part, const std::string& path) {
  checkpoint_.adopted_arenas_.push_back(part.arena_);
  for (SecurityFinding f : part.findings()) {
    if (!f.path.empty()) f.path = path + f.path;
    f.pickle = part.file() + " " + f.pickle;
    adopted_findings_.push_back(std::move(f));
  }
}

namespace {
struct VisitState {
  bool on_stack = false;
  bool done = false;
  std::uint64_t expanded = 0;
  std::size_t height = 0;  // values on the longest path down from this one, itself included
};

// A level of the walk holds how it was reached, not its path: a deep tree under a long
// shared key would otherwise hold that key once per level at every level.
struct Frame {
  const Value* value;
  ChildRef via;  // unused for the root
  std::vector<ChildRef> children;
  std::size_t next = 0;
  std::uint64_t expanded = 1;
  std::size_t height = 1;
};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out;
  return __builtin_add_overflow(a, b, &out) ? ~std::uint64_t{0} : out;
}
}  // namespace

// One iterative depth-first pass over the finished tree: rejects cycles, excessive nesting
// and shared-reference bombs (so every later recursive walker is safe), checks each tensor
// view against its storage, and places security findings at their paths.
Checkpoint CheckpointBuilder::finish(const ReadOptions& options) {
  const std::string& file = checkpoint_.file_;
  if (!checkpoint_.root_) throw ReadError(ReadErrorKind::kPickle, file, "", "checkpoint has no root value");

  std::unordered_map<const Value*, VisitState> visits;
  std::unordered_set<std::string> unknown_names;
  for (const auto& g : globals_) unknown_names.insert(g.ref.name);
  std::unordered_set<std::string> placed_names;
  std::vector<std::pair<std::string, std::string>> occurrences;  // (global, path) in tree order

  std::vector<Frame> stack;
  // The path of the top frame's child `child` (or of the top frame when null), rendered
  // from the frames on demand.
  auto path_of = [&stack](const ChildRef* child) {
    const std::size_t levels = (stack.empty() ? 0 : stack.size() - 1) + (child ? 1 : 0);
    return Path::render(levels, [&](std::size_t i) { return i + 1 < stack.size() ? stack[i + 1].via.component() : child->component(); });
  };

  auto enter = [&](const Value* v, const ChildRef* child) -> bool {
    VisitState& st = visits[v];
    if (st.on_stack) {
      throw ReadError(ReadErrorKind::kPickle, file, path_of(child), "recursive structure: this value contains itself");
    }
    if (st.done) return false;
    if (v->kind == ValueKind::kTensor) {
      std::string problem = check_view_within_storage(v->tensor);
      if (!problem.empty()) throw ReadError(ReadErrorKind::kTensor, file, path_of(child), problem);
      const std::string& subclass = v->tensor.python_class;  // an unknown tensor subclass: found where it is used
      if (!subclass.empty() && unknown_names.count(subclass)) {
        occurrences.emplace_back(subclass, path_of(child));
        placed_names.insert(subclass);
      }
    }
    if ((v->kind == ValueKind::kObject || v->kind == ValueKind::kGlobal) && unknown_names.count(v->text)) {
      occurrences.emplace_back(v->text, path_of(child));
      placed_names.insert(v->text);
    }
    st.on_stack = true;
    return true;
  };

  enter(checkpoint_.root_, nullptr);
  stack.push_back({checkpoint_.root_, {}, child_refs_of(*checkpoint_.root_)});
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next < top.children.size()) {
      const ChildRef child = top.children[top.next++];
      if (enter(child.value, &child)) {
        if (stack.size() >= options.max_depth) {
          throw ReadError(ReadErrorKind::kLimit, file, path_of(&child),
                          "containers nested deeper than " + std::to_string(options.max_depth) + " levels");
        }
        stack.push_back({child.value, child, child_refs_of(*child.value)});
      } else {
        // Met again through a shared reference: its whole subtree now hangs below this path.
        const VisitState& shared = visits[child.value];
        if (stack.size() + shared.height > options.max_depth) {
          throw ReadError(ReadErrorKind::kLimit, file, path_of(&child),
                          "containers nested deeper than " + std::to_string(options.max_depth) + " levels");
        }
        top.expanded = saturating_add(top.expanded, shared.expanded);
        top.height = std::max(top.height, shared.height + 1);
      }
      continue;
    }
    VisitState& st = visits[top.value];
    st.on_stack = false;
    st.done = true;
    st.expanded = top.expanded;
    st.height = top.height;
    if (top.expanded > options.max_expanded_values) {
      throw ReadError(ReadErrorKind::kLimit, file, path_of(nullptr),
                      "shared references expand to more than " + std::to_string(options.max_expanded_values) +
                          " values (a reference bomb?)");
    }
    const std::uint64_t expanded = top.expanded;
    const std::size_t height = top.height;
    stack.pop_back();
    if (!stack.empty()) {
      stack.back().expanded = saturating_add(stack.back().expanded, expanded);
      stack.back().height = std::max(stack.back().height, height + 1);
    }
  }

  std::unordered_map<std::string, const PendingGlobal*> first_use;
  for (const auto& g : globals_) first_use.emplace(g.ref.name, &g);
  for (const auto& [name, path] : occurrences) {
    const PendingGlobal& g = *first_use.at(name);
    checkpoint_.findings_.push_back({name, path, g.ref.offset, g.pickle, is_dangerous_global(name)});
  }
  for (const auto& g : globals_) {  // named by the pickle, but not reachable from the root
    if (placed_names.insert(g.ref.name).second) {
      checkpoint_.findings_.push_back({g.ref.name, "", g.ref.offset, g.pickle, is_dangerous_global(g.ref.name)});
    }
  }
  for (auto& f : adopted_findings_) checkpoint_.findings_.push_back(std::move(f));
  return std::move(checkpoint_);
}

}  // namespace ckpt
