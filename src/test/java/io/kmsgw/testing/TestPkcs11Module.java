package io.kmsgw.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * kmsgw's PKCS#11 test module ({@code src/test/c/kmsgw_test_pkcs11.c}, compiled with gcc by the test build into
 * {@code target/native/}) and its control file. The module forwards every call to SoftHSM2 (or the module named by
 * {@code target=}) and behaves as the control file says: vendor behaviour (AWS CloudHSM, Luna in FIPS mode), faults,
 * hangs, a token that disappears. The module re-reads the file whenever it changes, so a test can change the
 * behaviour of a running gateway. The format is documented at the head of the C file and in docs/testing.md.
 *
 * <p>Inside the test JVM the module is loaded once, with the control file that Maven names in
 * {@code KMSGW_TEST_PKCS11_CONTROL} ({@link #inThisJvm()}); tests sharing it set it in {@code @BeforeEach}. A child
 * process (pkcs11-tool, a gateway) gets a control file of its own ({@link #forChildProcess}) through
 * {@link #environment()}.
 */
public final class TestPkcs11Module {
  public static final String CONTROL_ENV = "KMSGW_TEST_PKCS11_CONTROL";
  public static final String TARGET_ENV = "KMSGW_TEST_PKCS11_TARGET";

  /** Per control file, the size of the last version written (see {@link #set}). */
  private static final Map<Path, Integer> LAST_SIZE = new java.util.HashMap<>();

  private final Path control;
  private final Path log;

  private TestPkcs11Module(Path control) {
    this.control = control.toAbsolutePath();
    this.log = Path.of(this.control + ".log");
  }

  /** The built module, {@code target/native/libkmsgw-test-pkcs11.so}. */
  public static Path library() {
    return built("libkmsgw-test-pkcs11.so");
  }

  /** The C program that checks the module's AES-GCM behaviour without a JNI layer in between. */
  public static Path gcmIvCheck() {
    return built("gcm-iv-check");
  }

  private static Path built(String name) {
    Path dir = Path.of(System.getProperty("kmsgw.test.native.dir", "target/native"));
    Path file = dir.resolve(name).toAbsolutePath();
    if (!Files.isReadable(file)) {
      throw new IllegalStateException(file + " is missing: the test build compiles it with gcc (mvn test-compile "
          + "runs process-test-classes; apt-get install gcc)");
    }
    return file;
  }

  /** The control of the module as this JVM loads it (Maven sets {@code KMSGW_TEST_PKCS11_CONTROL}). */
  public static TestPkcs11Module inThisJvm() {
    String path = System.getenv(CONTROL_ENV);
    if (path == null || path.isBlank()) {
      throw new IllegalStateException("run tests through Maven: " + CONTROL_ENV + " must name the control file");
    }
    try {
      Files.createDirectories(Path.of(path).toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new TestPkcs11Module(Path.of(path));
  }

  /** A control file of its own under {@code target/test-data/}, for a child process started with {@link #environment()}. */
  public static TestPkcs11Module forChildProcess(String name) {
    return new TestPkcs11Module(TestToken.scratch(name).resolve("control"));
  }

  /** What a child process needs in its environment to be driven by this control file. */
  public Map<String, String> environment() {
    return Map.of(CONTROL_ENV, control.toString());
  }

  public Path controlFile() {
    return control;
  }

  public Path logFile() {
    return log;
  }

  /**
   * Replaces the control with these {@code key=value} lines (plus {@code log=} pointing at {@link #logFile()}). The new
   * file is renamed over the old one, so the module never reads half of it; every call made after this returns sees
   * it, and the call counters of {@code fail.} and {@code hang.} rules start again.
   */
  public TestPkcs11Module set(String... lines) {
    StringBuilder text = new StringBuilder("log=").append(log).append('\n');
    for (String line : lines) {
      if (line.indexOf('\n') >= 0 || line.indexOf('=') < 0) {
        throw new IllegalArgumentException("one key=value per line: " + line);
      }
      text.append(line).append('\n');
    }
    // The module notices a change by inode, size and mtime. A renamed temporary file can reuse the inode just freed,
    // and mtime moves in coarse steps: a size different from the last file's makes every change visible.
    String header = "# written by TestPkcs11Module\n";
    synchronized (LAST_SIZE) {
      Integer last = LAST_SIZE.get(control);
      if (last != null && last == header.length() + text.length()) {
        header = "## written by TestPkcs11Module\n";
      }
      text.insert(0, header);
      LAST_SIZE.put(control, text.length());
    }
    try {
      Files.createDirectories(control.getParent());
      Path tmp = Files.createTempFile(control.getParent(), "control", ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, control, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** Back to plain forwarding (no vendor behaviour, no faults, every token present). */
  public TestPkcs11Module reset() {
    return set();
  }

  /** The module's event lines so far (IVs it wrote, faults it fired, refusals); never PINs. */
  public List<String> events() {
    try {
      return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : new ArrayList<>();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The event lines that start with this prefix. */
  public List<String> events(String prefix) {
    return events().stream().filter(l -> l.startsWith(prefix)).toList();
  }

  /** Forgets the events so far (the module appends, so later events land in the emptied file). */
  public void clearEvents() {
    try {
      if (Files.exists(log)) {
        Files.write(log, new byte[0]);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
