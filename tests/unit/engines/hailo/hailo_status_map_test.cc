#include <gtest/gtest.h>

#include "engines/hailo/hailo_status_map.h"

namespace accel {
namespace {

TEST(HailoStatusMap, TimeoutsAndDriverErrorsFailTheCard) {
  for (int s : {kHailoTimeout, kHailoDriverTimeout, kHailoDriverOperationFailed, kHailoFwControlFailure,
                kHailoStreamAbort, kHailoRpcFailed, kHailoDriverInvalidResponse}) {
    const auto c = ClassifyHailoStatus(s);
    EXPECT_EQ(c.fault, HailoFault::kDevice) << HailoStatusName(s);
    EXPECT_EQ(c.code, StatusCode::kUnavailable) << HailoStatusName(s);
  }
  // A code this build does not know is treated as a card fault, so the card is probed before reuse.
  EXPECT_EQ(ClassifyHailoStatus(4242).fault, HailoFault::kDevice);
}

TEST(HailoStatusMap, OtherClasses) {
  EXPECT_EQ(ClassifyHailoStatus(kHailoSuccess).fault, HailoFault::kNone);
  EXPECT_EQ(ClassifyHailoStatus(kHailoQueueIsFull).code, StatusCode::kResourceExhausted);
  EXPECT_EQ(ClassifyHailoStatus(kHailoQueueIsFull).fault, HailoFault::kRequest);
  EXPECT_EQ(ClassifyHailoStatus(kHailoHefNotCompatibleWithDevice).fault, HailoFault::kModel);
  EXPECT_EQ(ClassifyHailoStatus(kHailoDeviceInUse).fault, HailoFault::kBusy);
  EXPECT_EQ(ClassifyHailoStatus(kHailoInvalidDriverVersion).fault, HailoFault::kVersion);
}

TEST(HailoStatusMap, MessagesNameTheCodeAndTheFix) {
  Status s = HailoStatusToAccel(kHailoInvalidDriverVersion, "opening hailo:0000:01:00.0", "driver 4.20.0");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("HAILO_INVALID_DRIVER_VERSION (76)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("driver 4.20.0"), std::string::npos);
  EXPECT_NE(s.message().find("hailort-pcie-driver"), std::string::npos);

  s = HailoStatusToAccel(kHailoDeviceInUse, "opening");
  EXPECT_NE(s.message().find("multi_process=true"), std::string::npos) << s.message();

  EXPECT_TRUE(HailoStatusToAccel(kHailoSuccess, "x").ok());
  EXPECT_EQ(HailoStatusName(1234), "HAILO_STATUS_1234");
}

}  // namespace
}  // namespace accel
