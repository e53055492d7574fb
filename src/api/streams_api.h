// The watched-streams routes (docs/streams.md "API"):
//   GET    /ai/streams                       every stream with its state, reason and statistics
//   GET    /ai/streams/{name}                one stream
//   POST   /ai/streams                       add (JSON body; 409 when the name exists)      admin
//   PUT    /ai/streams/{name}                replace (404 when there is none)                admin
//   DELETE /ai/streams/{name}                remove                                          admin
//   GET    /ai/streams/{name}/snapshot.jpg   the latest annotated frame
//   GET    /ai/streams/{name}/events         Server-Sent Events (SseHub)
// URLs are always answered redacted. Registered only when the service runs a StreamManager.
#pragma once

namespace accel {

class HttpRouter;
class SseHub;
class StreamManager;

// `manager` and `hub` must outlive the router's server.
void RegisterStreamsRoutes(HttpRouter& router, StreamManager& manager, SseHub& hub);

}  // namespace accel
