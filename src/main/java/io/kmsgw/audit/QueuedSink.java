package io.kmsgw.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A sink with its own thread and a bounded queue: the audit writer only enqueues; when the queue is full or the
 * destination fails, lines are dropped and counted, and the count is logged (at most once a minute).
 */
abstract class QueuedSink implements AuditSink {
  private static final Logger LOG = Logger.getLogger(QueuedSink.class.getName());

  private final String name;
  private final BlockingQueue<String> queue;
  private final int batchSize;
  private final AtomicLong dropped = new AtomicLong();
  private final Thread thread;
  private volatile boolean running = true;
  private long reported;
  private long lastReportNanos;

  QueuedSink(String name, int capacity, int batchSize) {
    this.name = name;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.batchSize = batchSize;
    this.thread = new Thread(this::run, "kmsgw-audit-" + name);
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Delivers a batch; an exception drops it (counted). */
  abstract void deliver(List<String> lines) throws Exception;

  @Override
  public void accept(List<String> lines) {
    for (String l : lines) {
      if (!queue.offer(l)) {
        dropped.incrementAndGet();
      }
    }
  }

  @Override
  public long dropped() {
    return dropped.get();
  }

  private void run() {
    List<String> batch = new ArrayList<>(batchSize);
    while (running || !queue.isEmpty()) {
      try {
        String first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, batchSize - 1);
        try {
          deliver(batch);
        } catch (InterruptedException e) {
          throw e;
        } catch (Exception e) {
          dropped.addAndGet(batch.size());
          report(e.toString());
        }
        batch.clear();
        report(null);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void report(String cause) {
    long now = System.nanoTime();
    long total = dropped.get();
    if (total > reported && (now - lastReportNanos > TimeUnit.MINUTES.toNanos(1) || lastReportNanos == 0)) {
      long lost = total - reported;
      reported = total;
      lastReportNanos = now;
      LOG.warning(() -> "audit sink " + name + ": dropped " + lost + " lines" + (cause == null ? "" : " (" + cause
          + ")") + "; the audit files hold every line");
    }
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
