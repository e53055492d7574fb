// SiLU (x * sigmoid(x), also called Swish) over a float array, written so the compiler vectorises it: a
// branch-free exp (range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial, relative error about
// 2e-7) instead of libm's scalar expf, which is what makes OpenCV 4.6's own Sigmoid and Swish layers slow.
// On x86-64 an AVX2+FMA version is chosen at run time where the CPU has it.
#pragma once

#include <cstddef>

namespace accel {

// dst[i] = src[i] / (1 + exp(-src[i])); src and dst may be the same array. NaN stays NaN. The exponent is
// clamped to exp's float range, so large x gives x and very negative x a value within 1e-8 of 0.
void Silu(const float* src, float* dst, size_t n);

}  // namespace accel
