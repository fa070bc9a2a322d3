// Processes that work together (issue 13 §6): a thin layer over torch.distributed's c10d, the
// engine that ships with LibTorch. A TCPStore on the master address is the rendezvous; Gloo
// carries the collectives. cimkit's messages between processes are small CPU byte strings (a
// round of candidates, their records, the base model once), so Gloo carries them on CPU and GPU
// machines alike; NCCL moves CUDA tensors and would bring nothing here.
//
// The launch follows torchrun's convention: every process runs the same command with its rank;
// WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT in the environment, or the command's flags.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cimkit::dist {

struct GroupOptions {
  int world_size = 1;                  // 1: no group, this process alone
  int rank = 0;                        // 0 .. world_size-1; rank 0 hosts the store
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_s = 3600.0;           // the longest any collective may wait (training on rank 0 included)

  // Fills what `flags` left unset (world_size 0, rank -1, empty address, port 0) from the
  // environment (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT), then the defaults above; Error
  // naming the flag or variable when a value is out of range or not a number.
  static GroupOptions resolve(const GroupOptions& flags);
  bool distributed() const { return world_size > 1; }
};

// True when this build has c10d's Gloo process group (headers of libgloo-dev at configure time).
bool available();

class ProcessGroup {
 public:
  // Connects to every other rank (blocks until all have joined or the timeout passes). Error
  // when the build has no Gloo, the address does not resolve or the rendezvous times out.
  explicit ProcessGroup(const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return options_.rank; }
  int size() const { return options_.world_size; }

  // `bytes` of rank `root` replaces every other rank's (any length, binary safe).
  void broadcast(std::string& bytes, int root = 0);
  // Every rank's `bytes`, in rank order, on every rank.
  std::vector<std::string> allgather(const std::string& bytes);
  void barrier();
  // Sums `t` (a contiguous CPU float or double tensor) over every rank, in place, on every rank.
  void allreduce_sum(torch::Tensor& t);

 private:
  struct Impl;
  GroupOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cimkit::dist
