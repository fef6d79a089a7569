package io.kmsgw.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.IntPredicate;

/**
 * What a restart needs of the newest audit file, read from its end only, so that memory stays bounded and the time
 * does not grow with the file: where its complete lines end, what a write cut short by a crash left after them, its
 * last line and the last digest line (or, when the file holds none yet, the one its header repeats as anchor).
 *
 * <p>Where the lines end: the complete lines are followed by the pre-allocated zero tail and, after a crash, by the
 * bytes of one unacknowledged write, which may lie among zeros (the disk kept a later page of it and not an earlier
 * one). Acknowledged lines contain no zero byte, and the writer never writes more than {@link AuditWriter#MAX_WRITE}
 * bytes at once (or one longer line), so every zero byte that is not part of the tail lies within that distance of
 * the last byte that is not zero: the first zero byte of the file, where the lines end, is found in that window.
 */
final class AuditTail {
  private static final int BLOCK = 64 * 1024;
  /** How far before the last byte that is not zero a torn write can begin. */
  static final long TORN_WINDOW = AuditWriter.MAX_WRITE + AuditVerifier.MAX_LINE;

  /**
   * @param lines just after the last complete line (0: none)
   * @param written just after the last byte that is not zero
   * @param tornSha256 SHA-256 of the bytes {@code [lines, written)}, or null when there are none
   * @param lastLine the last complete line, or null when there is none
   * @param lastDigest the last digest line of the file, else its header's anchor, else null
   * @param firstLine the file's first line (its header), or null when there is none
   */
  record Tail(long lines, long written, String tornSha256, String lastLine, String lastDigest, String firstLine) {}

  private AuditTail() {}

  static Tail read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long written = lastNonZero(ch, ch.size());
      long zero = firstZero(ch, Math.max(0, written - TORN_WINDOW), written);
      long lines = newlineBefore(ch, zero) + 1;
      String torn = lines < written ? sha256(ch, lines, written) : null;
      if (lines == 0) {
        return new Tail(0, written, torn, null, null, null);
      }
      String last = null;
      String digest = null;
      String first = null;
      try (ReverseLines r = ReverseLines.endingAt(file, lines, AuditVerifier.MAX_LINE)) {
        ReverseLines.Line l;
        while ((l = r.next()) != null) {
          if (last == null) {
            last = l.text();
          }
          if (l.offset() == 0) {
            first = l.text();
          }
          if (digest == null && l.text().contains("},\"digest\":{")
              && "digest".equals(AuditRecords.parse(l.text()).kind())) {
            digest = l.text();
            break;
          }
        }
      }
      if (first == null) {
        first = AuditFiles.firstLine(file, AuditVerifier.MAX_LINE);
      }
      if (digest == null && first != null) {
        AuditRecords.Parsed header = AuditRecords.parse(first);
        if ("file".equals(header.kind())) {
          digest = header.json().getJsonObject("file").getString("anchor");
        }
      }
      return new Tail(lines, written, torn, last, digest, first);
    }
  }

  /** Just after the last byte before {@code end} that is not zero; 0 when there is none. */
  private static long lastNonZero(FileChannel ch, long end) throws IOException {
    return lastBefore(ch, end, v -> v != 0) + 1;
  }

  /** The first zero byte in {@code [from, end)}, or {@code end}. */
  private static long firstZero(FileChannel ch, long from, long end) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    for (long pos = from; pos < end; pos += b.limit()) {
      read(ch, b, pos, (int) Math.min(BLOCK, end - pos));
      for (int i = 0; i < b.limit(); i++) {
        if (b.get(i) == 0) {
          return pos + i;
        }
      }
    }
    return end;
  }

  /** The offset of the last {@code \n} before {@code end}, or -1. */
  private static long newlineBefore(FileChannel ch, long end) throws IOException {
    return lastBefore(ch, end, v -> v == '\n');
  }

  /** The offset of the last byte before {@code end} that {@code wanted} accepts, or -1; read backwards in blocks. */
  private static long lastBefore(FileChannel ch, long end, IntPredicate wanted) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    long pos = end;
    while (pos > 0) {
      long start = Math.max(0, pos - BLOCK);
      read(ch, b, start, (int) (pos - start));
      for (int i = b.limit() - 1; i >= 0; i--) {
        if (wanted.test(b.get(i))) {
          return start + i;
        }
      }
      pos = start;
    }
    return -1;
  }

  private static String sha256(FileChannel ch, long from, long to) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    for (long pos = from; pos < to; pos += b.limit()) {
      read(ch, b, pos, (int) Math.min(BLOCK, to - pos));
      md.update(b.array(), 0, b.limit());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void read(FileChannel ch, ByteBuffer b, long position, int length) throws IOException {
    b.clear().limit(length);
    long p = position;
    while (b.hasRemaining()) {
      int n = ch.read(b, p);
      if (n < 0) {
        throw new IOException("the file ended at " + p + ", it was shortened while being read");
      }
      p += n;
    }
    b.flip();
  }
}
