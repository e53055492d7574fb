# Protocol front ends: KServe v2 (HTTP and gRPC, with a client stub generated from proto/grpc_service.proto)
# and Frigate's zmq detector. The in-process tests run the real CPU engine on the default model.
set(AREA_LIBS accel_protocols accel_kserve_proto accel_engine_cpu accel_engine_sim accel_vision
    accel_loadgen_protocols)
list(APPEND AREA_LIBS accel_app_lib)
