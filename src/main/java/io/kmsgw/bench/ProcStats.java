package io.kmsgw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and memory of a process, read from Linux's /proc. */
final class ProcStats {
  /** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux kmsgw runs on (USER_HZ). */
  private static final double TICKS_PER_SECOND = 100.0;

  private ProcStats() {}

  /** User plus system CPU seconds the process has used so far. */
  static double cpuSeconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // the command name (field 2) may contain spaces: count fields after its closing parenthesis
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** Peak resident set size so far (VmHWM), in MiB. */
  static double peakRssMiB(long pid) {
    return statusKiB(pid, "VmHWM:") / 1024.0;
  }

  /** Resident set size now (VmRSS), in MiB. */
  static double rssMiB(long pid) {
    return statusKiB(pid, "VmRSS:") / 1024.0;
  }

  private static long statusKiB(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.substring(field.length()).replace("kB", "").strip());
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
