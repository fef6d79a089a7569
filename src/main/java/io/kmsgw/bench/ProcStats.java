package io.kmsgw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and memory of a process, read from Linux's /proc. */
final class ProcStats {
  /** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux kmsgw runs on (USER_HZ). */
  private static final double TICKS_PER_SECOND = 100.0;

  /** The thread group of the C1 and C2 compilers. */
  static final String JIT = "JIT compiler";

  private ProcStats() {}

  /** User plus system CPU seconds the process has used so far. */
  static double cpuSeconds(long pid) {
    try {
      return cpu(Path.of("/proc", Long.toString(pid), "stat"), UTIME);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** utime and stime (the process's or thread's own), and cutime and cstime (its children waited for). */
  private static final int UTIME = 11;
  private static final int CUTIME = 13;

  /** Seconds of the two tick counts at {@code field} and the one after it in a /proc stat file. */
  private static double cpu(Path stat, int field) throws IOException {
    String text = Files.readString(stat);
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    String[] f = text.substring(text.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[field]) + Long.parseLong(f[field + 1])) / TICKS_PER_SECOND;
  }

  /**
   * The machine's idle, iowait and steal seconds so far, summed over its CPUs (the first line of /proc/stat): idle
   * time shows whether a scenario kept the cores busy, iowait how much of the rest was a CPU with nothing to run but
   * waiting for the disk, steal how much of them the hypervisor gave to other guests. NaN where /proc/stat cannot be
   * read.
   */
  static double[] machineIdleIowaitSteal() {
    try {
      String first = Files.readAllLines(Path.of("/proc/stat")).get(0);
      // cpu user nice system idle iowait irq softirq steal ...
      String[] f = first.trim().split("\\s+");
      return new double[] {Long.parseLong(f[4]) / TICKS_PER_SECOND, Long.parseLong(f[5]) / TICKS_PER_SECOND,
          Long.parseLong(f[8]) / TICKS_PER_SECOND};
    } catch (IOException | RuntimeException e) {
      return new double[] {Double.NaN, Double.NaN, Double.NaN};
    }
  }

  /**
   * CPU seconds of this process's children that have ended and been waited for (cutime plus cstime of
   * /proc/self/stat): the load generator's CPU once its process has exited.
   */
  static double endedChildrenCpuSeconds() {
    try {
      return cpu(Path.of("/proc/self/stat"), CUTIME);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /**
   * CPU seconds per group of threads (event loops, HSM workers, store, logging, GC, JIT, other): where the
   * gateway's time goes.
   */
  static java.util.Map<String, Double> cpuByThreadGroup(long pid) {
    java.util.Map<String, Double> groups = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks.toList()) {
        try {
          String comm = Files.readString(task.resolve("comm")).strip();
          groups.merge(group(comm), cpu(task.resolve("stat"), UTIME), Double::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      return groups;
    }
    return groups;
  }

  /** Linux truncates thread names to 15 characters. */
  static String group(String comm) {
    if (comm.startsWith("vert.x-eventloo")) {
      return "event loops (HTTP, SigV4, JSON)";
    }
    if (comm.startsWith("kmsgw-hsm")) {
      return "HSM workers (PKCS#11)";
    }
    if (comm.startsWith("kmsgw-store")) {
      return "metadata store (JDBC)";
    }
    if (comm.startsWith("kmsgw-audit")) {
      return "audit writer";
    }
    if (comm.startsWith("kmsgw-log")) {
      return "log writer";
    }
    if (comm.startsWith("GC Thread") || comm.startsWith("G1 ") || comm.startsWith("VM Thread")
        || comm.startsWith("ParGC") || comm.startsWith("GC ")) {
      return "GC and VM";
    }
    if (comm.startsWith("C2 Compiler") || comm.startsWith("C1 Compiler")) {
      return JIT;
    }
    return "other";
  }

  /** Peak resident set size so far (VmHWM), in MiB. */
  static double peakRssMiB(long pid) {
    return statusKiB(pid, "VmHWM:") / 1024.0;
  }

  /** Resident set size now (VmRSS), in MiB. */
  static double rssMiB(long pid) {
    return statusKiB(pid, "VmRSS:") / 1024.0;
  }

  /** Threads the process has now; -1 where /proc cannot be read. */
  static long threads(long pid) {
    return statusKiB(pid, "Threads:");
  }

  /** Open file descriptors of the process now (sockets, files, the PKCS#11 library's); -1 where unreadable. */
  static long openFiles(long pid) {
    try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return fds.count();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** A numeric field of /proc/PID/status (a size in KiB, or a count), without its unit; -1 where unreadable. */
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
