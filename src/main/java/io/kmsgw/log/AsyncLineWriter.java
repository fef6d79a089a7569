package io.kmsgw.log;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes log lines from a background thread, in batches, so that request threads (event loops among them) never
 * wait on a terminal or a pipe. When the queue is full, lines are dropped and counted rather than blocking.
 */
public final class AsyncLineWriter implements AutoCloseable {
  private final OutputStream out;
  private final BlockingQueue<String> queue;
  private final Thread thread;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean running = true;

  public AsyncLineWriter(OutputStream out, int capacity) {
    this.out = out;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.thread = new Thread(this::run, "kmsgw-log-writer");
    thread.setDaemon(true);
    thread.start();
  }

  public void write(String line) {
    if (!queue.offer(line)) {
      dropped.incrementAndGet();
    }
  }

  private void run() {
    List<String> batch = new ArrayList<>(4096);
    StringBuilder sb = new StringBuilder(1 << 16);
    while (running || !queue.isEmpty()) {
      try {
        String first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, 4095);
        if (batch.size() < 64 && running) {
          // under load, wait a moment for more lines: one write per few hundred lines, not per line
          Thread.sleep(2);
          queue.drainTo(batch, 4095 - batch.size());
        }
        long lost = dropped.getAndSet(0);
        if (lost > 0) {
          batch.add("log writer: dropped " + lost + " lines (queue full)");
        }
        for (String line : batch) {
          sb.append(line).append('\n');
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        batch.clear();
        sb.setLength(0);
      }
    }
  }

  /** Writes what is queued, then stops. */
  @Override
  public void close() {
    running = false;
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
