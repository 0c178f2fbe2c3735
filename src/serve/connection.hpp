// Noticing that an HTTP client went away while its request is being served.
//
// cpp-httplib 0.11 does not tell a handler when its connection closes (a write
// fails only some time after the peer is gone, and a non-streaming handler writes
// nothing until the end). So the handler looks up its own socket once, by the
// connection's addresses, and peeks at it while it waits: a peer that closed its
// side (FIN: recv returns 0) or reset the connection is gone.
//
// Contract: find_connection_socket() returns the descriptor of the TCP socket of
// this process whose peer is remote_addr:remote_port and whose local port is
// local_port, or -1 (Linux: scans /proc/self/fd). peer_closed() never blocks and
// never consumes data (a pipelined next request stays in the socket). A client
// that half-closes its side while still waiting for the answer reads as gone.
#pragma once
#include <string>

namespace r1::serve {

int find_connection_socket(const std::string& remote_addr, int remote_port, int local_port);
bool peer_closed(int fd);

}  // namespace r1::serve
