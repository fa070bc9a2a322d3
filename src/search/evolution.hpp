// Evolutionary search over discrete genes (paper 004 Algorithm 1, after SPOS's search;
// ../shared/reference/algorithms.md §3.3-3.4), in ask/tell form so the driver can spread a
// cycle's candidates over processes and checkpoint between rounds.
//
// A genome is one choice index per gene. Cycle 0 is `population` random valid genomes. When a
// cycle's genomes are all reported, the top-k set is updated (elitist across cycles: the best k
// ever seen, fitness descending, ties by first seen), and the next cycle is `crossovers`
// children of two top-k parents (each gene from either with probability 1/2) and `mutations`
// children of one (each gene redrawn uniformly with probability mutation_prob x the gene's
// mutation_scale, capped at 1), as Algorithm 1 (n = m = P/2 by default); then random genomes
// up to `population` where the operators ran out of new valid children (SPOS fills the same
// way). A genome is never proposed twice in a search (duplicates are evaluated once), and never
// when the validity check refuses it. Every draw comes from the search's own generator, so a
// seed fixes the whole search and a checkpoint resumes it bit for bit.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/params.hpp"

namespace cimkit::search {

using Genome = std::vector<int64_t>;
std::string genome_key(const Genome& g);  // "3.0.12": equal keys, equal genomes

struct Gene {
  std::string name;
  int64_t choices = 1;          // the gene takes 0 .. choices-1
  double mutation_scale = 1.0;  // its mutation probability is mutation_prob x this (capped at 1)
};

struct EvolutionOptions {
  int64_t population = 50;    // P: genomes per cycle
  int64_t top_k = 10;         // the elitist set the parents come from
  int64_t mutations = 25;     // n: mutation children per cycle
  int64_t crossovers = 25;    // m: crossover children per cycle
  double mutation_prob = 0.1;
  int64_t cycles = 20;        // cycles after which the search is done
  int64_t tries_per_child = 10;  // draws per wanted child before the operator gives up (SPOS)
  static void declare(Schema& s);  // the keys above, with Algorithm 1's defaults
  static EvolutionOptions from_params(const Params& p);  // checked; errors name the key
  // Error naming `key` for inconsistent values (top_k > population, children > population).
  void check(const std::string& key) const;
};

class Evolution {
 public:
  using Validity = std::function<bool(const Genome&)>;
  // The one genome that stands for all genomes meaning the same candidate (an architecture's
  // genome with its unused slots cleared): duplicates are recognised, and proposed, by it.
  using Canonical = std::function<Genome(const Genome&)>;
  // Error naming `key` for an empty gene list or a gene with fewer than 1 choice.
  Evolution(std::vector<Gene> genes, EvolutionOptions options, uint64_t seed, Validity valid = {},
            const std::string& key = "search", Canonical canonical = {});

  // The next genome of the current cycle, or nothing when every genome of the cycle has been
  // proposed (report them to move on) or the search is done.
  std::optional<Genome> propose();
  // Its fitness (higher is better). Error for a genome that is not outstanding.
  void report(const Genome& genome, double fitness);
  // How many more genomes the current cycle can propose now.
  int64_t proposable() const;
  bool done() const { return cycle_ >= opt_.cycles; }
  int64_t cycle() const { return cycle_; }

  struct Scored {
    Genome genome;
    double fitness;
  };
  const std::vector<Scored>& top() const { return top_; }  // fitness descending
  // Every genome evaluated so far with its fitness, in the order they were reported.
  const std::vector<Scored>& history() const { return history_; }
  const std::vector<Gene>& genes() const { return genes_; }

  // Whole state, nothing outstanding needed: a resumed search proposes what this one would.
  void save(torch::serialize::OutputArchive& a, const std::string& prefix) const;
  void load(torch::serialize::InputArchive& a, const std::string& prefix);

 private:
  Genome random_genome();
  bool fresh(const Genome& g) const;  // valid and never queued in this search
  void queue(const Genome& g);
  void next_cycle();

  std::vector<Gene> genes_;
  EvolutionOptions opt_;
  Validity valid_;
  Canonical canonical_;
  at::Generator gen_;
  int64_t cycle_ = 0;
  std::vector<Genome> population_;  // this cycle's genomes, in proposal order
  size_t proposed_ = 0;             // how many of them were proposed
  std::map<std::string, std::optional<double>> seen_;  // every queued genome; fitness once reported
  std::vector<Scored> top_, history_;
  int64_t reported_in_cycle_ = 0;
};

}  // namespace cimkit::search
