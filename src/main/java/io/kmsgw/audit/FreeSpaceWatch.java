package io.kmsgw.audit;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Watches the free space of the audit directory's file system against a watermark ({@code audit.low_space_mb}), so
 * that a nearly full disk is seen before the trail fails: {@link #low()} feeds the health document, and the log
 * warns once when the space falls below the watermark (and says once when it is back above). Checked by the audit
 * writer thread, at most every {@link #INTERVAL_NANOS} (a statvfs call; never on an event loop).
 */
final class FreeSpaceWatch {
  private static final Logger LOG = Logger.getLogger(FreeSpaceWatch.class.getName());
  static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final Path dir;
  private final long watermark;
  private volatile boolean low;
  private volatile long free = -1;
  private long lastCheck;
  private boolean checked;

  /** @param watermark bytes; 0 turns the watch off */
  FreeSpaceWatch(Path dir, long watermark) {
    this.dir = dir;
    this.watermark = watermark;
  }

  /** Whether the free space was below the watermark at the last check. */
  boolean low() {
    return low;
  }

  /** The usable bytes at the last check, or -1 before the first. */
  long free() {
    return free;
  }

  /** Checks unless the last check is recent (or {@code now} is true). */
  void check(boolean now) {
    if (watermark <= 0) {
      return;
    }
    long t = System.nanoTime();
    if (!now && checked && t - lastCheck < INTERVAL_NANOS) {
      return;
    }
    checked = true;
    lastCheck = t;
    long usable;
    try {
      FileStore store = Files.getFileStore(dir);
      usable = store.getUsableSpace();
    } catch (IOException | RuntimeException e) {
      return; // the next write will tell, if the directory is gone
    }
    free = usable;
    boolean below = usable < watermark;
    if (below && !low) {
      LOG.warning(() -> "audit: low space: " + (usable >> 20) + " MiB free in the audit directory " + dir
          + ", below audit.low_space_mb (" + (watermark >> 20) + " MiB); when it is full every KMS request is "
          + "refused until space returns");
    } else if (!below && low) {
      LOG.info(() -> "audit: space in the audit directory is back above audit.low_space_mb (" + (usable >> 20)
          + " MiB free)");
    }
    low = below;
  }
}
