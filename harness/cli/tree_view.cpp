#include "cli/tree_view.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "cli/value_text.hpp"
#include "reader/checkpoint_summary.hpp"
#include "reader/dcp_layout.hpp"
#include "reader/training_state.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
class TreeWriter {
 public:
  TreeWriter(std::ostream& out, const TreeViewOptions& options, const CheckpointSummary& summary,
             const std::vector<SecurityFinding>& findings)
      : out_(out), options_(options), summary_(summary) {
    for (const auto& f : findings) flagged_paths_.insert(f.path);
  }

  void node(const Value& v, const Path& path, const std::string& indent, std::size_t depth) {
    out_ << describe(v, path) << "\n";
    if (!v.is_container() || depth >= options_.max_depth) return;
    OptimizerSummary opt;
    if (!options_.expand_optimizers && (summarize_optimizer(v, opt) || !describe_training_state(v).empty())) return;
    const std::vector<ValueChild> children = children_of(v);
    const std::size_t shown = std::min(children.size(), options_.max_children);
    for (std::size_t i = 0; i < shown; ++i) {
      const bool last = i + 1 == children.size();
      const Path child = child_path(path, children[i].component);
      out_ << indent << (last ? "└─ " : "├─ ") << label(children[i].component) << ": ";
      node(*children[i].value, child, indent + (last ? "   " : "│  "), depth + 1);
    }
    if (shown < children.size()) out_ << indent << "└─ ... and " << format_count(children.size() - shown) << " more\n";
  }

 private:
  static std::string label(const PathComponent& c) {
    switch (c.kind) {
      case PathComponent::Kind::kKey: return python_quote(c.key);
      case PathComponent::Kind::kIntKey:
      case PathComponent::Kind::kIndex: return std::to_string(c.number);
      case PathComponent::Kind::kOther: return c.key;
    }
    return "";
  }

  std::string tensor_text(const TensorRef& t) const {
    std::string s = std::string(dtype_name(t.dtype)) + " " + format_shape(t.sizes) + "  " + format_bytes(t.nbytes());
    if (std::string kind = t.kind_note(); !kind.empty()) s += "  (" + kind + ")";
    if (t.is_parameter) s += "  Parameter";
    if (t.requires_grad) s += "  requires_grad";
    if (!t.is_sparse() && !t.is_contiguous()) s += "  strides " + format_shape(t.strides);
    if (t.storage) {
      auto it = summary_.tensors_per_storage.find(t.storage.get());
      if (it != summary_.tensors_per_storage.end() && it->second > 1) {
        s += "  shares storage '" + t.storage->key + "' with " + std::to_string(it->second - 1) + " other";
      }
      if (t.storage_offset != 0) s += "  offset " + std::to_string(t.storage_offset);
      if (t.storage->location != "cpu") s += "  saved on " + t.storage->location + " (read to CPU)";
    }
    return s;
  }

