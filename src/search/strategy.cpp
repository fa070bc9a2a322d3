#include "search/strategy.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::search {

Built<Strategy> make_strategy(const ConfigNode& section, const std::string& path) {
  return Registry<Strategy>::instance().create(section, path);
}

Candidate candidate_from_actions(const SearchSpace& space, const std::vector<double>& actions, int64_t id) {
  const auto steps = space.steps();
  if (actions.size() != steps.size()) {
    throw Error(fmt::format("internal: {} actions for a space of {} steps", actions.size(), steps.size()));
  }
  Candidate c;
  c.id = id;
  c.actions = actions;
  c.weight_bits.assign(space.layers.size(), 0);
  c.act_bits.assign(space.layers.size(), 0);
  for (size_t l = 0; l < space.layers.size(); ++l) c.act_bits[l] = space.layers[l].fixed_act;
  for (size_t k = 0; k < steps.size(); ++k) {
    const int b = action_to_bits(actions[k], steps[k].range(space));
    (steps[k].weight ? c.weight_bits : c.act_bits)[steps[k].layer] = b;
  }
  return c;
}

void save_generator(torch::serialize::OutputArchive& a, const std::string& key, const at::Generator& g) {
  a.write(key, g.get_state());
}

void load_generator(torch::serialize::InputArchive& a, const std::string& key, at::Generator& g) {
  torch::Tensor state;
  a.read(key, state);
  g.set_state(state);
}

void save_int(torch::serialize::OutputArchive& a, const std::string& key, int64_t v) {
  a.write(key, torch::tensor({v}, torch::kInt64));
}

int64_t load_int(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<int64_t>();
}

}  // namespace cimkit::search
