#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# A hostile "router" for test-portmap.sh: answers SSDP searches, serves
# descriptions and SOAP answers over HTTP, and answers NAT-PMP, all with
# garbage (truncated, oversized, malformed, lying), so the port-mapping code
# must refuse it without crashing. Usage: fake-gateway.py ADDRESS
# Prints one line per request it answered ("ssdp N", "http PATH",
# "natpmp N round R").
import os
import selectors
import socket
import struct
import sys

addr = sys.argv[1]
HTTP_PORT = 48123
sel = selectors.DefaultSelector()
counts = {"ssdp": 0, "natpmp": 0, "http": 0, "round": 0}


def say(line):
    print(line, flush=True)


# ---- SSDP: a good-looking answer pointing at our HTTP server, and junk -----------
ssdp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ssdp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ssdp.bind(("", 1900))
ssdp.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                socket.inet_aton("239.255.255.250") + socket.inet_aton(addr))


def ssdp_answers():
    st = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
    base = "http://%s:%d" % (addr, HTTP_PORT)
    good = lambda path: ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: %s\r\n"
                         "USN: uuid:00000000-0000-0000-0000-00000000000%d::%s\r\n"
                         "LOCATION: %s%s\r\n\r\n" % (st, len(path) % 10, st, base, path)).encode()
    return [
        os.urandom(300),                                       # noise
        b"HTTP/1.1 200 OK\r\nLOCATION: " + b"A" * 3000 + b"\r\n\r\n",  # oversized
        b"HTTP/1.1 200 OK\r\nLOCATION: ftp://nowhere\r\nST: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nST: " + st.encode() + b"\r\nLOCATION:\r\n",  # empty, unterminated
        good("/garbage.xml"),
        good("/deep.xml"),
        good("/desc.xml"),
    ]


def on_ssdp(sock):
    data, peer = sock.recvfrom(4096)
    if not data.startswith(b"M-SEARCH"):
        return
    counts["ssdp"] += 1
    say("ssdp %d from %s" % (counts["ssdp"], peer[0]))
    for a in ssdp_answers():
        sock.sendto(a, peer)


sel.register(ssdp, selectors.EVENT_READ, on_ssdp)

# ---- HTTP: descriptions and SOAP answers ---------------------------------------
DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<controlURL>/cif</controlURL><eventSubURL>/ev</eventSubURL><SCPDURL>/x.xml</SCPDURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<controlURL>/ctl</controlURL><eventSubURL>/ev</eventSubURL><SCPDURL>/y.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>"""

SOAP_GARBAGE = [
    # binary noise with a lying Content-Length
    lambda: b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + os.urandom(512),
    # a well-formed envelope with absurd values and no error code
    lambda: (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n<?xml version=\"1.0\"?>"
             b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
             b"<u:R xmlns:u=\"x\"><NewExternalIPAddress>999.1.2.3" + b"9" * 400 +
             b"</NewExternalIPAddress><NewInternalClient>" + b"C" * 2000 +
             b"</NewInternalClient><NewInternalPort>-7</NewInternalPort>"
             b"<NewLeaseDuration>zz</NewLeaseDuration><NewConnectionStatus>Connected"
             b"</NewConnectionStatus></u:R></s:Body></s:Envelope>"),
    # chunked encoding with an impossible chunk size
    lambda: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n" + b"<" * 600,
    # an error status with a fault whose code is not a number
    lambda: (b"HTTP/1.1 500 Internal Server Error\r\n\r\n<s:Envelope><s:Body><s:Fault><detail>"
             b"<UPnPError><errorCode>x" + b"1" * 50 + b"</errorCode></UPnPError></detail>"
             b"</s:Fault></s:Body></s:Envelope>"),
    # headers that never end
    lambda: b"HTTP/1.1 200 OK\r\n" + b"X-Junk: " + b"j" * 8000,
]


def http_answer(path):
    if path == "/desc.xml":
        body = DESC.encode()
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    if path == "/garbage.xml":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + os.urandom(2000)
    if path == "/deep.xml":
        return b"HTTP/1.1 200 OK\r\n\r\n<root>" + b"<device>" * 20000 + b"<controlURL>" + b"x" * 5000
    counts["http"] += 1
    return SOAP_GARBAGE[counts["http"] % len(SOAP_GARBAGE)]()


http = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
http.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
http.bind((addr, HTTP_PORT))
http.listen(16)


def on_http_conn(conn):
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        # read (part of) the body too, so the client's send completes
        conn.settimeout(0.2)
        try:
            conn.recv(65536)
        except OSError:
            pass
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        path = parts[1] if len(parts) > 1 else "?"
        say("http %s %s" % (parts[0], path))
        conn.sendall(http_answer(path))
    except OSError:
        pass
    finally:
        conn.close()


def on_http(sock):
    conn, _ = sock.accept()
    on_http_conn(conn)


sel.register(http, selectors.EVENT_READ, on_http)

# ---- NAT-PMP: short, wrong version, wrong opcode, wrong length, errors ------------
pmp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
pmp.bind((addr, 5351))


def on_pmp(sock):
    data, peer = sock.recvfrom(64)
    counts["natpmp"] += 1
    if len(data) >= 2 and data[1] == 0:
        counts["round"] += 1
    op = data[1] if len(data) >= 2 else 0
    say("natpmp %d round %d op %d" % (counts["natpmp"], counts["round"], op))
    epoch = struct.pack("!I", 5)
    junk = [
        b"\x00",                                             # short
        b"\x01\x80" + b"\x00" * 10,                          # another version
        b"\x00\xc8" + b"\x00" * 10,                          # unknown opcode
        bytes([0, 128 + op, 0, 0]) + epoch + b"\x00" * 12,   # success, wrong length
    ]
    if op == 0 and counts["round"] % 2 == 0:
        # every other round a good public-address answer, then junk mappings
        junk.append(b"\x00\x80\x00\x00" + epoch + socket.inet_aton("198.18.203.254"))
    elif op in (1, 2):
        port = data[4:6] if len(data) >= 6 else b"\x00\x00"
        junk.append(bytes([0, 128 + op]) + b"\x00\x00" + epoch + b"\x12\x34" + b"\x00\x01" + b"\x00\x00\x0e\x10")  # another private port
        junk.append(bytes([0, 128 + op]) + b"\x00\x03" + epoch + port + port + b"\x00\x00\x0e\x10")  # result: network failure
    for j in junk:
        sock.sendto(j, peer)


sel.register(pmp, selectors.EVENT_READ, on_pmp)

say("ready")
while True:
    for key, _ in sel.select(timeout=60):
        key.data(key.fileobj)
