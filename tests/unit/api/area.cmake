# src/api: the HTTP server and its parsers (multipart, base64, client JSON), the seed/DeepStack routes'
# helpers, and the protocol front ends (KServe v2 over HTTP and gRPC with a client stub generated from
# proto/grpc_service.proto, Frigate's zmq detector). The in-process tests run the real Service on the CPU
# engine and the default model (tests/support/protocol_test_core.h).
# OpenSSL: the TLS test client (test_client.h) and the test certificates (test_pki.h).
set(AREA_LIBS accel_test_service accel_api accel_protocols accel_kserve_proto accel_engine_cpu accel_engine_sim
    accel_vision PkgConfig::LIBZMQ OpenSSL::SSL OpenSSL::Crypto)
