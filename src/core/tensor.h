// Tensor: a dense, row-major (C-order) buffer with a dtype and a shape. Owns its bytes. Used for model
// inputs and outputs everywhere above and below the engine boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

enum class DType { kFloat32, kFloat16, kUInt8, kInt8, kInt32, kInt64 };

size_t DTypeSize(DType dtype);
// Lower-case names as in model.yaml ("float32", "uint8", ...).
std::string_view DTypeName(DType dtype);
StatusOr<DType> ParseDType(std::string_view name);

class Tensor {
 public:
  Tensor() = default;
  // Allocates uninitialised storage for the shape (no zero fill: callers overwrite every byte).
  Tensor(DType dtype, std::vector<int64_t> shape, std::string name = {});

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  // Copies are explicit (Clone) because tensors can be megabytes.
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  Tensor Clone() const;

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  int64_t num_elements() const;
  size_t byte_size() const { return byte_size_; }

  uint8_t* bytes() { return data_.get(); }
  const uint8_t* bytes() const { return data_.get(); }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(data_.get());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(data_.get());
  }

  // Changes the shape without touching the data; the element count must stay the same.
  Status Reshape(std::vector<int64_t> shape);
  void Fill(uint8_t byte);

  // "float32[1,3,416,416]"
  std::string Describe() const;

 private:
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  std::string name_;
  size_t byte_size_ = 0;
  std::unique_ptr<uint8_t[]> data_;
};

using TensorList = std::vector<Tensor>;

// Product of dims; -1 if any dim is negative or the product overflows int64_t (shapes come from clients).
int64_t ShapeElementCount(const std::vector<int64_t>& shape);
// Element count times the element size in bytes; nullopt for an invalid shape or on overflow.
std::optional<size_t> ShapeByteSize(const std::vector<int64_t>& shape, size_t element_size);
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace accel
