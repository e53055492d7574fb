// The xnnpack runtime (xnnpack_net.h) op by op: small ONNX graphs built here, run on random tensors, against
// naive NCHW references written in this file. Covers convolution with groups, strides, pads and dilations
// (depthwise included), SiLU (fused from Sigmoid * x) and Sigmoid, Add, Mul, MaxPool with pads (and the
// SPP cascade), nearest resize, concatenation through pixel strides (and the copy where a producer cannot
// write into its slot), the detection head's Reshape/Concat/Transpose, and the refusals.
#include "engines/cpu/xnnpack_net.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "onnx_test_builder.h"

namespace accel {
namespace {

using onnx_test::GraphBuilder;
using onnx_test::Int;
using onnx_test::Ints;
using onnx_test::Str;

// ---- NCHW references ----------------------------------------------------------------------------------

struct Nchw {
  int64_t c = 0, h = 0, w = 0;
  std::vector<float> v;
  float& at(int64_t ch, int64_t y, int64_t x) { return v[(ch * h + y) * w + x]; }
  float at(int64_t ch, int64_t y, int64_t x) const { return v[(ch * h + y) * w + x]; }
};

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

Nchw Conv(const Nchw& in, const std::vector<float>& w, const std::vector<float>& b, int64_t out_c, int64_t kh,
          int64_t kw, int64_t group, std::array<int64_t, 2> stride, std::array<int64_t, 4> pads,
          std::array<int64_t, 2> dil) {
  Nchw out;
  out.c = out_c;
  out.h = (in.h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / stride[0] + 1;
  out.w = (in.w + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / stride[1] + 1;
  out.v.assign(out.c * out.h * out.w, 0);
  const int64_t cin_g = in.c / group, cout_g = out_c / group;
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t y = 0; y < out.h; ++y)
      for (int64_t x = 0; x < out.w; ++x) {
        double sum = b.empty() ? 0 : b[o];
        const int64_t g = o / cout_g;
        for (int64_t ci = 0; ci < cin_g; ++ci)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t iy = y * stride[0] - pads[0] + i * dil[0],
                            ix = x * stride[1] - pads[1] + j * dil[1];
              if (iy < 0 || ix < 0 || iy >= in.h || ix >= in.w) continue;
              sum += double(w[((o * cin_g + ci) * kh + i) * kw + j]) * in.at(g * cin_g + ci, iy, ix);
            }
        out.at(o, y, x) = static_cast<float>(sum);
      }
  return out;
}

Nchw MaxPool(const Nchw& in, int64_t k, int64_t stride, int64_t pad) {
  Nchw out{in.c, (in.h + 2 * pad - k) / stride + 1, (in.w + 2 * pad - k) / stride + 1, {}};
  out.v.assign(out.c * out.h * out.w, 0);
  for (int64_t c = 0; c < in.c; ++c)
    for (int64_t y = 0; y < out.h; ++y)
      for (int64_t x = 0; x < out.w; ++x) {
        float m = -INFINITY;
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t iy = y * stride - pad + i, ix = x * stride - pad + j;
            if (iy >= 0 && ix >= 0 && iy < in.h && ix < in.w) m = std::max(m, in.at(c, iy, ix));
          }
        out.at(c, y, x) = m;
      }
  return out;
}

Nchw Map(Nchw a, float (*f)(float)) {
  for (auto& x : a.v) x = f(x);
  return a;
}
float SiluRef(float x) { return x / (1 + std::exp(-x)); }
float SigmoidRef(float x) { return 1 / (1 + std::exp(-x)); }

Nchw ConcatC(const std::vector<Nchw>& parts) {
  Nchw out{0, parts[0].h, parts[0].w, {}};
  for (const auto& p : parts) out.c += p.c, out.v.insert(out.v.end(), p.v.begin(), p.v.end());
  return out;
}

Tensor Input(const GraphBuilder& g, uint32_t seed, Nchw* ref) {
  const auto& s = g.input_shape();
  Tensor t(DType::kFloat32, s, "x");
  const auto v = Random(static_cast<size_t>(t.num_elements()), seed);
  std::memcpy(t.data<float>(), v.data(), v.size() * 4);
  *ref = Nchw{s[1], s[2], s[3], v};
  return t;
}

void ExpectNear(const Tensor& t, const std::vector<float>& want, const std::vector<int64_t>& shape) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(static_cast<size_t>(t.num_elements()), want.size());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst, std::fabs(double(t.data<float>()[i]) - want[i]));
  EXPECT_LT(worst, 1e-4);
}

