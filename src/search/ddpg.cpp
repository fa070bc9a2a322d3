// The `ddpg` strategy (issue 13; paper 000 §III.C, HAQ's agent: docs/reference algorithms.md
// §1.2–1.7). One episode is one candidate: a step per decision of SearchSpace::steps() (weight
// bits, then activation bits, layer by layer), the state being the step's normalised static
// features and the previous action, the action the actor's sigmoid output with truncated-normal
// exploration on [0, 1]. Every transition of an episode gets the episode's reward (γ = 1, a
// moving-average baseline subtracted), and after the warm-up episodes (uniform random actions)
// each reported episode makes one update per transition.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "search/strategy.hpp"

namespace cimkit::search {
namespace {

namespace nn = torch::nn;

// Paper 000 §IV.A: actor and critic of two 400-unit layers (the critic's state and action
// branches, summed), then 300, then 1.
struct ActorImpl : nn::Module {
  nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr};
  ActorImpl(int64_t s, int64_t h1, int64_t h2) {
    l1 = register_module("l1", nn::Linear(s, h1));
    l2 = register_module("l2", nn::Linear(h1, h2));
    l3 = register_module("l3", nn::Linear(h2, 1));
  }
  torch::Tensor forward(const torch::Tensor& s) { return torch::sigmoid(l3(torch::relu(l2(torch::relu(l1(s)))))); }
};
TORCH_MODULE(Actor);

struct CriticImpl : nn::Module {
  nn::Linear fs{nullptr}, fa{nullptr}, l2{nullptr}, l3{nullptr};
  CriticImpl(int64_t s, int64_t h1, int64_t h2) {
    fs = register_module("fs", nn::Linear(s, h1));
    fa = register_module("fa", nn::Linear(1, h1));
    l2 = register_module("l2", nn::Linear(h1, h2));
    l3 = register_module("l3", nn::Linear(h2, 1));
  }
  torch::Tensor forward(const torch::Tensor& s, const torch::Tensor& a) {
    return l3(torch::relu(l2(torch::relu(fs(s) + fa(a)))));
  }
};
TORCH_MODULE(Critic);

// PyTorch's default Linear initialisation (uniform ±1/sqrt(fan_in)), drawn from our stream.
void init_from(nn::Module& m, at::Generator& g) {
  torch::NoGradGuard no_grad;
  for (auto& child : m.modules(/*include_self=*/false)) {
    if (auto* lin = child->as<nn::Linear>()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1)));
      lin->weight.uniform_(-bound, bound, g);
      lin->bias.uniform_(-bound, bound, g);
    }
  }
}

void copy_params(nn::Module& to, const nn::Module& from) {
  torch::NoGradGuard no_grad;
  auto t = to.parameters();
  auto f = from.parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].copy_(f[i]);
}

