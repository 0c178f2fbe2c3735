// Cooperative cancellation of transfers (Ctrl-C during `r1 pull`).
//
// Contract: after install_interrupt_handler(), the first SIGINT (or SIGTERM) only sets
// a flag; transfers poll cancel_requested() and stop with r1::Error, leaving their
// partial download in place for a later resume. A second signal kills the process
// (default action restored).
#pragma once

namespace r1::pull {

void install_interrupt_handler();
bool cancel_requested();

}  // namespace r1::pull