StatusOr<TensorList> RunGraph(const GraphBuilder& g, const Tensor& input, int threads = 2) {
  XnnpackNetOptions options;
  options.threads = threads;
  options.time_threads_at_load = false;  // the pool's path, whatever a timing would choose
  auto net = XnnpackNet::FromBytes(g.Model(), options);
  if (!net.ok()) return net.status();
  return (*net)->Run(input);
}

// ---- tests --------------------------------------------------------------------------------------------

TEST(XnnpackNet, ConvolutionsWithGroupsStridesPadsAndDilations) {
  GraphBuilder g("x", {1, 4, 11, 13});
  const auto w1 = Random(6 * 2 * 3 * 3, 1), b1 = Random(6, 2);
  g.Floats("w1", {6, 2, 3, 3}, w1);
  g.Floats("b1", {6}, b1);
  g.Node(
      "Conv", {"x", "w1", "b1"}, "c1",
      {Int("group", 2), Ints("strides", {2, 1}), Ints("pads", {1, 0, 2, 1}), Ints("kernel_shape", {3, 3})});
  const auto w2 = Random(6 * 1 * 3 * 3, 3);  // depthwise, no bias, dilation 2
  g.Floats("w2", {6, 1, 3, 3}, w2);
  g.Node("Conv", {"c1", "w2"}, "c2",
         {Int("group", 6), Ints("pads", {2, 2, 2, 2}), Ints("dilations", {2, 2})});
  const auto w3 = Random(5 * 6, 4), b3 = Random(5, 5);  // pointwise
  g.Floats("w3", {5, 6, 1, 1}, w3);
  g.Floats("b3", {5}, b3);
  g.Node("Conv", {"c2", "w3", "b3"}, "y");
  g.OutputField("y", {1, 5, 6, 12});
  Nchw x;
  const Tensor input = Input(g, 7, &x);
  auto out = RunGraph(g, input);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Nchw c1 = Conv(x, w1, b1, 6, 3, 3, 2, {2, 1}, {1, 0, 2, 1}, {1, 1});
  const Nchw c2 = Conv(c1, w2, {}, 6, 3, 3, 6, {1, 1}, {2, 2, 2, 2}, {2, 2});
  const Nchw y = Conv(c2, w3, b3, 5, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1});
  ExpectNear(out->at(0), y.v, {1, 5, y.h, y.w});
}

TEST(XnnpackNet, SiluSigmoidAddMulAndAnInputThatIsAlsoAnOutput) {
  for (int threads : {1, 3}) {
    GraphBuilder g("x", {1, 3, 5, 7});
    const auto w = Random(8 * 3, 11);
    g.Floats("w", {8, 3, 1, 1}, w);
    g.Node("Conv", {"x", "w"}, "c");
    g.Node("Sigmoid", {"c"}, "s");
    g.Node("Mul", {"c", "s"}, "silu");  // fused into one SiLU, in place where c has no other reader
    g.Node("Conv", {"x", "w"}, "d");
    g.Node("Sigmoid", {"d"}, "sd");
    g.Node("Mul", {"sd", "d"}, "silu_d");  // d is a graph output too: not overwritten
    g.Node("Conv", {"x", "w"}, "e");
    g.Node("Sigmoid", {"e"}, "se");
    g.Node("Mul", {"e", "se"}, "silu_e");  // e read by its SiLU only: in place
    g.Node("Add", {"silu", "silu_d"}, "sum2");
    g.Node("Add", {"sum2", "silu_e"}, "sum");
    g.Node("Mul", {"sum", "c"}, "prod");  // c read again: its SiLU cannot run in place
    g.Node("Sigmoid", {"prod"}, "y");
    g.OutputField("y", {1, 8, 5, 7});
    g.OutputField("d", {1, 8, 5, 7});
    Nchw x;
    const Tensor input = Input(g, 12, &x);
    auto out = RunGraph(g, input, threads);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Nchw c = Conv(x, w, {}, 8, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1});
    Nchw y = c;
    for (size_t i = 0; i < y.v.size(); ++i) y.v[i] = SigmoidRef((SiluRef(c.v[i]) * 3) * c.v[i]);
    ExpectNear(out->at(0), y.v, {1, 8, 5, 7});
    ExpectNear(out->at(1), c.v, {1, 8, 5, 7});
    EXPECT_EQ(out->at(1).name(), "d");
  }
}

