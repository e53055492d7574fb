"""The RTSP server of bench/streams_bench.sh: serves one H.264 MP4 file at rtsp://127.0.0.1:PORT/cam0 ...
/cam<COUNT-1> with GStreamer's RTSP server (the approach of tests/integration/rtsp_server.py), at the file's
own frame rate, over RTP/TCP or UDP, until killed. Every client gets its own pipeline from the file's start
(like a camera each), so COUNT mounts can serve any number of streams.

    /usr/bin/python3 bench/streams_rtsp_server.py FILE PORT COUNT

Prints "ready" once listening. Needs python3-gi, gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good
and -bad (qtdemux, h264parse, rtph264pay)."""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    path, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    mounts = server.get_mount_points()
    for i in range(count):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch("( filesrc location=%s ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 "
                           "config-interval=1 )" % path)
        factory.set_shared(False)
        mounts.add_factory("/cam%d" % i, factory)
    if server.attach(None) == 0:
        print("cannot listen on port %s" % port, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
