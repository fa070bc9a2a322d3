// Precompiled header: the slow third-party headers every cimkit file uses.
#pragma once
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
