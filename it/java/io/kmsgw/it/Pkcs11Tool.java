package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * OpenSC's {@code pkcs11-tool} on a development data directory's SoftHSM2 tokens, while the gateway is stopped.
 * Tokens are chosen by slot id found from an exact label: {@code --token-label} matches a prefix, so {@code kmsgw}
 * would also pick {@code kmsgw-dev-2}.
 */
final class Pkcs11Tool {
  private Pkcs11Tool() {}

  static String library() {
    return java.util.stream.Stream.of("/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
        .filter(p -> Files.isReadable(Path.of(p))).findFirst().orElseThrow();
  }

  /** The secret-key listing of the token with exactly this label, logged in with the development user PIN. */
  static String listSecretKeys(Path dataDir, String tokenLabel) throws Exception {
    Path softhsm = dataDir.resolve("softhsm");
    String pin = Files.readString(softhsm.resolve("user-pin")).strip();
    String slot = slotOf(softhsm, tokenLabel);
    // stderr carries a CKR_ATTRIBUTE_SENSITIVE warning per object (it cannot read CKA_VALUE: good); keep it out of
    // the listing
    return run(softhsm, false, "--slot", slot, "--login", "--pin", pin, "--list-objects", "--type", "secrkey");
  }

  /**
   * An AES-256 key generated in the token with exactly this label, as an operator would make one to serve over XKS
   * (SoftHSM2 gives it CKA_ENCRYPT and CKA_DECRYPT whatever the usage flags).
   */
  static void generateAes256(Path dataDir, String tokenLabel, String keyLabel) throws Exception {
    Path softhsm = dataDir.resolve("softhsm");
    String pin = Files.readString(softhsm.resolve("user-pin")).strip();
    run(softhsm, true, "--slot", slotOf(softhsm, tokenLabel), "--login", "--pin", pin, "--keygen", "--key-type",
        "AES:32", "--label", keyLabel, "--sensitive");
  }

  private static String slotOf(Path softhsm, String tokenLabel) throws Exception {
    String slots = run(softhsm, true, "--list-token-slots");
    String slot = null;
    List<String> seen = new ArrayList<>();
    for (String line : slots.split("\n")) {
      if (line.startsWith("Slot ")) {
        int open = line.indexOf('(');
        slot = line.substring(open + 1, line.indexOf(')', open));
      } else if (line.strip().startsWith("token label") && slot != null) {
        String label = line.substring(line.indexOf(':') + 1).strip();
        seen.add(label);
        if (label.equals(tokenLabel)) {
          return slot;
        }
      }
    }
    throw new AssertionError("no token labelled " + tokenLabel + " (seen " + seen + ")");
  }

  private static String run(Path softhsm, boolean withErrors, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("pkcs11-tool", "--module", library()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (withErrors) {
      pb.redirectErrorStream(true);
    } else {
      pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    }
    pb.environment().put("SOFTHSM2_CONF", softhsm.resolve("softhsm2.conf").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }
}
