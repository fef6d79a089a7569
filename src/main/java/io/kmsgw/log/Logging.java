package io.kmsgw.log;

import java.io.PrintStream;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One log stream on standard output: java.util.logging records and the per-request lines, one line each,
 * written by a background thread. Never given a secret to write: callers log ids, ARNs and error names only.
 */
public final class Logging {
  private static volatile AsyncLineWriter writer;

  private Logging() {}

  /** Routes java.util.logging to standard output at the given level ({@code KMSGW_LOG_LEVEL}). */
  public static synchronized void configure(Level level, PrintStream stdout) {
    if (writer != null) {
      return;
    }
    writer = new AsyncLineWriter(stdout, 65536);
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    root.setLevel(level);
    Handler h = new Handler() {
      private final Formatter formatter = new LineFormatter();

      @Override
      public void publish(LogRecord record) {
        if (isLoggable(record)) {
          writer.write(formatter.format(record));
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    h.setLevel(level);
    root.addHandler(h);
    // Netty and Vert.x internals are noisy at INFO
    Logger.getLogger("io.netty").setLevel(Level.WARNING);
    Runtime.getRuntime().addShutdownHook(new Thread(Logging::close, "kmsgw-log-flush"));
  }

  /** Writes a preformatted line (the request log). */
  public static void line(String line) {
    AsyncLineWriter w = writer;
    if (w != null) {
      w.write(line);
    }
  }

  public static void close() {
    AsyncLineWriter w = writer;
    if (w != null) {
      w.close();
    }
  }

  /** {@code <time> <LEVEL> <logger> <message>} on one line; a stack trace follows on its own lines. */
  static final class LineFormatter extends Formatter {
    @Override
    public String format(LogRecord r) {
      StringBuilder sb = new StringBuilder(160);
      sb.append(Instant.ofEpochMilli(r.getMillis())).append(' ').append(r.getLevel().getName()).append(' ');
      String name = r.getLoggerName() == null ? "" : r.getLoggerName();
      sb.append(name.substring(name.lastIndexOf('.') + 1)).append(' ').append(formatMessage(r));
      if (r.getThrown() != null) {
        java.io.StringWriter sw = new java.io.StringWriter();
        r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
        sb.append('\n').append(sw.toString().stripTrailing());
      }
      return sb.toString();
    }
  }
}
