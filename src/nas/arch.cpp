#include "nas/arch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"

namespace cimkit::nas {

std::string to_string(BlockType t) {
  switch (t) {
    case BlockType::Vgg: return "VGG";
    case BlockType::Mvgg: return "MVGG";
    case BlockType::Res: return "RES";
  }
  return "?";
}

std::string Arch::key() const {
  std::vector<std::string> parts;
  for (const Block& b : blocks) parts.push_back(fmt::format("{}{}", to_string(b.type), b.channels));
  return fmt::format("{}", fmt::join(parts, "-"));
}

int64_t Arch::pools() const {
  return std::count_if(blocks.begin(), blocks.end(), [](const Block& b) { return b.type == BlockType::Vgg; });
}

int64_t ArchSpace::max_channels() const { return *std::max_element(channels.begin(), channels.end()); }

int64_t ArchSpace::max_pools() const {
  int64_t s = image_size, n = 0;
  while (s / 2 >= 2) {  // a 2x2 max-pool with stride 2 (floor), the map kept at least 2x2
    s /= 2;
    ++n;
  }
  return n;
}

void ArchSpace::check(const std::string& key) const {
  if (max_depth < 1) throw Error(fmt::format("{}.max_depth: {} (needs at least 1 block)", key, max_depth));
  if (types.empty()) throw Error(key + ".blocks: the list of block types is empty (allowed: VGG, MVGG, RES)");
  if (channels.empty()) throw Error(key + ".channels: the list of channel counts is empty");
  for (int64_t c : channels) {
    if (c < 1) throw Error(fmt::format("{}.channels: {} (channel counts must be >= 1)", key, c));
  }
  if (in_channels < 1 || n_classes < 2 || image_size < 2) {
    throw Error(fmt::format("{}: the dataset gives {} channels, {}x{} images, {} classes (needs >= 1, >= 2x2, >= 2)", key,
                            in_channels, image_size, image_size, n_classes));
  }
}

bool ArchSpace::valid(const Arch& a, std::string* why) const {
  auto no = [&](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  if (a.blocks.empty() || static_cast<int64_t>(a.blocks.size()) > max_depth) {
    return no(fmt::format("depth {} is outside 1..{}", a.blocks.size(), max_depth));
  }
  for (const Block& b : a.blocks) {
    if (std::find(types.begin(), types.end(), b.type) == types.end()) return no(to_string(b.type) + " blocks are not in the space");
    if (std::find(channels.begin(), channels.end(), b.channels) == channels.end()) {
      return no(fmt::format("{} channels is not one of the space's choices", b.channels));
    }
  }
  if (a.pools() > max_pools()) {
    return no(fmt::format("{} VGG (pooling) blocks, but {}x{} images allow at most {}", a.pools(), image_size, image_size,
                          max_pools()));
  }
  return true;
}

std::vector<search::Gene> ArchSpace::genes() const {
  std::vector<search::Gene> g{{"depth", max_depth, 1.0}};
  for (int64_t d = 0; d < max_depth; ++d) {
    g.push_back({fmt::format("block{}.type", d), static_cast<int64_t>(types.size()), 1.0});
    g.push_back({fmt::format("block{}.channels", d), static_cast<int64_t>(channels.size()), 1.0});
  }
  return g;
}

Arch ArchSpace::decode(const search::Genome& g) const {
  if (static_cast<int64_t>(g.size()) != 1 + 2 * max_depth) {
    throw Error(fmt::format("nas: a genome of {} genes for a space of depth {} (needs {})", g.size(), max_depth, 1 + 2 * max_depth));
  }
  Arch a;
  for (int64_t d = 0; d <= g[0]; ++d) {
    a.blocks.push_back({types.at(static_cast<size_t>(g[1 + 2 * d])), channels.at(static_cast<size_t>(g[2 + 2 * d]))});
  }
  return a;
}

search::Genome ArchSpace::encode(const Arch& a) const {
  std::string why;
  if (!valid(a, &why)) throw Error("nas: cannot encode " + a.key() + ": " + why);
  search::Genome g(static_cast<size_t>(1 + 2 * max_depth), 0);
  g[0] = static_cast<int64_t>(a.blocks.size()) - 1;
  for (size_t d = 0; d < a.blocks.size(); ++d) {
    g[1 + 2 * d] = std::find(types.begin(), types.end(), a.blocks[d].type) - types.begin();
    g[2 + 2 * d] = std::find(channels.begin(), channels.end(), a.blocks[d].channels) - channels.begin();
  }
  return g;
}

Arch ArchSpace::parse(const std::string& text, const std::string& key) const {
  Arch a;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('-', start), text.size());
    const std::string part = text.substr(start, end - start);
    size_t digits = part.find_first_of("0123456789");
    const std::string name = part.substr(0, digits);
    Block b;
    if (name == "VGG") {
      b.type = BlockType::Vgg;
    } else if (name == "MVGG") {
      b.type = BlockType::Mvgg;
    } else if (name == "RES") {
      b.type = BlockType::Res;
    } else {
      throw Error(fmt::format("{}: '{}' is not a block (allowed: VGG, MVGG, RES followed by channels, e.g. VGG64-RES128)", key, part));
    }
    try {
      size_t used = 0;
      b.channels = digits == std::string::npos ? 0 : std::stoll(part.substr(digits), &used);
      if (digits == std::string::npos || digits + used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error(fmt::format("{}: '{}' has no channel count (e.g. VGG64)", key, part));
    }
    a.blocks.push_back(b);
    start = end + 1;
  }
  std::string why;
  if (!valid(a, &why)) throw Error(fmt::format("{}: {} is not in the search space: {}", key, text, why));
  return a;
}

}  // namespace cimkit::nas