// A SiLU on a concat's output must not run in place: the concat's buffer holds its inputs, which a later
// node still reads.
TEST(XnnpackNet, InPlaceSiluNeverOverwritesAConcatsInputs) {
  GraphBuilder g("x", {1, 2, 3, 4});
  const auto w = Random(3 * 2, 61);
  g.Floats("w", {3, 2, 1, 1}, w);
  g.Node("Conv", {"x", "w"}, "a");
  g.Node("Concat", {"a", "x"}, "cat", {Int("axis", 1)});
  g.Node("Sigmoid", {"cat"}, "s");
  g.Node("Mul", {"cat", "s"}, "y");  // cat has one reader after the fusion
  g.Node("Sigmoid", {"a"}, "z");     // reads a after the SiLU
  g.OutputField("y", {1, 5, 3, 4});
  g.OutputField("z", {1, 3, 3, 4});
  Nchw x;
  const Tensor input = Input(g, 62, &x);
  auto out = RunGraph(g, input);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Nchw a = Conv(x, w, {}, 3, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1});
  ExpectNear(out->at(0), Map(ConcatC({a, x}), SiluRef).v, {1, 5, 3, 4});
  ExpectNear(out->at(1), Map(a, SigmoidRef).v, {1, 3, 3, 4});
}

TEST(XnnpackNet, MaxPoolWithPadsAndTheSppCascade) {
  GraphBuilder g("x", {1, 4, 9, 10});
  g.Node("MaxPool", {"x"}, "p5",
         {Ints("kernel_shape", {5, 5}), Ints("pads", {2, 2, 2, 2}), Ints("strides", {1, 1})});
  g.Node("MaxPool", {"x"}, "p9",
         {Ints("kernel_shape", {9, 9}), Ints("pads", {4, 4, 4, 4}), Ints("strides", {1, 1})});
  g.Node("MaxPool", {"x"}, "p13", {Ints("kernel_shape", {13, 13}), Ints("pads", {6, 6, 6, 6})});
  g.Node("Concat", {"x", "p5", "p9", "p13"}, "spp", {Int("axis", 1)});
  g.Node("MaxPool", {"spp"}, "y",
         {Ints("kernel_shape", {3, 3}), Ints("pads", {1, 1, 1, 1}), Ints("strides", {2, 2})});
  g.OutputField("y", {1, 16, 5, 5});
  Nchw x;
  const Tensor input = Input(g, 21, &x);
  auto out = RunGraph(g, input);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Nchw spp = ConcatC({x, MaxPool(x, 5, 1, 2), MaxPool(x, 9, 1, 4), MaxPool(x, 13, 1, 6)});
  const Nchw y = MaxPool(spp, 3, 2, 1);
  ExpectNear(out->at(0), y.v, {1, 16, 5, 5});
}

