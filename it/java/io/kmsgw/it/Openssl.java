package io.kmsgw.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The system's {@code openssl} command, an outside judge of keys, signatures and ciphertext, run in a directory. */
final class Openssl {
  /** What one run printed. */
  record Result(int exit, String out, String err) {
    Result ok() {
      if (exit != 0) {
        throw new AssertionError("openssl failed (" + exit + "): " + err + out);
      }
      return this;
    }
  }

  private final Path work;

  Openssl(Path work) {
    this.work = work;
  }

  /** {@code openssl <args>} in the work directory, with {@code stdin} as its input (or none). */
  Result run(byte[] stdin, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Path in = Files.createTempFile(work, "in", ".bin");
    Files.write(in, stdin == null ? new byte[0] : stdin);
    Path out = Files.createTempFile(work, "out", ".txt");
    Path err = Files.createTempFile(work, "err", ".txt");
    Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectInput(in.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("openssl " + String.join(" ", args) + " did not finish");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  Result run(String... args) throws Exception {
    return run(null, args);
  }
}
