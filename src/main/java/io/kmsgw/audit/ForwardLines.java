package io.kmsgw.audit;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The complete lines of an audit file, first first, read in blocks so that memory stays bounded whatever the file's
 * size: a line longer than {@code maxLine} bytes is not kept (its text is null; its length is counted). Lines end at
 * the first zero byte (the pre-allocated tail of the file being written, see {@link AuditFiles#extent}); once every
 * line was returned, {@link #linesEnd()} and {@link #writtenEnd()} tell where the complete lines and the bytes that
 * are not zero end, as {@link AuditFiles.Extent} does for a file read whole.
 */
final class ForwardLines implements Closeable {
  private static final int BLOCK = 64 * 1024;

  /** A line without its {@code \n}: its text, or null when it is longer than the limit; its length in bytes. */
  record Line(String text, long bytes) {}

  private final FileChannel channel;
  private final int maxLine;
  private final ByteBuffer block = ByteBuffer.allocate(BLOCK);
  private final ByteArrayOutputStream current = new ByteArrayOutputStream();
  /** The file offset of the next byte in {@code block}. */
  private long position;
  private long lineStart;
  private long lineLength;
  private boolean overlong;
  private boolean atZero;
  private boolean eof;
  private long linesEnd;
  private long writtenEnd = -1;

  ForwardLines(Path file, int maxLine) throws IOException {
    this.channel = FileChannel.open(file, StandardOpenOption.READ);
    this.maxLine = maxLine;
    block.flip();
  }

  /** The next complete line, or null when there is none left. */
  Line next() throws IOException {
    while (!atZero) {
      if (!block.hasRemaining() && !fill()) {
        eof = true;
        break;
      }
      byte[] a = block.array();
      int from = block.position();
      int end = block.limit();
      for (int i = from; i < end; i++) {
        byte b = a[i];
        if (b == '\n') {
          append(a, from, i - from);
          block.position(i + 1);
          long consumedTo = position - (end - (i + 1));
          Line line = new Line(overlong ? null : current.toString(StandardCharsets.UTF_8), lineLength);
          linesEnd = consumedTo;
          lineStart = consumedTo;
          current.reset();
          lineLength = 0;
          overlong = false;
          return line;
        }
        if (b == 0) {
          append(a, from, i - from);
          block.position(i);
          atZero = true;
          break;
        }
      }
      if (!atZero) {
        append(a, from, end - from);
        block.position(end);
      }
    }
    return null;
  }

  private void append(byte[] a, int from, int length) {
    lineLength += length;
    if (overlong) {
      return;
    }
    if (current.size() + (long) length > maxLine) {
      overlong = true;
      current.reset();
      return;
    }
    current.write(a, from, length);
  }

  private boolean fill() throws IOException {
    block.clear();
    int n;
    do {
      n = channel.read(block, position);
    } while (n == 0);
    if (n < 0) {
      block.flip();
      return false;
    }
    position += n;
    block.flip();
    return true;
  }

  /** Just after the last complete line (call after {@link #next()} returned null). */
  long linesEnd() {
    return linesEnd;
  }

  /**
   * Just after the last byte that is not zero (call after {@link #next()} returned null): beyond {@link #linesEnd()}
   * when a line was cut short, or bytes of an unacknowledged write lie among the zeros. Reads the rest of the file.
   */
  long writtenEnd() throws IOException {
    if (writtenEnd >= 0) {
      return writtenEnd;
    }
    if (eof) {
      // no zero byte: every byte counts, including a last line without its end
      writtenEnd = lineStart + lineLength;
      return writtenEnd;
    }
    long last = lineStart + lineLength; // the first zero byte
    long pos = last;
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    while (true) {
      b.clear();
      int n = channel.read(b, pos);
      if (n < 0) {
        break;
      }
      byte[] a = b.array();
      for (int i = n - 1; i >= 0; i--) {
        if (a[i] != 0) {
          last = pos + i + 1;
          break;
        }
      }
      pos += n;
    }
    writtenEnd = last;
    return writtenEnd;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
