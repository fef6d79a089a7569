package io.kmsgw.audit;

import java.util.List;

/**
 * A copy of the audit lines for a SIEM (stdout, HTTP). Called on the audit writer thread after the lines are durable;
 * must not block: a sink queues and drops (counting) rather than hold up the durable path.
 */
public interface AuditSink extends AutoCloseable {
  /** Lines exactly as written to the file, without the newline. */
  void accept(List<String> lines);

  /** Lines dropped so far (queue full, or the destination failing). */
  long dropped();

  @Override
  default void close() {}
}
