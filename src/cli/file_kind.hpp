// What a YAML file given on the command line holds, judged by its top-level keys, so that a file
// given in the wrong place gets "FILE looks like a floorplan ...; use --floorplan FILE" rather
// than an "unknown key" error from the loader that expected something else.
#pragma once
#include <map>
#include <string>

namespace cimkit::cli {

enum class FileKind {
  Unknown,    // unreadable, not YAML, not a map, or keys of no kind (the loader will say why)
  Config,     // a run / cost / thermal config: chip, arch, cost, thermal, model, data, ...
  Floorplan,  // a thermal problem: die, blocks
  LayerList,  // a network's layer list: layers (and input)
};

FileKind guess_file_kind(const std::string& path);

// Throws Error when `path` holds a kind other than `expected` that has an entry in `hints` (the
// kind -> how to give the file instead, e.g. "use --floorplan FILE"), naming the keys seen.
// Silent when the file holds `expected` or cannot be judged.
void refuse_misplaced_file(const std::string& path, FileKind expected, const std::map<FileKind, std::string>& hints);

}  // namespace cimkit::cli
