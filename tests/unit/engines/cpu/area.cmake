# The cpu engine: its ONNX graph rewrites, layout transforms and SiLU kernel (no model needed), and the
# differential test of the rewritten graph against the original on the test images (default model).
set(AREA_LIBS accel_engine_cpu accel_vision accel_core)
