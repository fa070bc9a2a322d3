#include "dist/process_group.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>

#include "core/error.hpp"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace cimkit::dist {

namespace {

int env_int(const char* name, const std::string& flag, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0') throw Error(fmt::format("environment {}='{}' is not an integer (or pass {})", name, v, flag));
  return static_cast<int>(x);
}

bool loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

}  // namespace

GroupOptions GroupOptions::resolve(const GroupOptions& flags) {
  GroupOptions o = flags;
  if (o.world_size <= 0) o.world_size = env_int("WORLD_SIZE", "--world-size", 1);
  if (o.rank < 0) o.rank = env_int("RANK", "--rank", 0);
  if (o.master_addr.empty()) {
    const char* v = std::getenv("MASTER_ADDR");
    o.master_addr = v && *v ? v : "127.0.0.1";
  }
  if (o.master_port <= 0) o.master_port = env_int("MASTER_PORT", "--master-port", 29500);
  if (o.world_size < 1) throw Error(fmt::format("--world-size / WORLD_SIZE = {}: must be at least 1", o.world_size));
  if (o.rank < 0 || o.rank >= o.world_size) {
    throw Error(fmt::format("--rank / RANK = {}: must be in 0..{} (world size {})", o.rank, o.world_size - 1, o.world_size));
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    throw Error(fmt::format("--master-port / MASTER_PORT = {}: must be in 1..65535", o.master_port));
  }
  if (!(o.timeout_s > 0.0)) throw Error(fmt::format("--dist-timeout = {}: must be > 0 seconds", o.timeout_s));
  return o;
}

#ifdef USE_C10D_GLOO

bool available() { return true; }

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const GroupOptions& options) : options_(options), impl_(std::make_unique<Impl>()) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000.0));
  const std::string where = fmt::format("{}:{}", options.master_addr, options.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = static_cast<std::size_t>(options.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
    auto go = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine the loopback device; across machines the address this host resolves to.
    go->devices.push_back(loopback(options.master_addr) ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                        : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank, options.world_size, go);
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: cannot join the process group at {} within {:.0f} s: {}", options.rank,
                            options.world_size, where, options.timeout_s, e.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::broadcast(std::string& bytes, int root) {
  try {
    std::vector<torch::Tensor> len{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    impl_->group->broadcast(len, bo)->wait();
    const int64_t n = len[0].item<int64_t>();
    torch::Tensor data = torch::empty({n}, torch::kUInt8);
    if (rank() == root && n > 0) std::memcpy(data.data_ptr(), bytes.data(), static_cast<size_t>(n));
    std::vector<torch::Tensor> v{data};
    if (n > 0) impl_->group->broadcast(v, bo)->wait();
    if (rank() != root) bytes.assign(reinterpret_cast<const char*>(data.data_ptr()), static_cast<size_t>(n));
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: broadcast from rank {} failed (did a process stop?): {}", rank(), root, e.what()));
  }
}

std::vector<std::string> ProcessGroup::allgather(const std::string& bytes) {
  try {
    const int n = size();
    std::vector<torch::Tensor> mine{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
    std::vector<std::vector<torch::Tensor>> lens(1);
    for (int r = 0; r < n; ++r) lens[0].push_back(torch::empty({1}, torch::kInt64));
    impl_->group->allgather(lens, mine)->wait();
    int64_t longest = 0;
    for (const auto& t : lens[0]) longest = std::max(longest, t.item<int64_t>());
    std::vector<std::string> out(n);
    if (longest == 0) return out;
    torch::Tensor padded = torch::zeros({longest}, torch::kUInt8);
    if (!bytes.empty()) std::memcpy(padded.data_ptr(), bytes.data(), bytes.size());
    std::vector<torch::Tensor> in{padded};
    std::vector<std::vector<torch::Tensor>> all(1);
    for (int r = 0; r < n; ++r) all[0].push_back(torch::empty({longest}, torch::kUInt8));
    impl_->group->allgather(all, in)->wait();
    for (int r = 0; r < n; ++r) {
      out[r].assign(reinterpret_cast<const char*>(all[0][r].data_ptr()), static_cast<size_t>(lens[0][r].item<int64_t>()));
    }
    return out;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: allgather failed (did a process stop?): {}", rank(), e.what()));
  }
}

void ProcessGroup::barrier() {
  try {
    impl_->group->barrier()->wait();
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: barrier failed (did a process stop?): {}", rank(), e.what()));
  }
}

void ProcessGroup::allreduce_sum(torch::Tensor& t) {
  if (!t.is_contiguous() || t.device().type() != torch::kCPU) {
    throw Error("allreduce_sum: the tensor must be a contiguous CPU tensor");
  }
  try {
    std::vector<torch::Tensor> v{t};
    impl_->group->allreduce(v)->wait();
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: allreduce failed (did a process stop?): {}", rank(), e.what()));
  }
}

#else  // no Gloo headers at configure time

bool available() { return false; }
struct ProcessGroup::Impl {};
ProcessGroup::ProcessGroup(const GroupOptions& options) : options_(options) {
  throw Error("this cimkit was built without c10d's Gloo (the headers of Debian's libgloo-dev were missing at "
              "configure time): install libgloo-dev (make deps) and rebuild to run on several processes");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::broadcast(std::string&, int) {}
std::vector<std::string> ProcessGroup::allgather(const std::string&) { return {}; }
void ProcessGroup::barrier() {}
void ProcessGroup::allreduce_sum(torch::Tensor&) {}

#endif

}  // namespace cimkit::dist
