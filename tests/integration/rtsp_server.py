"""A GStreamer RTSP server for the stream tests: serves an H.264 MP4 file at rtsp://127.0.0.1:PORT/clip,
at its own frame rate, over RTP/TCP or UDP, until killed. Each client gets the file from its start.

    python3 rtsp_server.py FILE PORT

Prints "ready" once listening. Needs python3-gi, gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good
and -bad (qtdemux, h264parse, rtph264pay)."""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    path, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch("( filesrc location=%s ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 "
                       "config-interval=1 )" % path)
    factory.set_shared(False)
    server.get_mount_points().add_factory("/clip", factory)
    if server.attach(None) == 0:
        print("cannot listen on port %s" % port, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
