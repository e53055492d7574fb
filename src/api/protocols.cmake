# Protocol front ends: KServe v2 over HTTP and gRPC, Frigate's zmq detector. Included from
# src/api/CMakeLists.txt. gRPC/protobuf come from Debian (libgrpc++-dev, protobuf-compiler-grpc), ZMQ from
# libzmq3-dev + cppzmq-dev.
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
# libzmq as a plain interface target of its link libraries, not pkg-config's IMPORTED_TARGET: libzmq.pc's
# cflags hold "-isystem /usr/include/mit-krb5", which CMake 3.25's FindPkgConfig turns into an include
# directory on the first configure but into a compile option on every later one (its -isystem extraction is
# not cached), so each second configure changed the command line of every file using zmq and rebuilt them.
# zmq.h and zmq.hpp live in /usr/include and need none of libzmq's private cflags. src/app links the same
# target for `accel bench --api zmq`.
pkg_check_modules(LIBZMQ REQUIRED libzmq)
add_library(accel_libzmq INTERFACE)
target_link_libraries(accel_libzmq INTERFACE ${LIBZMQ_LINK_LIBRARIES})
# The name the pkg-config target had, for code that still links it.
add_library(PkgConfig::LIBZMQ ALIAS accel_libzmq)
find_program(ACCEL_PROTOC protoc REQUIRED)
find_program(ACCEL_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_path(ACCEL_CPPZMQ_INCLUDE zmq.hpp REQUIRED)

# Generated from proto/grpc_service.proto (our own file, written from the protocol's field numbers).
set(ACCEL_PROTO_SRC ${CMAKE_SOURCE_DIR}/proto/grpc_service.proto)
set(ACCEL_PROTO_OUT ${CMAKE_CURRENT_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${ACCEL_PROTO_OUT})
add_custom_command(
  OUTPUT ${ACCEL_PROTO_OUT}/grpc_service.pb.cc ${ACCEL_PROTO_OUT}/grpc_service.pb.h
         ${ACCEL_PROTO_OUT}/grpc_service.grpc.pb.cc ${ACCEL_PROTO_OUT}/grpc_service.grpc.pb.h
  COMMAND ${ACCEL_PROTOC} --proto_path=${CMAKE_SOURCE_DIR}/proto --cpp_out=${ACCEL_PROTO_OUT}
          --grpc_out=${ACCEL_PROTO_OUT} --plugin=protoc-gen-grpc=${ACCEL_GRPC_CPP_PLUGIN} ${ACCEL_PROTO_SRC}
  DEPENDS ${ACCEL_PROTO_SRC}
  COMMENT "protoc: proto/grpc_service.proto")

# The generated messages and stubs alone, so tests and benchmarks can build clients from the same .proto.
add_library(accel_kserve_proto STATIC ${ACCEL_PROTO_OUT}/grpc_service.pb.cc ${ACCEL_PROTO_OUT}/grpc_service.grpc.pb.cc)
target_include_directories(accel_kserve_proto PUBLIC ${ACCEL_PROTO_OUT})
target_link_libraries(accel_kserve_proto PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
# Generated code is not ours to warn about.
target_compile_options(accel_kserve_proto PRIVATE -w)

add_library(accel_protocols STATIC
  kserve_common.cc
  kserve_http_api.cc
  kserve_grpc_server.cc
  kserve_grpc_fast_path.cc
  kserve_grpc_request.cc
  protobuf_log.cc
  shared_memory_registry.cc
  address_allow_list.cc
  zmq_access.cc
  zmq_curve_keys.cc
  zmq_detector_request.cc
  zmq_detector_server.cc
  zmq_model_store.cc
)
target_include_directories(accel_protocols PRIVATE ${ACCEL_CPPZMQ_INCLUDE})
target_link_libraries(accel_protocols PUBLIC accel_routes accel_api accel_pipeline accel_scheduler
                      PRIVATE accel_kserve_proto accel_libzmq)
