package io.kmsgw.hsm;

/**
 * A connected HSM token: the port through which the operations layer reaches key material.
 *
 * <p>Implementations block (PKCS#11 calls do), so callers run them on a worker pool sized to the session
 * count, never on an event loop.
 */
public interface Hsm extends AutoCloseable {
  /** A unit of work on one borrowed session. It may be run twice if the first session turned out broken. */
  @FunctionalInterface
  interface SessionWork<T> {
    T run(HsmSession session) throws HsmException;
  }

  /**
   * Borrows a session, runs the work, returns the session. A session-fatal error evicts the session and the
   * work is retried once on another; {@link HsmErrorKind#POOL_EXHAUSTED} when no session frees up in time.
   */
  <T> T withSession(SessionWork<T> work) throws HsmException;

  /**
   * A health check: the token still answers, the crypto user is still logged in, and a session from the pool can
   * run a call (a few random bytes). A failure that kills the connection is reported to its listener as any
   * other.
   */
  void probe() throws HsmException;

  /** The mechanisms the token offered when this connection was made (read once per connection). */
  TokenMechanisms mechanisms();

  /** Pool and call figures for health checks and the benchmark. */
  HsmStats stats();

  /** Closes every session. */
  @Override
  void close();
}
