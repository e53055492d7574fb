// RouteProtobufLogs: protobuf's per-message complaints (invalid UTF-8 in a string field) reach Accel's log
// at most once per throttle interval, however many such messages a client sends.
#include "api/protobuf_log.h"

#include <gtest/gtest.h>

#include <string>

#include "core/logging.h"
#include "grpc_service.pb.h"

namespace accel {
namespace {

int ProtobufProblems() {
  int n = 0;
  for (const auto& record : RecentProblems()) n += record.component == "protobuf";
  return n;
}

TEST(ProtobufLogTest, InvalidUtf8MessagesLogOnceNotPerMessage) {
  RouteProtobufLogs();
  inference::ModelInferRequest valid;
  valid.set_model_name("m");
  std::string wire = valid.SerializeAsString();
  // Field 1 (model_name) is a string: replace its one byte "m" with 0xff, which is not UTF-8.
  ASSERT_EQ(wire.back(), 'm');
  wire.back() = '\xff';

  const int before = ProtobufProblems();
  const long long seen_before = ProtobufLogMessagesSeen();
  for (int i = 0; i < 200; ++i) {
    inference::ModelInferRequest parsed;
    parsed.ParseFromString(wire);  // protobuf logs an ERROR for the field whatever the parse result
  }
  const int logged = ProtobufProblems() - before;
  EXPECT_EQ(ProtobufLogMessagesSeen() - seen_before, 200) << "protobuf's log does not reach the handler";
  EXPECT_LE(logged, 1) << "protobuf's complaints were not throttled";
}

}  // namespace
}  // namespace accel
