# src/app: command lines (option tables, accel serve's configuration with the options engines declare), the
# composition root, and the load generator behind `accel bench` (on its own and against real front ends of
# an in-process Service).
set(AREA_LIBS accel_test_service accel_app_lib accel_kserve_proto accel_engine_cpu accel_engine_sim
    accel_hailo_support OpenSSL::SSL OpenSSL::Crypto)
