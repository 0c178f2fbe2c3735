// Noticing that an HTTP client went away while its request is being served.
//
// A non-streaming handler writes nothing until the end, and a write fails only
// some time after the peer is gone, so a waiting handler peeks at its own socket
// (current_connection_fd(), http_front.hpp) between generation steps.
//
// Contract: peer_closed() never blocks and never consumes data (a pipelined next
// request stays in the socket); true when the peer closed its side (FIN: recv
// returns 0) or reset the connection. A client that half-closes its side while
// still waiting for the answer reads as gone.
#pragma once

namespace r1::serve {

bool peer_closed(int fd);

}  // namespace r1::serve
