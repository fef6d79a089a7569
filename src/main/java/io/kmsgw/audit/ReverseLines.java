package io.kmsgw.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The complete lines of a file, last first: each line ends in {@code \n}, and bytes after the last {@code \n} (a
 * line still being written) are never returned. Reads the file backwards in blocks, so a lookup that stops after a
 * few recent events reads only the end of a large file.
 */
final class ReverseLines implements Closeable {
  private static final int BLOCK = 64 * 1024;

  /** A line without its {@code \n}, and the offset of its first byte. */
  record Line(long offset, String text, int bytes) {}

  private final FileChannel channel;
  /** Lines longer than this are refused (an IOException) rather than read into memory. */
  private int maxLine = Integer.MAX_VALUE;
  /** The lines still to return end before this offset (it is 0 or just after a {@code \n}). */
  private long limit;
  private final byte[] block = new byte[BLOCK];
  /** The file's bytes {@code [blockStart, blockStart + blockLength)} are in {@code block}. */
  private long blockStart;
  private int blockLength;

  /**
   * @param end read the lines that end at or before this offset, which must be 0 or just after a {@code \n}; or
   *     -1 for every complete line of the file as it is now
   */
  ReverseLines(Path file, long end) throws IOException {
    channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      // the file being written ends in pre-allocated zero bytes, which are not lines
      long size = AuditFiles.dataEnd(channel);
      if (end < 0) {
        limit = size == 0 ? 0 : newlineAtOrBefore(size - 1) + 1;
      } else {
        if (end > size || (end > 0 && byteAt(end - 1) != '\n')) {
          throw new IllegalArgumentException("offset " + end + " is not the start of a line");
        }
        limit = end;
      }
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** As {@link #ReverseLines(Path, long)}, refusing lines longer than {@code maxLine} bytes (see {@link #next()}). */
  ReverseLines(Path file, long end, int maxLine) throws IOException {
    this(file, end);
    this.maxLine = maxLine;
  }

  /**
   * The lines that end at or before {@code end}, taken as the end of a complete line without checking it against
   * the zero tail (a restart, which found it itself, and may find bytes of a torn write after it); lines longer than
   * {@code maxLine} bytes make {@link #next()} fail instead of being read into memory.
   */
  static ReverseLines endingAt(Path file, long end, int maxLine) throws IOException {
    ReverseLines r = new ReverseLines(file, 0);
    r.limit = end;
    r.maxLine = maxLine;
    return r;
  }

  /** The line before the last one returned, or null at the start of the file. */
  Line next() throws IOException {
    if (limit <= 0) {
      return null;
    }
    // limit - 1 is this line's '\n'
    long start = limit >= 2 ? newlineAtOrBefore(limit - 2) + 1 : 0;
    long length0 = limit - 1 - start;
    if (length0 > maxLine) {
      throw new IOException("a line of " + length0 + " bytes at offset " + start + ", longer than any the gateway "
          + "writes (" + maxLine + ")");
    }
    int length = (int) length0;
    byte[] bytes = read(start, length);
    limit = start;
    return new Line(start, new String(bytes, StandardCharsets.UTF_8), length + 1);
  }

  /** The offset of the last {@code \n} at or before {@code pos}, or -1. */
  private long newlineAtOrBefore(long pos) throws IOException {
    long p = pos;
    while (p >= 0) {
      if (p < blockStart || p >= blockStart + blockLength) {
        load(Math.max(0, p + 1 - BLOCK), (int) Math.min(BLOCK, p + 1));
      }
      for (int i = (int) (p - blockStart); i >= 0; i--) {
        if (block[i] == '\n') {
          return blockStart + i;
        }
      }
      p = blockStart - 1;
    }
    return -1;
  }

  private byte byteAt(long pos) throws IOException {
    if (pos < blockStart || pos >= blockStart + blockLength) {
      load(Math.max(0, pos + 1 - BLOCK), (int) Math.min(BLOCK, pos + 1));
    }
    return block[(int) (pos - blockStart)];
  }

  private void load(long start, int length) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(block, 0, length);
    readFully(b, start);
    blockStart = start;
    blockLength = length;
  }

  private byte[] read(long start, int length) throws IOException {
    byte[] out = new byte[length];
    if (start >= blockStart && start + length <= blockStart + blockLength) {
      System.arraycopy(block, (int) (start - blockStart), out, 0, length);
    } else {
      readFully(ByteBuffer.wrap(out), start);
    }
    return out;
  }

  private void readFully(ByteBuffer b, long position) throws IOException {
    long p = position;
    while (b.hasRemaining()) {
      int n = channel.read(b, p);
      if (n < 0) {
        throw new IOException("the file ended at " + p + ", it was shortened while being read");
      }
      p += n;
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
