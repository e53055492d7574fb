#include "engines/cpu/cpu_net.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "engines/cpu/layout_transforms.h"
#include "engines/cpu/opencv_silu_layer.h"

namespace accel {

struct CpuNet::Impl {
  cv::dnn::Net net;
  OnnxRewrite rewrite;
  std::string input_name;
  std::vector<std::string> output_names;
  std::set<std::string> transposed;  // outputs the graph now gives untransposed
  std::vector<float> focus_buffer;   // the space-to-depth input, reused across runs
};

CpuNet::CpuNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CpuNet::~CpuNet() = default;

void CpuNet::SetThreads(int threads) { cv::setNumThreads(threads > 0 ? threads : cv::getNumberOfCPUs()); }

const OnnxRewrite& CpuNet::rewrite() const { return impl_->rewrite; }

OnnxRewriteOptions CpuNet::DefaultRewrite() {
  OnnxRewriteOptions options;
  options.silu_op_type = OpenCvSiluLayerType();
  return options;
}

OnnxRewriteOptions CpuNet::NoRewrite() {
  OnnxRewriteOptions options;
  options.cut_focus = options.fuse_silu = options.cut_output_transpose = options.cascade_max_pools = false;
  return options;
}

StatusOr<std::unique_ptr<CpuNet>> CpuNet::Load(const ModelConfig& model, const std::filesystem::path& onnx,
                                               const OnnxRewriteOptions& rewrite) {
  RegisterOpenCvSiluLayer();
  std::ifstream in(onnx, std::ios::binary);
  if (!in) return NotFound("cannot read '" + onnx.string() + "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto impl = std::make_unique<Impl>();
  auto rewritten = RewriteOnnxForOpenCv(bytes, rewrite);
  if (!rewritten.ok())
    return InvalidArgument("'" + onnx.string() +
                           "' is not a readable ONNX model: " + rewritten.status().message());
  impl->rewrite = std::move(*rewritten);
  // A focus cut changes the input's shape: only for the declared NCHW float input it was matched on.
  if (impl->rewrite.focus.active &&
      (impl->rewrite.focus.input != model.input.name || model.input.layout != TensorLayout::kNCHW ||
       model.input.dtype != DType::kFloat32)) {
    OnnxRewriteOptions without_focus = rewrite;
    without_focus.cut_focus = false;
    ACCEL_ASSIGN_OR_RETURN(impl->rewrite, RewriteOnnxForOpenCv(bytes, without_focus));
  }
  try {
    impl->net = cv::dnn::readNetFromONNX(impl->rewrite.model.data(), impl->rewrite.model.size());
    impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return InvalidArgument("OpenCV cannot read '" + onnx.string() +
                           "' (rewrites: " + impl->rewrite.Summary() + "): " + e.what());
  }
  if (impl->net.empty()) return InvalidArgument("OpenCV read an empty network from " + onnx.string());
  impl->rewrite.model.clear();
  impl->rewrite.model.shrink_to_fit();
  impl->input_name = model.input.name;
  for (const auto& out : model.outputs) impl->output_names.push_back(out.name);
  for (const auto& t : impl->rewrite.transposed_outputs) impl->transposed.insert(t.name);
  return std::unique_ptr<CpuNet>(new CpuNet(std::move(impl)));
}

StatusOr<TensorList> CpuNet::Run(const Tensor& input) {
  Impl& m = *impl_;
  std::vector<int> dims(input.shape().begin(), input.shape().end());
  // OpenCV wants a non-const pointer; setInput copies from it and never writes through it.
  float* data = const_cast<float*>(reinterpret_cast<const float*>(input.bytes()));
  if (m.rewrite.focus.active) {
    if (dims.size() != 4 || dims[2] % 2 || dims[3] % 2)
      return InvalidArgument("cpu engine: the input is not an NCHW tensor of even height and width");
    m.focus_buffer.resize(static_cast<size_t>(input.num_elements()));
    SpaceToDepth(data, dims[0], dims[1], dims[2], dims[3], m.rewrite.focus, m.focus_buffer.data());
    dims = {dims[0], dims[1] * 4, dims[2] / 2, dims[3] / 2};
    data = m.focus_buffer.data();
  }
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, data);
  try {
    m.net.setInput(blob, m.input_name);
    std::vector<cv::Mat> outs;
    m.net.forward(outs, m.output_names);
    TensorList tensors;
    for (size_t i = 0; i < outs.size(); ++i) {
      const cv::Mat& out = outs[i];
      if (out.type() != CV_32F) return Internal("cpu engine: output is not float32");
      const cv::Mat contiguous = out.isContinuous() ? out : out.clone();
      std::vector<int64_t> shape(out.size.p, out.size.p + out.dims);
      const auto* values = reinterpret_cast<const float*>(contiguous.data);
      if (m.transposed.count(m.output_names[i])) {
        if (shape.size() != 3) return Internal("cpu engine: untransposed output is not 3-D");
        Tensor t(DType::kFloat32, {shape[0], shape[2], shape[1]}, m.output_names[i]);
        SwapLastTwoAxes(values, shape[0], shape[1], shape[2], t.data<float>());
        tensors.push_back(std::move(t));
      } else {
        Tensor t(DType::kFloat32, shape, m.output_names[i]);
        std::memcpy(t.bytes(), values, t.byte_size());
        tensors.push_back(std::move(t));
      }
    }
    return tensors;
  } catch (const cv::Exception& e) {
    return Internal(std::string("OpenCV DNN forward failed: ") + e.what());
  }
}

std::vector<CpuNet::LayerTime> CpuNet::LastRunLayerMs() const {
  std::vector<double> timings;
  const double ticks_per_ms = cv::getTickFrequency() / 1000.0;
  impl_->net.getPerfProfile(timings);
  const std::vector<std::string> names = impl_->net.getLayerNames();
  std::vector<LayerTime> layers;
  for (size_t i = 0; i < timings.size() && i < names.size(); ++i) {
    const auto layer = impl_->net.getLayer(names[i]);
    layers.push_back({names[i], layer ? layer->type : "?", timings[i] / ticks_per_ms});
  }
  return layers;
}

std::map<std::string, double> CpuNet::LastRunLayerTypeMs() const {
  std::map<std::string, double> by_type;
  for (const auto& layer : LastRunLayerMs()) by_type[layer.type] += layer.ms;
  return by_type;
}

}  // namespace accel
