#include "core/tensor.h"

#include <cstring>

#include "core/numbers.h"

namespace accel {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat16:
      return 2;
    case DType::kUInt8:
      return 1;
    case DType::kInt8:
      return 1;
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
  }
  return 1;
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat16:
      return "float16";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
  }
  return "unknown";
}

StatusOr<DType> ParseDType(std::string_view name) {
  if (name == "float32" || name == "fp32" || name == "float") return DType::kFloat32;
  if (name == "float16" || name == "fp16") return DType::kFloat16;
  if (name == "uint8") return DType::kUInt8;
  if (name == "int8") return DType::kInt8;
  if (name == "int32") return DType::kInt32;
  if (name == "int64") return DType::kInt64;
  return InvalidArgument("unknown dtype '" + std::string(name) + "'");
}

int64_t ShapeElementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    const auto product = CheckedMul(n, d);
    if (!product) return -1;
    n = *product;
  }
  return n;
}

std::optional<size_t> ShapeByteSize(const std::vector<int64_t>& shape, size_t element_size) {
  const int64_t n = ShapeElementCount(shape);
  if (n < 0) return std::nullopt;
  return CheckedMul(static_cast<size_t>(n), element_size);
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, std::string name)
    : dtype_(dtype), shape_(std::move(shape)), name_(std::move(name)) {
  const int64_t n = ShapeElementCount(shape_);
  byte_size_ = n > 0 ? static_cast<size_t>(n) * DTypeSize(dtype_) : 0;
  if (byte_size_ > 0) data_ = std::make_unique_for_overwrite<uint8_t[]>(byte_size_);
}

Tensor Tensor::Clone() const {
  Tensor t(dtype_, shape_, name_);
  if (byte_size_) std::memcpy(t.data_.get(), data_.get(), byte_size_);
  return t;
}

int64_t Tensor::num_elements() const { return ShapeElementCount(shape_); }

Status Tensor::Reshape(std::vector<int64_t> shape) {
  if (ShapeElementCount(shape) != num_elements())
    return InvalidArgument("cannot reshape " + Describe() + " to " + ShapeToString(shape));
  shape_ = std::move(shape);
  return Status::Ok();
}

void Tensor::Fill(uint8_t byte) {
  if (byte_size_) std::memset(data_.get(), byte, byte_size_);
}

std::string Tensor::Describe() const { return std::string(DTypeName(dtype_)) + ShapeToString(shape_); }

}  // namespace accel
