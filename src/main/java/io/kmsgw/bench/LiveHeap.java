package io.kmsgw.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The live data of a JVM's heap: a full collection through {@code jcmd PID GC.run}, then the heap's used size from
 * {@code jcmd PID GC.heap_info}. Resident memory cannot show a leak inside a fixed heap (the heap's pages are
 * resident whether they hold live objects or garbage); what survives a full collection can.
 */
final class LiveHeap {
  /** {@code garbage-first heap   total 524288K, used 61234K [...]} and the like for the other collectors. */
  private static final Pattern USED = Pattern.compile("heap\\s+total\\s+\\d+K,\\s+used\\s+(\\d+)K");

  private LiveHeap() {}

  /** MiB in use after a full collection; -1 where jcmd is missing or could not attach. */
  static double afterFullGcMiB(long pid) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    if (pid < 0 || !Files.isExecutable(jcmd)) {
      return -1;
    }
    try {
      if (run(jcmd, pid, "GC.run") == null) {
        return -1;
      }
      String info = run(jcmd, pid, "GC.heap_info");
      return info == null ? -1 : parseUsedMiB(info);
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The used size in MiB from {@code GC.heap_info}'s output; -1 where it has none. */
  static double parseUsedMiB(String heapInfo) {
    Matcher m = USED.matcher(heapInfo);
    return m.find() ? Long.parseLong(m.group(1)) / 1024.0 : -1;
  }

  private static String run(Path jcmd, long pid, String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      return null;
    }
    return out;
  }
}
