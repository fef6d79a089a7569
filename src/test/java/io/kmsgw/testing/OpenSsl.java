package io.kmsgw.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The openssl command line ({@code /usr/bin/openssl}) as an outside judge of keys: it reads DER files of a scratch
 * directory and answers what it makes of them.
 */
public final class OpenSsl {
  private static final String OPENSSL = "/usr/bin/openssl";

  /** What a run printed: its exit code, standard output (bytes: DER output is binary) and standard error. */
  public record Result(int exit, byte[] out, String err) {
    public String text() {
      return new String(out, StandardCharsets.UTF_8);
    }
  }

  private final Path dir;

  public OpenSsl(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
  }

  /** Writes a file of the scratch directory (for the arguments of {@link #run}). */
  public Path write(String name, byte[] content) throws IOException {
    return Files.write(dir.resolve(name), content);
  }

  public Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(OPENSSL));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(
        new java.io.File("/dev/null"))).start();
    byte[] out = p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("openssl " + args[0] + " did not end");
    }
    return new Result(p.exitValue(), out, err);
  }

  /** {@link #run}, which must succeed. */
  public Result ok(String... args) throws IOException, InterruptedException {
    Result r = run(args);
    if (r.exit() != 0) {
      throw new AssertionError("openssl " + String.join(" ", args) + " failed (" + r.exit() + "): " + r.err());
    }
    return r;
  }
}
