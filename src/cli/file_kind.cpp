#include "cli/file_kind.hpp"

#include <algorithm>
#include <vector>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::cli {
namespace {

const std::vector<std::string> kConfigKeys = {"chip", "arch", "cost", "thermal", "model", "data", "train", "eval",
                                              "operating"};
const std::vector<std::string> kFloorplanKeys = {"die", "blocks"};
const std::vector<std::string> kLayerListKeys = {"layers"};

std::vector<std::string> present(const ConfigNode& root, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys)
    if (root.has(k)) out.push_back(k);
  return out;
}

struct Judged {
  FileKind kind = FileKind::Unknown;
  std::vector<std::string> keys;  // the keys that decided it
};

Judged judge(const std::string& path) {
  ConfigNode root;
  try {
    root = load_yaml_file(path);
  } catch (const Error&) {
    return {};
  }
  if (!root.is_map()) return {};
  const auto config = present(root, kConfigKeys), floorplan = present(root, kFloorplanKeys),
             layers = present(root, kLayerListKeys);
  const int kinds = !config.empty() + !floorplan.empty() + !layers.empty();
  if (kinds != 1) return {};
  if (!config.empty()) return {FileKind::Config, config};
  if (!floorplan.empty()) return {FileKind::Floorplan, floorplan};
  return {FileKind::LayerList, layers};
}

std::string kind_name(FileKind k) {
  switch (k) {
    case FileKind::Config: return "config";
    case FileKind::Floorplan: return "floorplan";
    case FileKind::LayerList: return "layer list";
    default: return "file of unknown kind";
  }
}

}  // namespace

FileKind guess_file_kind(const std::string& path) { return judge(path).kind; }

void refuse_misplaced_file(const std::string& path, FileKind expected, const std::map<FileKind, std::string>& hints) {
  const Judged j = judge(path);
  if (j.kind == FileKind::Unknown || j.kind == expected) return;
  const auto hint = hints.find(j.kind);
  if (hint == hints.end()) return;
  throw Error(path + " looks like a " + kind_name(j.kind) + " (it has " + join(j.keys, ", ") + "), not a " +
              kind_name(expected) + "; " + hint->second);
}

}  // namespace cimkit::cli