  std::string describe(const Value& v, const Path& path) const {
    std::string flag = flagged_paths_.count(path.str()) ? "  !! security finding" : "";
    if (std::string state = describe_training_state(v); !state.empty()) return state + flag;
    switch (v.kind) {
      case ValueKind::kTensor: return tensor_text(v.tensor);
      case ValueKind::kStorage: return "storage " + tensor_text(v.tensor);
      case ValueKind::kNdarray: return "numpy." + v.ndarray->dtype + " array " + format_shape(v.ndarray->shape);
      case ValueKind::kDict: {
        OptimizerSummary opt;
        if (summarize_optimizer(v, opt)) {
          std::string s = "optimizer state dict" + (opt.likely_class.empty() ? "" : " (" + opt.likely_class + ")") + ": " +
                          std::to_string(opt.groups) + (opt.groups == 1 ? " group, " : " groups, ") +
                          std::to_string(opt.params) + " params, state for " + std::to_string(opt.params_with_state);
          if (!opt.state_keys.empty()) s += " (" + opt.state_keys + ")";
          if (const Value* groups = v.find("param_groups"); groups && !groups->items.empty()) {
            std::vector<std::string> hyper;
            for (const auto& e : groups->items[0]->entries) {
              if (e.key->kind == ValueKind::kStr && e.key->text != "params") hyper.push_back(e.key->text + "=" + format_scalar(*e.value, 30));
            }
            if (!hyper.empty()) s += "; group 0: " + comma_list(hyper);
          }
          return s;
        }
        std::string s = std::string(v.ordered ? "OrderedDict" : "dict") + " (" + std::to_string(v.entries.size()) +
                        (v.entries.size() == 1 ? " entry)" : " entries)");
        if (v.metadata()) s += " state dict";
        return s + flag;
      }
      case ValueKind::kTuple:
      case ValueKind::kList:
      case ValueKind::kSet: {
        bool all_scalar = true;
        for (const Value* i : v.items) all_scalar = all_scalar && !i->is_container() && i->kind != ValueKind::kTensor;
        std::string type = v.note.empty() ? to_string(v.kind) : v.note;
        if (all_scalar && v.items.size() <= 16) return type + " " + format_scalar(v);
        return type + " (" + std::to_string(v.items.size()) + " items)";
      }
      case ValueKind::kObject: return "object " + v.text + flag;
      case ValueKind::kGlobal: return "global " + v.text + flag;
      default: {
        std::string type = v.note.empty() ? to_string(v.kind) : v.note;
        return type + " " + format_scalar(v);
      }
    }
  }

  std::ostream& out_;
  const TreeViewOptions& options_;
  const CheckpointSummary& summary_;
  std::unordered_set<std::string> flagged_paths_;
};
}  // namespace

void write_tree_view(std::ostream& out, const Checkpoint& ckpt, const TreeViewOptions& options) {
  const CheckpointSummary summary = summarize(ckpt.root());
  out << ckpt.file() << "\n";
  TreeWriter(out, options, summary, ckpt.findings()).node(ckpt.root(), Path(), "", 0);

  std::string format = to_string(ckpt.format());
  auto version = ckpt.properties().find("version");
  if (version != ckpt.properties().end()) format += " (format version " + version->second + ")";
  out << "summary: " << format << ", " << format_count(summary.tensors) << " tensors, "
      << format_count(summary.elements) << " elements (" << format_count(summary.parameter_elements)
      << " in Parameters), " << format_bytes(summary.storage_bytes) << " in " << format_count(summary.storages)
      << " storages, file " << format_bytes(ckpt.file_bytes()) << "\n";
  if (ckpt.findings().empty()) {
    out << "security: no findings (only allow-listed globals)\n";
  } else {
    out << "security: " << ckpt.findings().size() << " finding(s), nothing was executed\n";
    for (const auto& f : ckpt.findings()) {
      const bool allowed = std::find(options.allowed_globals.begin(), options.allowed_globals.end(), f.global) !=
                           options.allowed_globals.end();
      out << "  " << (f.dangerous ? "DANGEROUS " : "") << f.message() << (allowed ? " [allowed by config]" : "") << "\n";
    }
  }
}

void write_dcp_layout(std::ostream& out, const Checkpoint& ckpt, const std::vector<IntegrityFinding>& integrity) {
  const std::vector<DcpFileChunks> files = dcp_file_chunks(ckpt.root());
  std::size_t chunks = 0;
  out << "files: " << files.size() << " with tensor records\n";
  for (const DcpFileChunks& f : files) {
    std::set<std::string> tensors(f.tensors.begin(), f.tensors.end());
    out << "  " << f.file << ": " << counted(f.chunks.size(), "chunk") << " of " << counted(tensors.size(), "tensor") << ", "
        << format_bytes(f.record_bytes) << " of records\n";
    chunks += f.chunks.size();
  }
  const std::size_t tensors = chunked_tensors(ckpt.root()).size();
  if (integrity.empty()) {
    out << "coverage: the chunks of every tensor tile its shape, and every record reads as its chunk ("
        << counted(tensors, "tensor") << ", " << counted(chunks, "chunk") << ")\n";
    return;
  }
  out << "integrity: " << integrity.size() << " finding(s); the rest of the checkpoint reads\n";
  for (const IntegrityFinding& f : integrity) out << "  " << f.message() << "\n";
}

}  // namespace ckpt
