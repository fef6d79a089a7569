package io.kmsgw.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The custody attributes of a token's objects as a program outside the gateway reads them: {@code custody-check}
 * ({@code src/test/c/custody_check.c}, compiled by the test build into {@code target/native/}), which loads the
 * token's PKCS#11 library with its initialisation arguments in a process of its own, logs in (the PIN on its
 * standard input) and reads each attribute with {@code C_GetAttributeValue}. pkcs11-tool does the same on SoftHSM2
 * but cannot initialise NSS. The same program lists the token's mechanisms ({@link #mechanisms}).
 */
public final class CustodyCheck {
  private CustodyCheck() {}

  /** One object's attributes: {@code CKA_SENSITIVE -> "1"}, {@code CKA_VALUE -> "refused rv=0x11"}, ... */
  public record ObjectAttributes(long objectClass, Map<String, String> values) {
    /** The attribute's value as the program printed it. */
    public String get(String attribute) {
      String v = values.get(attribute);
      if (v == null) {
        throw new AssertionError("custody-check printed no " + attribute + ": " + values);
      }
      return v;
    }
  }

  /** The program, {@code target/native/custody-check}. */
  public static Path program() {
    Path file = Path.of(System.getProperty("kmsgw.test.native.dir", "target/native")).resolve("custody-check")
        .toAbsolutePath();
    if (!Files.isExecutable(file)) {
      throw new IllegalStateException(file + " is missing: the test build compiles it with gcc (mvn test-compile)");
    }
    return file;
  }

  /** The objects of the token labelled {@code objectLabel}, logged in with the token's user PIN. */
  public static List<ObjectAttributes> objects(TestToken token, String objectLabel) throws IOException,
      InterruptedException {
    return parse(run(token, TestToken.USER_PIN, token.library(), token.label(), objectLabel));
  }

  /** Every mechanism the token lists, with the flags of its {@code C_GetMechanismInfo}, in the token's order. */
  public static Map<Long, Long> mechanisms(TestToken token) throws IOException, InterruptedException {
    Map<Long, Long> out = new LinkedHashMap<>();
    for (String line : run(token, null, "--mechanisms", token.library(), token.label()).split("\n")) {
      if (line.startsWith("mechanism=")) {
        String[] parts = line.split(" ");
        out.put(Long.decode(parts[0].substring("mechanism=".length())),
            Long.decode(parts[1].substring("flags=".length())));
      }
    }
    return out;
  }

  private static String run(TestToken token, String pin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(program().toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (token.initArgs() != null) {
      pb.environment().put("KMSGW_CUSTODY_INIT_ARGS", token.initArgs());
    }
    Process p = pb.start();
    try (OutputStream in = p.getOutputStream()) {
      if (pin != null) {
        in.write((pin + "\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("custody-check did not finish: " + out);
    }
    if (p.exitValue() != 0) {
      throw new AssertionError("custody-check failed (" + p.exitValue() + "): " + out);
    }
    return out;
  }

  private static List<ObjectAttributes> parse(String out) {
    List<ObjectAttributes> objects = new ArrayList<>();
    Map<String, String> current = null;
    for (String line : out.split("\n")) {
      if (line.startsWith("object=")) {
        int at = line.indexOf(" class=0x");
        current = new LinkedHashMap<>();
        objects.add(new ObjectAttributes(Long.parseUnsignedLong(line.substring(at + 9).strip(), 16), current));
      } else if (current != null && line.startsWith("CKA_")) {
        int eq = line.indexOf('=');
        current.put(line.substring(0, eq), line.substring(eq + 1).strip());
      }
    }
    return objects;
  }
}
