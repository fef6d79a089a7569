package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A SoftHSM2 token directory of a test's own under {@code target/it/} (its {@code softhsm2.conf} for a gateway's
 * {@code SOFTHSM2_CONF}), with tokens created by {@code softhsm2-util} as an HSM administrator creates them: the
 * tokens an operator's configuration file then names, behind the test module or not.
 */
final class SoftHsmDirectory {
  private final Path conf;

  private SoftHsmDirectory(Path conf) {
    this.conf = conf;
  }

  static SoftHsmDirectory create(String name) throws IOException {
    Path dir = Path.of("target", "it", name + "-" + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
    Files.createDirectories(dir.resolve("tokens"));
    Path conf = dir.resolve("softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + dir.resolve("tokens") + "\nobjectstore.backend = file\n"
        + "log.level = ERROR\n");
    return new SoftHsmDirectory(conf);
  }

  /** The directory, for the test's other files (such as its configuration file). */
  Path dir() {
    return conf.getParent();
  }

  /** The value of {@code SOFTHSM2_CONF} for a process that uses these tokens. */
  Path conf() {
    return conf;
  }

  /** A new token with this label and crypto user PIN (the SO PIN is of no interest to the tests). */
  void initToken(String label, String userPin) throws IOException, InterruptedException {
    ProcessBuilder init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label,
        "--so-pin", "test-so-pin", "--pin", userPin).redirectErrorStream(true);
    init.environment().put("SOFTHSM2_CONF", conf.toString());
    Process p = init.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
  }
}
