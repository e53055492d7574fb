#include "engines/cpu/silu_kernel.h"

#include <cstdint>
#include <cstring>

namespace accel {
namespace {

// GCC/Clang vector extensions: eight lanes, lowered to whatever SIMD the target has (two SSE registers on
// baseline x86-64, one AVX register in the AVX2 copy, two NEON registers on arm64). Written with
// explicit vectors because the auto-vectoriser leaves a loop with float comparisons scalar unless
// -fno-trapping-math is set.
// The vector helpers are internal and inlined, so GCC's note that 32-byte vector arguments have another ABI
// without AVX (-Wpsabi) does not concern them.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Floats __attribute__((vector_size(32)));
typedef int32_t Ints __attribute__((vector_size(32)));

// exp(x) for x in [-87, 88]: x = n ln2 + r, exp(x) = 2^n exp(r). Rounding by adding and subtracting
// 1.5 * 2^23 (valid for |x log2 e| < 2^22) keeps it branch-free; the caller clamps x.
inline Floats ExpClamped(Floats x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.f;
  const Floats n = (x * kLog2e + kRound) - kRound;
  const Floats r = (x - n * kLn2Hi) - n * kLn2Lo;
  // Taylor series of exp(r) to r^6: |r| <= 0.35, truncation error < 2e-7 relative.
  Floats p = r * (1.f / 720) + 1.f / 120;
  p = p * r + 1.f / 24;
  p = p * r + 1.f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const Ints e = (__builtin_convertvector(n, Ints) + 127) << 23;
  Floats scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

inline Floats SiluLanes(Floats x) {
  Floats m = -x;
  // exp's valid range; beyond it the result is x (x large) or 0 (x very negative) anyway. NaN stays NaN
  // through x / (...).
  m = m < -87.f ? Floats{} - 87.f : m;
  m = m > 88.f ? Floats{} + 88.f : m;
  return x / (1.f + ExpClamped(m));
}

// The loop, inlined into each target's copy below.
__attribute__((always_inline)) inline void SiluLoopBody(const float* src, float* dst, size_t n) {
  constexpr size_t kLanes = sizeof(Floats) / sizeof(float);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Floats x;
    std::memcpy(&x, src + i, sizeof x);
    const Floats y = SiluLanes(x);
    std::memcpy(dst + i, &y, sizeof y);
  }
  if (i < n) {  // the tail, through one zero-padded vector
    Floats x{};
    std::memcpy(&x, src + i, (n - i) * sizeof(float));
    const Floats y = SiluLanes(x);
    std::memcpy(dst + i, &y, (n - i) * sizeof(float));
  }
}

void SiluLoopDefault(const float* src, float* dst, size_t n) { SiluLoopBody(src, dst, n); }

using SiluLoopFn = void (*)(const float*, float*, size_t);

// On x86-64 a second copy for AVX2+FMA, chosen once at the first call from what the CPU reports. (Not
// GCC's target_clones: its ifunc resolver runs while the dynamic loader relocates, before a sanitizer's
// runtime is set up, and crashed every TSan/ASan test program at start.)
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void SiluLoopAvx2(const float* src, float* dst, size_t n) {
  SiluLoopBody(src, dst, n);
}

SiluLoopFn PickSiluLoop() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &SiluLoopAvx2 : &SiluLoopDefault;
}
#else
SiluLoopFn PickSiluLoop() { return &SiluLoopDefault; }
#endif

}  // namespace

void Silu(const float* src, float* dst, size_t n) {
  static const SiluLoopFn loop = PickSiluLoop();
  loop(src, dst, n);
}

}  // namespace accel
