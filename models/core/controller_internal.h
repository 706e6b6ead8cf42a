// Helpers the core controller's source files share (core_controller.cpp, _commands.cpp,
// _transfers.cpp); not part of the controller's interface.
#pragma once

#include <string>
#include <systemc>
#include <type_traits>
#include <utility>
#include <variant>

#include "models/core/program.h"

namespace cimtlm::core::internal {

inline sc_core::sc_time max_time(const sc_core::sc_time& a, const sc_core::sc_time& b) {
  return a > b ? a : b;
}

// The scoreboard tracks accumulator memory in its own address range, above every memory level.
constexpr Addr kAccumulatorSpace = Addr{1} << 62;

// The layer a command belongs to (commands without one: empty).
template <typename T, typename = void>
struct HasLayer : std::false_type {};
template <typename T>
struct HasLayer<T, std::void_t<decltype(std::declval<T>().layer)>> : std::true_type {};

inline const std::string& layer_of(const Command& command) {
  static const std::string none;
  return std::visit(
      [](const auto& c) -> const std::string& {
        if constexpr (HasLayer<std::decay_t<decltype(c)>>::value) {
          return c.layer;
        } else {
          return none;
        }
      },
      command);
}

}  // namespace cimtlm::core::internal
