#include "engines/item_checks.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

ModelConfig Model() {
  ModelConfig m;
  m.name = "m";
  m.input.width = 4;
  m.input.height = 2;
  m.input.channels = 3;
  m.outputs.push_back(OutputSpec{"boxes", {5, -1}, DType::kFloat32});
  return m;
}

TEST(CheckItemInput, AcceptsTheModelsShapeAndDtypeOnly) {
  const ModelConfig m = Model();
  EXPECT_EQ(CheckItemInput(m, nullptr).code(), StatusCode::kInvalidArgument);
  Tensor good(DType::kFloat32, {1, 3, 2, 4});
  EXPECT_TRUE(CheckItemInput(m, &good).ok());
  for (const Tensor& bad : {Tensor(DType::kFloat32, {2, 3, 2, 4}), Tensor(DType::kFloat32, {1, 3, 4, 2}),
                            Tensor(DType::kFloat32, {3, 2, 4}), Tensor(DType::kUInt8, {1, 3, 2, 4})}) {
    Status s = CheckItemInput(m, &bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.Describe();
    EXPECT_NE(s.message().find("float32[1,3,2,4]"), std::string::npos) << s.ToString();
  }
}

TEST(CheckItemOutputs, VariableDimsMatchAnythingFixedOnesMustBeEqual) {
  const ModelConfig m = Model();
  TensorList ok;
  ok.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 5, 17});
  EXPECT_TRUE(CheckItemOutputs(m, ok).ok());
  TensorList fixed_differs;
  fixed_differs.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 6, 17});
  EXPECT_EQ(CheckItemOutputs(m, fixed_differs).code(), StatusCode::kInternal);
  TensorList two;
  two.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 5, 1});
  two.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 5, 1});
  EXPECT_EQ(CheckItemOutputs(m, two).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace accel
