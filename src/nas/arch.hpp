// The architecture search space of paper 004 (CrossNAS) §3.2, Fig. 4, Table 1: a network of 1 to
// `max_depth` choice blocks, each a VGG block (two 3x3 conv-BN-ReLU, then 2x2 max-pool), an MVGG
// block (the same without the pool) or a RES block (two 3x3 convs with a 1x1-conv projection
// shortcut), with 32 / 64 / 128 output channels, followed by the classifier head (adaptive
// average pooling to 2x2, FC 4·C -> 200 -> 50 -> classes, after the CrossNAS code; the paper
// says only "fully connected layers"). The input channels, size and class count come from the
// dataset.
//
// As genes for the evolutionary search: one gene for the depth (depth - 1) and, per slot, one
// for the block type and one for the channel choice; the slots beyond the depth are ignored
// (several genomes map to one architecture: the search deduplicates by the architecture's key).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "search/evolution.hpp"

namespace cimkit::nas {

enum class BlockType { Vgg, Mvgg, Res };
std::string to_string(BlockType t);  // "VGG", "MVGG", "RES"

struct Block {
  BlockType type = BlockType::Vgg;
  int64_t channels = 32;
  bool operator==(const Block& o) const { return type == o.type && channels == o.channels; }
};

struct Arch {
  std::vector<Block> blocks;
  std::string key() const;  // "VGG64-RES128-MVGG32"
  int64_t pools() const;    // VGG blocks (each halves the map)
  bool operator==(const Arch& o) const { return blocks == o.blocks; }
};

struct ArchSpace {
  int64_t max_depth = 8;
  std::vector<BlockType> types{BlockType::Vgg, BlockType::Mvgg, BlockType::Res};
  std::vector<int64_t> channels{32, 64, 128};
  int64_t in_channels = 1, image_size = 28, n_classes = 10;  // from the dataset
  int64_t head_hidden1 = 200, head_hidden2 = 50;               // CrossNAS code's head

  int64_t max_channels() const;
  // The most VGG blocks an input of image_size allows: the map must stay at least 2x2 for the
  // head's 2x2 pooling to average real pixels (28 -> 14 -> 7 -> 3 -> 1: 3 pools for 28).
  int64_t max_pools() const;
  // Error naming `key` (the config section) for an empty type or channel list, a depth of 0,
  // channels < 1, an image too small for any block.
  void check(const std::string& key) const;
  // Whether `a` fits this space (depth, types, channels, pools); `why` says what is wrong.
  bool valid(const Arch& a, std::string* why = nullptr) const;

  std::vector<search::Gene> genes() const;        // depth, then (type, channels) per slot
  Arch decode(const search::Genome& g) const;     // the first depth slots
  search::Genome encode(const Arch& a) const;     // unused slots 0
  // "VGG64-RES128" -> Arch; Error naming `key` for an unknown block or channel count.
  Arch parse(const std::string& text, const std::string& key) const;
};

}  // namespace cimkit::nas
