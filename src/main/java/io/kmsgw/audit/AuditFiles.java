package io.kmsgw.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The audit files of a directory: {@code audit-YYYYMMDD-NNN.jsonl}, the UTC day the file was started and a counter
 * within the day (three digits or more), in the order the chain runs through them.
 */
public final class AuditFiles {
  static final Pattern NAME = Pattern.compile("audit-(\\d{8})-(\\d{3,})\\.jsonl");
  private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;

  private AuditFiles() {}

  /** One audit file by its name's parts. */
  public record Entry(Path path, LocalDate day, int counter) {
    public String name() {
      return path.getFileName().toString();
    }
  }

  static final Comparator<Entry> ORDER = Comparator.comparing(Entry::day).thenComparingInt(Entry::counter);

  /** Every audit file in the directory, in chain order; other files are ignored. */
  public static List<Entry> list(Path dir) throws IOException {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(p -> {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (m.matches() && Files.isRegularFile(p)) {
          out.add(new Entry(p, LocalDate.parse(m.group(1), DAY), Integer.parseInt(m.group(2))));
        }
      });
    }
    out.sort(ORDER);
    return out;
  }

  static String name(LocalDate day, int counter) {
    return String.format("audit-%s-%03d.jsonl", DAY.format(day), counter);
  }

  /**
   * Where a file's written bytes end. The file being written is extended ahead of its writer with zero bytes
   * ({@link Preallocation}), and no line contains a zero byte (JSON escapes control characters), so its lines
   * end at its first zero byte. Finds that byte with a binary search (a few reads, not a scan of the tail); every
   * other file ends at its size.
   */
  static long dataEnd(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size == 0 || byteAt(ch, size - 1) != 0) {
      return size;
    }
    long lo = 0;
    long hi = size - 1;
    while (lo < hi) {
      long mid = (lo + hi) >>> 1;
      if (byteAt(ch, mid) == 0) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /**
   * Where a file's content ends, read whole: {@code lines} just after its last complete line (its last {@code \n}
   * before the first zero byte), {@code written} just after its last byte that is not zero. Bytes between the two are
   * a write cut short by a crash (never acknowledged); zeros after {@code written} are the pre-allocated tail.
   */
  record Extent(int lines, int written) {}

  static Extent extent(byte[] bytes) {
    int zero = firstZero(bytes);
    int lines = zero;
    while (lines > 0 && bytes[lines - 1] != '\n') {
      lines--;
    }
    return new Extent(lines, endOfNonZero(bytes, zero));
  }

  /** The offset of the first zero byte, or the length when there is none. */
  static int firstZero(byte[] bytes) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        return i;
      }
    }
    return bytes.length;
  }

  /** The offset just after the last byte that is not zero, at or after {@code from}; {@code from} when none is. */
  private static int endOfNonZero(byte[] bytes, int from) {
    for (int i = bytes.length - 1; i >= from; i--) {
      if (bytes[i] != 0) {
        return i + 1;
      }
    }
    return from;
  }

  private static byte byteAt(FileChannel ch, long pos) throws IOException {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
    if (ch.read(b, pos) != 1) {
      throw new IOException("the file ended at " + pos + " while being read");
    }
    return b.get(0);
  }

  /**
   * The first line of a file without its {@code \n} (up to the first {@code \n} or zero byte, or the end), read
   * with bounded memory: null when the file is empty, or the line is longer than {@code maxLine} bytes.
   */
  static String firstLine(Path file, int maxLine) throws IOException {
    try (ForwardLines in = new ForwardLines(file, maxLine)) {
      ForwardLines.Line l = in.next();
      return l == null ? null : l.text();
    }
  }

  private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> FILE_MODE =
      java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
  private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> DIR_MODE =
      java.nio.file.attribute.PosixFilePermissions.fromString("rwx------");

  private static boolean posix(Path p) {
    return p.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  /**
   * Creates a new audit file for writing, mode 0600 from its creation on (the mode is given to open(2); the umask
   * can only narrow it). Fails if it exists.
   */
  static FileChannel create(Path file) throws IOException {
    java.nio.file.attribute.FileAttribute<?>[] attrs = posix(file)
        ? new java.nio.file.attribute.FileAttribute<?>[] {
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(FILE_MODE)}
        : new java.nio.file.attribute.FileAttribute<?>[0];
    return FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs);
  }

  /** Creates the audit directory (and its parents) as needed, and makes the directory itself mode 0700. */
  static void createDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      if (posix(dir)) {
        Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(DIR_MODE));
      } else {
        Files.createDirectories(dir);
      }
    }
    if (posix(dir)) {
      Files.setPosixFilePermissions(dir, DIR_MODE);
    }
  }

  /** Narrows audit files that an earlier version created with a wider mode (0644) to 0600. */
  static void restrict(List<Entry> files) throws IOException {
    for (Entry e : files) {
      if (posix(e.path()) && !Files.getPosixFilePermissions(e.path()).equals(FILE_MODE)) {
        Files.setPosixFilePermissions(e.path(), FILE_MODE);
        java.util.logging.Logger.getLogger(AuditFiles.class.getName()).info(() -> "audit: " + e.name()
            + " was readable by others than the gateway's user: now mode 0600");
      }
    }
  }

  /** Makes a created or deleted file's directory entry durable (fsync of the directory). */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // some file systems refuse to open a directory for reading; the file's own fsync is all there is then
      if (!Files.isDirectory(dir)) {
        throw e;
      }
    }
  }
}
