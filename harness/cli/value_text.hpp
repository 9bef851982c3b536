#pragma once
// Short human renderings of values shared by the console views.
#include <cstdint>
#include <string>

#include "reader/value.hpp"

namespace ckpt {

std::string format_bytes(std::uint64_t bytes);   // "3.0 KiB"
std::string format_count(std::uint64_t n);       // "12,345"
std::string format_float(double v);              // shortest round-trip: 0.1, 1e-08, nan
// A one-line rendering of a scalar or small value: 7, 0.5, 'text', (0.5, 0.999), None.
std::string format_scalar(const Value& v, std::size_t max_chars = 80);

}  // namespace ckpt
