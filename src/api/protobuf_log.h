// Protobuf's own log lines (for example one ERROR per received message whose string field is not valid
// UTF-8) go through Accel's log, throttled to one line per 10 s with a count of the lines held back: a gRPC
// client must not be able to make the server write a log line per message.
#pragma once

namespace accel {

// Installs the handler (process-wide, once; later calls do nothing). Any thread.
void RouteProtobufLogs();

// Log messages protobuf has handed to the handler since it was installed, logged or held back.
long long ProtobufLogMessagesSeen();

}  // namespace accel
