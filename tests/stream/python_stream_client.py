#!/usr/bin/env python3
"""Subscribes to the ledgerd event stream with websocket-client (Debian's
python3-websocket), pings, sends a text message the server must ignore, and
prints the first COUNT messages, one per line.

Usage: python_stream_client.py URL COUNT
"""
import sys

import websocket


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    ws = websocket.create_connection(url, timeout=60)
    ws.ping("probe")
    ws.send("client messages are ignored")
    messages = []
    pong = False
    while len(messages) < count or not pong:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_PONG:
            pong = pong or frame.data == b"probe"
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            messages.append(frame.data.decode("utf-8"))
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            sys.exit("closed early after %d messages" % len(messages))
    ws.close()
    print("\n".join(messages))


if __name__ == "__main__":
    main()
