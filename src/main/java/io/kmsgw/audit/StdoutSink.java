package io.kmsgw.audit;

import java.io.PrintStream;
import java.util.List;

/** Every audit line, as written to the file, on standard output (one JSON object a line). */
public final class StdoutSink extends QueuedSink {
  private final PrintStream out;

  public StdoutSink(PrintStream out) {
    super("stdout", 65_536, 1024);
    this.out = out;
    start();
  }

  @Override
  void deliver(List<String> lines) {
    StringBuilder sb = new StringBuilder();
    lines.forEach(l -> sb.append(l).append('\n'));
    synchronized (out) {
      out.print(sb);
      out.flush();
    }
  }
}
