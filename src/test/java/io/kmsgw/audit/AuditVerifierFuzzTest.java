package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.testing.Fuzzing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * {@code kmsgw audit verify} on mangled files: a genuine, signed audit file of 6 events, with bytes overwritten,
 * inserted or cut where the input says. Must hold: the verifier answers (a report, never an exception other than
 * an I/O error), and any change to the file's content (trailing zero bytes aside, which are pre-allocation) is
 * reported: the exit code is never 0 for a file that is not the one written.
 */
class AuditVerifierFuzzTest {
  private static final Path BASE = Path.of("target", "fuzz-audit");
  private static final byte[] ORIGINAL;
  private static final String NAME;

  static {
    try {
      Path dir = BASE.resolve("original");
      deleteTree(dir);
      Path file = AuditTesting.writeLog(dir, new SoftwareSigner(), 6);
      ORIGINAL = Files.readAllBytes(file);
      NAME = file.getFileName().toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void mangledFilesAreReported(FuzzedDataProvider data) throws IOException {
    byte[] bytes = ORIGINAL.clone();
    int edits = data.consumeInt(1, 4);
    for (int i = 0; i < edits && bytes.length > 0; i++) {
      int at = data.consumeInt(0, bytes.length - 1);
      switch (data.consumeInt(0, 3)) {
        case 0 -> bytes[at] = data.consumeByte();
        case 1 -> bytes = Arrays.copyOf(bytes, at); // cut
        case 2 -> { // insert
          byte[] in = data.consumeBytes(data.consumeInt(1, 8));
          byte[] out = new byte[bytes.length + in.length];
          System.arraycopy(bytes, 0, out, 0, at);
          System.arraycopy(in, 0, out, at, in.length);
          System.arraycopy(bytes, at, out, at + in.length, bytes.length - at);
          bytes = out;
        }
        default -> { // delete a run
          int n = Math.min(data.consumeInt(1, 64), bytes.length - at);
          byte[] out = new byte[bytes.length - n];
          System.arraycopy(bytes, 0, out, 0, at);
          System.arraycopy(bytes, at + n, out, at, bytes.length - at - n);
          bytes = out;
        }
      }
    }
    Path dir = Files.createTempDirectory(Files.createDirectories(BASE), "case");
    try {
      Files.write(dir.resolve(NAME), bytes);
      AuditVerifier.Report r = AuditTesting.verify(dir);
      assertNotNull(r);
      if (Arrays.equals(withoutTrailingZeros(bytes), withoutTrailingZeros(ORIGINAL))) {
        assertEquals(0, r.exitCode(), String.valueOf(r.firstProblem()));
      } else {
        assertNotEquals(0, r.exitCode(), "a changed audit file verified as valid and covered");
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static byte[] withoutTrailingZeros(byte[] b) {
    int end = b.length;
    while (end > 0 && b[end - 1] == 0) {
      end--;
    }
    return Arrays.copyOf(b, end);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
