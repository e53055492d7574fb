#include "engines/item_checks.h"

#include <string>
#include <vector>

namespace accel {

Status CheckItemInput(const ModelConfig& model, const Tensor* input) {
  if (input == nullptr) return InvalidArgument("batch item without an input tensor");
  const std::vector<int64_t> item = model.InputItemShape();
  const std::vector<int64_t>& shape = input->shape();
  bool ok = input->dtype() == model.input.dtype && shape.size() == item.size() + 1 && shape[0] == 1;
  for (size_t d = 0; ok && d < item.size(); ++d) ok = shape[d + 1] == item[d];
  if (ok) return Status::Ok();
  std::vector<int64_t> want = {1};
  want.insert(want.end(), item.begin(), item.end());
  return InvalidArgument("input " + input->Describe() + " does not match model '" + model.name + "' input " +
                         std::string(DTypeName(model.input.dtype)) + ShapeToString(want));
}

Status CheckItemOutputs(const ModelConfig& model, const TensorList& outputs) {
  if (!model.outputs.empty() && outputs.size() != model.outputs.size()) {
    return Internal("engine returned " + std::to_string(outputs.size()) + " outputs, model '" + model.name +
                    "' declares " + std::to_string(model.outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::vector<int64_t>& shape = outputs[i].shape();
    bool ok = !shape.empty() && shape[0] == 1;
    std::string expected = "[1,...]";
    if (ok && i < model.outputs.size()) {
      const std::vector<int64_t>& spec = model.outputs[i].shape;
      std::vector<int64_t> want = {1};
      want.insert(want.end(), spec.begin(), spec.end());
      expected = ShapeToString(want);
      ok = shape.size() == want.size();
      for (size_t d = 1; ok && d < want.size(); ++d) ok = want[d] < 0 || want[d] == shape[d];
    }
    if (!ok) {
      return Internal("output shape mismatch: output " + std::to_string(i) + " is " + ShapeToString(shape) +
                      " for one item, model '" + model.name + "' expects " + expected);
    }
  }
  return Status::Ok();
}

}  // namespace accel
