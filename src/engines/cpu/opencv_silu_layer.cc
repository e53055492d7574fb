#include "engines/cpu/opencv_silu_layer.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.details.hpp>

#include <mutex>

#include "engines/cpu/silu_kernel.h"

namespace accel {
namespace {

class SiluLayer final : public cv::dnn::ActivationLayer {
 public:
  explicit SiluLayer(const cv::dnn::LayerParams& params) { setParamsFrom(params); }

  static cv::Ptr<cv::dnn::Layer> Create(cv::dnn::LayerParams& params) {
    return cv::makePtr<SiluLayer>(params);
  }

  bool supportBackend(int backend_id) override { return backend_id == cv::dnn::DNN_BACKEND_OPENCV; }

  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, const int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override {
    outputs.assign(std::max<size_t>(1, required_outputs), inputs.at(0));
    return true;  // may run in place
  }

  // Unfused: the whole tensor at once.
  void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
               cv::OutputArrayOfArrays) override {
    std::vector<cv::Mat> inputs, outputs;
    inputs_arr.getMatVector(inputs);
    outputs_arr.getMatVector(outputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      CV_Assert(inputs[i].type() == CV_32F && inputs[i].isContinuous() && outputs[i].isContinuous());
      Silu(inputs[i].ptr<float>(), outputs[i].ptr<float>(), inputs[i].total());
    }
  }

  // Fused after a convolution: channels [cn0, cn1) of one output stripe, `len` values each, planes
  // `plane_size` apart.
  void forwardSlice(const float* src, float* dst, int len, size_t plane_size, int cn0,
                    int cn1) const override {
    for (int c = cn0; c < cn1; ++c, src += plane_size, dst += plane_size)
      Silu(src, dst, static_cast<size_t>(len));
  }
};

}  // namespace

const std::string& OpenCvSiluLayerType() {
  static const std::string kType = "AccelSiLU";
  return kType;
}

void RegisterOpenCvSiluLayer() {
  static std::once_flag once;
  std::call_once(once,
                 [] { cv::dnn::LayerFactory::registerLayer(OpenCvSiluLayerType(), &SiluLayer::Create); });
}

}  // namespace accel
