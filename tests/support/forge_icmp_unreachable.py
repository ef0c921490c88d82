#!/usr/bin/env python3
"""Forged ICMP "port unreachable" messages on loopback, for the chat's tests (needs root).

Usage: forge_icmp_unreachable.py SOURCE_IP SOURCE_PORT COUNT

Sends COUNT ICMP destination-unreachable (port unreachable) messages to SOURCE_IP, each quoting
the IP and UDP headers of a datagram that SOURCE_IP:SOURCE_PORT never sent: datagram i went to
127.77.(i // 250).(i % 250 + 1), port 30000 + i. The kernel hands such a report to the socket
bound to SOURCE_IP:SOURCE_PORT as if the network had refused that datagram. Prints each quoted
destination, one per line ("127.77.0.1:30000"). Standard library only.
"""

import socket
import struct
import sys


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): ones' complement of the ones' complement sum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def quoted_datagram(source_ip: str, source_port: int, dest_ip: str, dest_port: int) -> bytes:
    """The IP header and the start of the UDP datagram an ICMP error quotes."""
    payload = b"ping"
    udp_length = 8 + len(payload)
    # UDP checksum 0: "none", allowed over IPv4.
    udp = struct.pack("!HHHH", source_port, dest_port, udp_length, 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_length, 0x1234, 0, 64,
                         socket.IPPROTO_UDP, 0, socket.inet_aton(source_ip),
                         socket.inet_aton(dest_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + udp


def port_unreachable(quoted: bytes) -> bytes:
    """Type 3 (destination unreachable), code 3 (port unreachable), 4 unused bytes, the quote."""
    message = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    source_ip, source_port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # The kernel writes the outer IP header (to source_ip, from loopback); we write the ICMP.
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        for i in range(count):
            dest_ip = f"127.77.{i // 250}.{i % 250 + 1}"
            dest_port = 30000 + i
            raw.sendto(port_unreachable(quoted_datagram(source_ip, source_port, dest_ip,
                                                        dest_port)), (source_ip, 0))
            print(f"{dest_ip}:{dest_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
