/**
 * Builds an error without capturing a stack trace: for refusals a node
 * answers many times a second under overload (Overloaded, NotLeader), whose
 * stack says nothing (the code and message name what was refused and why).
 * Capturing one cost ~19 µs per refusal on the event store's leader (the
 * HostError and the ConnectError made of it: 916 ms of 12 s busy at 1.27 M
 * events/s offered, session 12), and reading it - which node does for
 * errors a stream is destroyed with - runs the source-map support on it.
 *
 * V8 reads Error.stackTraceLimit when an error is constructed; it is set to
 * 0 for this one synchronous construction and restored at once, so no other
 * code (nothing runs in between) sees the change.
 */
export function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