TEST(XnnpackNet, NearestResizeAndConcatThroughStrides) {
  GraphBuilder g("x", {1, 3, 4, 6});
  const auto wa = Random(5 * 3, 31), wb = Random(2 * 3 * 9, 32), wc = Random(4 * 10, 33);
  g.Floats("wa", {5, 3, 1, 1}, wa);
  g.Floats("wb", {2, 3, 3, 3}, wb);
  g.Floats("wc", {4, 10, 1, 1}, wc);
  g.Floats("scales", {4}, {1, 1, 2, 2});
  g.Floats("roi", {0}, {});
  g.Node("Conv", {"x", "wa"}, "a");                                // written into its slot
  g.Node("Conv", {"x", "wb"}, "b", {Ints("pads", {1, 1, 1, 1})});  // into its slot, also read below
  g.Node("Sigmoid", {"b"}, "sb");
  g.Node("Concat", {"a", "b", "x"}, "cat", {Int("axis", 1)});  // x: the graph input, copied
  g.Node("Conv", {"cat", "wc"}, "d");
  g.Node("Resize", {"d", "roi", "scales"}, "up",
         {Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"),
          Str("nearest_mode", "floor")});
  g.Node("Resize", {"sb", "roi", "scales"}, "up_b",
         {Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"),
          Str("nearest_mode", "floor")});
  g.Node("Concat", {"up_b", "up"}, "y", {Int("axis", -3)});
  g.OutputField("y", {1, 6, 8, 12});
  Nchw x;
  const Tensor input = Input(g, 34, &x);
  auto out = RunGraph(g, input);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Nchw a = Conv(x, wa, {}, 5, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1});
  const Nchw b = Conv(x, wb, {}, 2, 3, 3, 1, {1, 1}, {1, 1, 1, 1}, {1, 1});
  const Nchw d = Conv(ConcatC({a, b, x}), wc, {}, 4, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1});
  auto up = [](const Nchw& in) {
    Nchw o{in.c, in.h * 2, in.w * 2, {}};
    o.v.resize(o.c * o.h * o.w);
    for (int64_t c = 0; c < o.c; ++c)
      for (int64_t y = 0; y < o.h; ++y)
        for (int64_t x2 = 0; x2 < o.w; ++x2) o.at(c, y, x2) = in.at(c, y / 2, x2 / 2);
    return o;
  };
  const Nchw y = ConcatC({up(Map(b, SigmoidRef)), up(d)});
  ExpectNear(out->at(0), y.v, {1, 6, 8, 12});
}

TEST(XnnpackNet, DetectionHeadReshapeConcatTranspose) {
  // Two levels of a YOLOX-like head: per level Concat(reg, Sigmoid(obj)) along channels, Reshape to
  // [1, C, H*W], then Concat along the anchors and Transpose to [1, anchors, C].
  GraphBuilder g("x", {1, 3, 8, 8});
  const auto w1 = Random(3 * 3 * 9, 41), wr = Random(4 * 3, 42), wo = Random(2 * 3, 43);
  g.Floats("w1", {3, 3, 3, 3}, w1);
  g.Floats("wr", {4, 3, 1, 1}, wr);
  g.Floats("wo", {2, 3, 1, 1}, wo);
  g.Int64s("shape", {1, 6, -1});
  g.Node("Conv", {"x", "w1"}, "down", {Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})});
  for (const std::string level : {"x", "down"}) {
    g.Node("Conv", {level, "wr"}, level + "_reg");
    g.Node("Conv", {level, "wo"}, level + "_obj_logit");
    g.Node("Sigmoid", {level + "_obj_logit"}, level + "_obj");
    g.Node("Concat", {level + "_reg", level + "_obj"}, level + "_cat", {Int("axis", 1)});
    g.Node("Reshape", {level + "_cat", "shape"}, level + "_flat");
  }
  g.Node("Concat", {"x_flat", "down_flat"}, "all", {Int("axis", 2)});
  g.Node("Transpose", {"all"}, "output", {Ints("perm", {0, 2, 1})});
  g.OutputField("output", {1, 80, 6});
  Nchw x;
  const Tensor input = Input(g, 44, &x);
  auto out = RunGraph(g, input);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<float> want;
  const Nchw down = Conv(x, w1, {}, 3, 3, 3, 1, {2, 2}, {1, 1, 1, 1}, {1, 1});
  for (const Nchw* level : std::vector<const Nchw*>{&x, &down}) {
    const Nchw cat =
        ConcatC({Conv(*level, wr, {}, 4, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}),
                 Map(Conv(*level, wo, {}, 2, 1, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}), SigmoidRef)});
    for (int64_t p = 0; p < cat.h * cat.w; ++p)
      for (int64_t c = 0; c < cat.c; ++c) want.push_back(cat.v[c * cat.h * cat.w + p]);
  }
  ExpectNear(out->at(0), want, {1, 80, 6});
}

