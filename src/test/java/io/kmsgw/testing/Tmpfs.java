package io.kmsgw.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs for the disk-full tests (issue #15): mounted as root, or the test is skipped with a message saying
 * why; filled to the last byte; detached at the end.
 */
public final class Tmpfs {
  private Tmpfs() {}

  /** Mounts a tmpfs of {@code size} (such as {@code 4m}) at {@code dir}, mode 0700; skips the calling test if not root. */
  public static void mountOrSkip(Path dir, String size, String test) throws Exception {
    assumeRoot(test);
    Files.createDirectories(dir);
    int rc = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir.toString());
    assumeTrue(rc == 0, "mount -t tmpfs failed (exit " + rc + "; no CAP_SYS_ADMIN in this container?); skipped");
  }

  /** Skips the calling test unless it runs as root, which mounting needs. */
  public static void assumeRoot(String test) {
    assumeTrue("root".equals(System.getProperty("user.name")),
        test + " needs root to mount a tmpfs as the audit directory; skipped (run mvn verify as root)");
  }

  /** Unmounts; a file still open (a log a failed test did not close) makes umount busy: detached lazily then. */
  public static void unmount(Path dir) throws Exception {
    if (run("umount", dir.toString()) != 0) {
      run("umount", "-l", dir.toString());
    }
  }

  /** Writes {@code filler} until the file system is full. */
  public static void fill(Path filler) throws IOException {
    byte[] chunk = new byte[4096];
    Arrays.fill(chunk, (byte) 'x');
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(chunk);
        out.flush();
      }
    } catch (IOException e) {
      if (!String.valueOf(e.getMessage()).contains("No space left")) {
        throw e;
      }
    }
  }

  private static int run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
  }
}