void soft_update(nn::Module& target, const nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  auto s = source.parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(1.0 - tau).add_(s[i], tau);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

class DdpgStrategy : public Strategy {
 public:
  explicit DdpgStrategy(const Params& p)
      : h1_(p.get_int("hidden1")),
        h2_(p.get_int("hidden2")),
        lr_actor_(p.get_real("lr_actor")),
        lr_critic_(p.get_real("lr_critic")),
        tau_(p.get_real("tau")),
        gamma_(p.get_real("discount")),
        batch_(p.get_int("batch_size")),
        replay_per_step_(p.get_int("replay_per_step")),
        warmup_(p.get_int("warmup_episodes")),
        sigma0_(p.get_real("noise_sigma")),
        sigma_decay_(p.get_real("noise_decay")),
        alpha_(p.get_real("baseline_alpha")) {}

  static Schema schema() {
    Schema s("ddpg", "DDPG agent choosing each layer's bits in turn (paper 000 §III.C; HAQ's agent and defaults)");
    s.integer("hidden1", "Units of the first layer of actor and critic (paper 000 §IV.A: 400)").range(1, 4096).def(int64_t{400});
    s.integer("hidden2", "Units of the second layer (paper 000 §IV.A: 300)").range(1, 4096).def(int64_t{300});
    s.real("lr_actor", "Adam learning rate of the actor (HAQ: 1e-4)").above(0).def(1e-4);
    s.real("lr_critic", "Adam learning rate of the critic (HAQ: 1e-3)").above(0).def(1e-3);
    s.real("tau", "Soft target update rate per update (HAQ: 0.01)").range(0, 1).def(0.01);
    s.real("discount", "Discount between the steps of an episode (HAQ: 1)").range(0, 1).def(1.0);
    s.integer("batch_size", "Transitions per update (HAQ: 64)").range(1, 65536).def(int64_t{64});
    s.integer("replay_per_step", "Replay capacity in episodes: capacity = this x steps per episode (HAQ: 128)")
        .range(1, 1000000)
        .def(int64_t{128});
    s.integer("warmup_episodes", "Episodes of uniform random actions before learning starts (HAQ: 20)")
        .range(0, 1000000)
        .def(int64_t{20});
    s.real("noise_sigma", "Initial sigma of the truncated-normal exploration on [0, 1] (HAQ: 0.5)").at_least(0).def(0.5);
    s.real("noise_decay", "Sigma's factor per episode after the warm-up (HAQ: 0.99)").range(0, 1).def(0.99);
    s.real("baseline_alpha", "Rate of the moving-average reward baseline (HAQ: 0.5)").range(0, 1).def(0.5);
    return s;
  }

  void start(const SearchSpace& space, uint64_t seed) override {
    space_ = space;
    features_ = space.static_features();
    n_steps_ = features_.size(0);
    state_dim_ = SearchSpace::kStaticFeatures + 1;
    gen_ = make_generator(derive_seed(seed, "strategy_ddpg"));
    actor_ = Actor(state_dim_, h1_, h2_);
    critic_ = Critic(state_dim_, h1_, h2_);
    actor_target_ = Actor(state_dim_, h1_, h2_);
    critic_target_ = Critic(state_dim_, h1_, h2_);
    init_from(*actor_, gen_);
    init_from(*critic_, gen_);
    copy_params(*actor_target_, *actor_);
    copy_params(*critic_target_, *critic_);
    actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(), torch::optim::AdamOptions(lr_actor_));
    critic_opt_ = std::make_unique<torch::optim::Adam>(critic_->parameters(), torch::optim::AdamOptions(lr_critic_));
    const int64_t cap = replay_per_step_ * n_steps_;
    rs_ = torch::zeros({cap, state_dim_});
    ra_ = torch::zeros({cap, 1});
    rr_ = torch::zeros({cap, 1});
    rs2_ = torch::zeros({cap, state_dim_});
    rd_ = torch::zeros({cap, 1});
    replay_pos_ = replay_size_ = 0;
    next_id_ = reported_ = 0;
    baseline_ = 0.0;
    pending_.clear();
  }

  Candidate propose() override {
    const int64_t id = next_id_++;
    const bool explore_uniform = id < warmup_;
    const double sigma = sigma0_ * std::pow(sigma_decay_, static_cast<double>(std::max<int64_t>(0, id - warmup_)));
    Episode ep;
    ep.states = torch::zeros({n_steps_, state_dim_});
    std::vector<double> actions;
    double prev = 1.0;  // HAQ's first "previous action": the widest choice
    for (int64_t k = 0; k < n_steps_; ++k) {
      torch::Tensor s = state(k, prev);
      ep.states[k].copy_(s);
      double a;
      if (explore_uniform) {
        a = at::rand({1}, gen_, torch::kFloat64).item<double>();
      } else {
        torch::NoGradGuard no_grad;
        a = truncated_normal(actor_->forward(s.unsqueeze(0)).item<double>(), sigma);
      }
      actions.push_back(a);
      prev = a;
    }
    ep.actions = torch::tensor(actions, torch::kFloat32).unsqueeze(1);
    pending_[id] = ep;
    return candidate_from_actions(space_, actions, id);
  }

  void report(const Candidate& c, double reward) override {
    auto it = pending_.find(c.id);
    if (it == pending_.end()) {
      throw Error(fmt::format("strategy ddpg: candidate {} was not proposed or was already reported", c.id));
    }
    if (!std::isfinite(reward)) throw Error(fmt::format("strategy ddpg: candidate {} has a non-finite reward", c.id));
    const Episode ep = it->second;
    pending_.erase(it);
    for (int64_t k = 0; k < n_steps_; ++k) {
      const bool done = k + 1 == n_steps_;
      const int64_t i = replay_pos_;
      rs_[i].copy_(ep.states[k]);
      ra_[i].copy_(ep.actions[k]);
      rr_[i].fill_(reward);
      if (done) {
        rs2_[i].zero_();
      } else {
        rs2_[i].copy_(ep.states[k + 1]);
      }
      rd_[i].fill_(done ? 1.0 : 0.0);
      replay_pos_ = (replay_pos_ + 1) % rs_.size(0);
      replay_size_ = std::min(replay_size_ + 1, rs_.size(0));
    }
    if (reported_++ >= warmup_) {
      for (int64_t k = 0; k < n_steps_; ++k) update();
    }
  }

  // Warm-up proposals draw uniform actions from the stream that reports never touch, so all of
  // them may be outstanding at once; after the warm-up each proposal needs the actor that the
  // previous reports trained.
  int64_t proposable() const override {
    if (next_id_ < warmup_) return warmup_ - next_id_;
    return pending_.empty() ? 1 : 0;
  }

  Candidate best_guess() override {
    torch::NoGradGuard no_grad;
    std::vector<double> actions;
    double prev = 1.0;
    for (int64_t k = 0; k < n_steps_; ++k) {
      prev = actor_->forward(state(k, prev).unsqueeze(0)).item<double>();
      actions.push_back(prev);
    }
    return candidate_from_actions(space_, actions, -1);
  }

  void save(torch::serialize::OutputArchive& a) const override {
    if (!pending_.empty()) throw Error("strategy ddpg: a checkpoint needs every proposed candidate reported");
    auto sub = [&](const std::string& key, auto&& write) {
      torch::serialize::OutputArchive s;
      write(s);
      a.write(key, s);
    };
    sub("ddpg.actor", [&](auto& s) { actor_->save(s); });
    sub("ddpg.critic", [&](auto& s) { critic_->save(s); });
    sub("ddpg.actor_target", [&](auto& s) { actor_target_->save(s); });
    sub("ddpg.critic_target", [&](auto& s) { critic_target_->save(s); });
    sub("ddpg.actor_opt", [&](auto& s) { actor_opt_->save(s); });
    sub("ddpg.critic_opt", [&](auto& s) { critic_opt_->save(s); });
    a.write("ddpg.replay.s", rs_);
    a.write("ddpg.replay.a", ra_);
    a.write("ddpg.replay.r", rr_);
    a.write("ddpg.replay.s2", rs2_);
    a.write("ddpg.replay.d", rd_);
    save_int(a, "ddpg.replay.pos", replay_pos_);
    save_int(a, "ddpg.replay.size", replay_size_);
    save_int(a, "ddpg.next_id", next_id_);
    save_int(a, "ddpg.reported", reported_);
    a.write("ddpg.baseline", torch::tensor({baseline_}, torch::kFloat64));
    save_generator(a, "ddpg.generator", gen_);
  }

  void load(torch::serialize::InputArchive& a) override {
    auto sub = [&](const std::string& key, auto&& read) {
      torch::serialize::InputArchive s;
      a.read(key, s);
      read(s);
    };
    sub("ddpg.actor", [&](auto& s) { actor_->load(s); });
    sub("ddpg.critic", [&](auto& s) { critic_->load(s); });
    sub("ddpg.actor_target", [&](auto& s) { actor_target_->load(s); });
    sub("ddpg.critic_target", [&](auto& s) { critic_target_->load(s); });
    sub("ddpg.actor_opt", [&](auto& s) { actor_opt_->load(s); });
    sub("ddpg.critic_opt", [&](auto& s) { critic_opt_->load(s); });
    for (auto [key, t] : {std::pair{"ddpg.replay.s", &rs_}, {"ddpg.replay.a", &ra_}, {"ddpg.replay.r", &rr_},
                          {"ddpg.replay.s2", &rs2_}, {"ddpg.replay.d", &rd_}}) {
      torch::Tensor v;
      a.read(key, v);
      if (!v.sizes().equals(t->sizes())) {
        throw Error(fmt::format("strategy ddpg: checkpoint's {} has shape [{}], this search needs [{}] (another "
                                "search space or replay size)",
                                key, fmt::join(v.sizes(), ", "), fmt::join(t->sizes(), ", ")));
      }
      t->copy_(v);
    }
    replay_pos_ = load_int(a, "ddpg.replay.pos");
    replay_size_ = load_int(a, "ddpg.replay.size");
    next_id_ = load_int(a, "ddpg.next_id");
    reported_ = load_int(a, "ddpg.reported");
    torch::Tensor b;
    a.read("ddpg.baseline", b);
    baseline_ = b.item<double>();
    load_generator(a, "ddpg.generator", gen_);
    pending_.clear();
  }

 private:
  struct Episode {
    torch::Tensor states, actions;  // [K, S], [K, 1]
  };

  torch::Tensor state(int64_t k, double prev) const {
    return torch::cat({features_[k], torch::tensor({static_cast<float>(prev)})});
  }

  // a ~ N(mu, sigma) truncated to [0, 1], by inverse CDF (HAQ: scipy's truncnorm).
  double truncated_normal(double mu, double sigma) {
    if (sigma <= 0.0) return std::clamp(mu, 0.0, 1.0);
    const double lo = normal_cdf((0.0 - mu) / sigma), hi = normal_cdf((1.0 - mu) / sigma);
    const double u = lo + (hi - lo) * at::rand({1}, gen_, torch::kFloat64).item<double>();
    if (!(hi - lo > 1e-12)) return std::clamp(mu, 0.0, 1.0);
    const double z = std::sqrt(2.0) * torch::erfinv(torch::tensor({2.0 * u - 1.0}, torch::kFloat64)).item<double>();
    return std::clamp(mu + sigma * z, 0.0, 1.0);
  }

  void update() {
    if (replay_size_ < batch_) return;
    const torch::Tensor idx = at::randint(0, replay_size_, {batch_}, gen_, torch::kInt64);
    const torch::Tensor s = rs_.index_select(0, idx), a = ra_.index_select(0, idx), r = rr_.index_select(0, idx);
    const torch::Tensor s2 = rs2_.index_select(0, idx), d = rd_.index_select(0, idx);
    baseline_ += alpha_ * (r.mean().item<double>() - baseline_);
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      y = (r - baseline_) + gamma_ * (1.0 - d) * critic_target_->forward(s2, actor_target_->forward(s2));
    }
    critic_opt_->zero_grad();
    torch::mse_loss(critic_->forward(s, a), y).backward();
    critic_opt_->step();
    actor_opt_->zero_grad();
    (-critic_->forward(s, actor_->forward(s)).mean()).backward();
    actor_opt_->step();
    soft_update(*actor_target_, *actor_, tau_);
    soft_update(*critic_target_, *critic_, tau_);
  }

  int64_t h1_, h2_;
  double lr_actor_, lr_critic_, tau_, gamma_;
  int64_t batch_, replay_per_step_, warmup_;
  double sigma0_, sigma_decay_, alpha_;

  SearchSpace space_;
  torch::Tensor features_;
  int64_t n_steps_ = 0, state_dim_ = 0;
  at::Generator gen_ = make_generator(0);
  Actor actor_{nullptr}, actor_target_{nullptr};
  Critic critic_{nullptr}, critic_target_{nullptr};
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_;
  torch::Tensor rs_, ra_, rr_, rs2_, rd_;
  int64_t replay_pos_ = 0, replay_size_ = 0, next_id_ = 0, reported_ = 0;
  double baseline_ = 0.0;
  std::map<int64_t, Episode> pending_;
};

}  // namespace
}  // namespace cimkit::search

CIMKIT_REGISTER(cimkit::search::Strategy, cimkit::search::DdpgStrategy, "ddpg",
                "DDPG agent over per-layer bit widths (paper 000; HAQ's agent and defaults)")