TEST(XnnpackNet, UnsupportedGraphsAreRefusedNamingTheNode) {
  GraphBuilder g("x", {1, 3, 4, 4});
  g.Node("Sigmoid", {"x"}, "s");
  g.Node("Softmax", {"s"}, "y", {Int("axis", 1)});
  g.OutputField("y", {1, 3, 4, 4});
  auto net = XnnpackNet::FromBytes(g.Model(), {});
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(net.status().message().find("Softmax #1 (output 'y')"), std::string::npos)
      << net.status().message();

  GraphBuilder b("x", {1, 3, 4, 4});
  b.Floats("bias", {1, 3, 1, 1}, {1, 2, 3});
  b.Node("Add", {"x", "bias"}, "y");  // a broadcast constant
  b.OutputField("y", {1, 3, 4, 4});
  net = XnnpackNet::FromBytes(b.Model(), {});
  ASSERT_FALSE(net.ok());
  EXPECT_NE(net.status().message().find("Add #0"), std::string::npos) << net.status().message();

  GraphBuilder r("x", {1, 3, 4, 4});
  r.Floats("scales", {4}, {1, 1, 2, 2});
  r.Floats("roi", {0}, {});
  r.Node("Resize", {"x", "roi", "scales"}, "y", {Str("mode", "linear")});
  r.OutputField("y", {1, 3, 8, 8});
  net = XnnpackNet::FromBytes(r.Model(), {});
  ASSERT_FALSE(net.ok());
  EXPECT_NE(net.status().message().find("mode 'nearest'"), std::string::npos) << net.status().message();

  EXPECT_EQ(XnnpackNet::FromBytes("not onnx", {}).status().code(), StatusCode::kInvalidArgument);
}

// Damaged files (truncated, bits flipped) are refused or run, never crash: every truncation and every
// single-bit flip of a small graph with each supported op.
TEST(XnnpackNet, SurvivesCorruptedModels) {
  GraphBuilder g("x", {1, 4, 6, 6});
  g.Floats("w", {4, 1, 3, 3}, Random(36, 51));
  g.Floats("scales", {4}, {1, 1, 2, 2});
  g.Floats("roi", {0}, {});
  g.Int64s("shape", {1, 8, -1});
  g.Node("Conv", {"x", "w"}, "c", {Int("group", 4), Ints("pads", {1, 1, 1, 1}), Ints("strides", {2, 2})});
  g.Node("Sigmoid", {"c"}, "s");
  g.Node("Mul", {"c", "s"}, "a");
  g.Node("MaxPool", {"a"}, "p", {Ints("kernel_shape", {3, 3}), Ints("pads", {1, 1, 1, 1})});
  g.Node("Resize", {"p", "roi", "scales"}, "r",
         {Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"),
          Str("nearest_mode", "floor")});
  g.Node("Add", {"r", "x"}, "sum");
  g.Node("Concat", {"sum", "x"}, "cat", {Int("axis", 1)});
  g.Node("Reshape", {"cat", "shape"}, "flat");
  g.Node("Transpose", {"flat"}, "y", {Ints("perm", {0, 2, 1})});
  g.OutputField("y", {1, 36, 8});
  const std::string model = g.Model();
  Nchw ref;
  const Tensor input = Input(g, 52, &ref);
  {
    auto net = XnnpackNet::FromBytes(model, {});
    ASSERT_TRUE(net.ok()) << net.status().message();
    ASSERT_TRUE((*net)->Run(input).ok());
  }
  int loaded = 0;
  auto attempt = [&](const std::string& bytes) {
    auto net = XnnpackNet::FromBytes(bytes, {});
    if (!net.ok()) return;
    ++loaded;
    Tensor in(DType::kFloat32, input.shape(), "x");
    std::memcpy(in.data<float>(), input.data<float>(), input.byte_size());
    (void)(*net)->Run(in);  // a wrong shape is refused; anything else runs
  };
  for (size_t n = 0; n < model.size(); ++n) attempt(model.substr(0, n));
  for (size_t at = 0; at < model.size(); ++at)
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = model;
      flipped[at] ^= static_cast<char>(1u << bit);
      attempt(flipped);
    }
  EXPECT_GT(loaded, 0);  // flips inside weights or names still load
}

TEST(XnnpackNet, WrongInputShapeIsAnError) {
  GraphBuilder g("x", {1, 3, 4, 4});
  g.Node("Sigmoid", {"x"}, "y");
  g.OutputField("y", {1, 3, 4, 4});
  auto net = XnnpackNet::FromBytes(g.Model(), {});
  ASSERT_TRUE(net.ok()) << net.status().message();
  Tensor wrong(DType::kFloat32, {1, 3, 4, 5}, "x");
  wrong.Fill(0);
  EXPECT_EQ((*net)->Run(wrong).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
