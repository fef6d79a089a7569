package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.config.ConfigLoader;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Qualifies an HSM for kmsgw: the real gateway, started with an operator's configuration file
 * ({@code ./kmsgw serve --config FILE}), driven by the unmodified AWS CLI and SDK, its key objects' attributes read
 * back by OpenSC's {@code pkcs11-tool}. What an operator with a CloudHSM cluster or a Luna partition runs
 * (docs/hsm-vendors.md, "Qualifying your HSM"):
 *
 * <pre>
 * KMSGW_QUALIFY_CONFIG=/etc/kmsgw/kmsgw.yaml KMSGW_HSM_PIN='user:password' mvn verify -Pqualify-hsm
 * </pre>
 *
 * <p>Without {@code KMSGW_QUALIFY_CONFIG} (every {@code mvn verify}) it qualifies the project's PKCS#11 test module
 * in CloudHSM mode ({@code vendor=cloudhsm}: HSM-written IVs, {@code user:password} PINs, no read-only sessions, no
 * {@code C_CopyObject}) with a configuration file written the way an operator writes one for CloudHSM, so the
 * qualification itself is checked at every build. The gateway keeps its data directory under {@code target/it} and
 * listens on a free loopback port (the file's {@code data_dir}, {@code http.host}, {@code http.port} and TLS
 * settings are overridden); the key objects it creates are deleted from the token at the end when pkcs11-tool can
 * reach it, and listed in the report otherwise. The report: {@code target/qualify/report.txt}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HsmQualificationIT {
  private static final String PLAIN = "a secret that only the HSM's key can open";

  private static Path config;
  private static Map<String, String> env;
  private static GatewayConfig.Hsm hsm;
  private static TestPkcs11Module toolModule;
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static Path work;
  private static final List<String> keys = new ArrayList<>();
  private static final StringBuilder report = new StringBuilder();

  @BeforeAll
  static void start() throws Exception {
    String given = System.getenv("KMSGW_QUALIFY_CONFIG");
    env = new HashMap<>();
    if (given != null && !given.isBlank()) {
      config = Path.of(given).toAbsolutePath();
      // the vendor library's own configuration variable, which the test gateways otherwise do not inherit
      if (System.getenv("SOFTHSM2_CONF") != null) {
        env.put("SOFTHSM2_CONF", System.getenv("SOFTHSM2_CONF"));
      }
      report.append("configuration: ").append(config).append('\n');
    } else {
      emulatedCloudHsm();
      report.append("configuration: the project's test module in CloudHSM mode (no KMSGW_QUALIFY_CONFIG given)\n");
    }
    // loopback, plain HTTP and a data directory of the test's own, whatever the file says
    env.put("KMSGW_HTTP_HOST", "127.0.0.1");
    env.put("KMSGW_HTTP_TLS_CERTIFICATE_FILE", "");
    env.put("KMSGW_HTTP_TLS_PRIVATE_KEY_FILE", "");
    Map<String, String> loaderEnv = new HashMap<>(System.getenv());
    loaderEnv.putAll(env);
    loaderEnv.put("KMSGW_DATA_DIR", Path.of("target", "qualify", "config-check").toAbsolutePath().toString());
    hsm = ConfigLoader.load(config, loaderEnv).hsm();
    report.append("vendor profile: ").append(hsm.vendor()).append(", library: ").append(hsm.library())
        .append(", token: ").append(hsm.tokenLabel()).append(", gcm_iv_from_hsm: ").append(hsm.gcmIvFromHsm())
        .append('\n');
    gateway = GatewayProcess.start("qualify", d -> env, d -> List.of("--config", config.toString()));
    cli = AwsCli.beside(gateway);
    work = cli.work();
  }

  /**
   * A fresh SoftHSM2 token behind the test module in CloudHSM mode, and a configuration file for it as an operator
   * writes one for CloudHSM (vendor profile {@code cloudhsm}, its defaults, a {@code user:password} PIN).
   */
  private static void emulatedCloudHsm() throws Exception {
    SoftHsmDirectory tokens = SoftHsmDirectory.create("qualify-token");
    String label = "hsm1-" + UUID.randomUUID().toString().substring(0, 6);
    String userPin = "qualify-" + UUID.randomUUID().toString().substring(0, 8);
    tokens.initToken(label, userPin);

    TestPkcs11Module module = TestPkcs11Module.forChildProcess("qualify");
    module.set("vendor=cloudhsm");
    // pkcs11-tool's read-only listing sessions: CloudHSM has none, so the tool gets a control file of its own
    toolModule = TestPkcs11Module.forChildProcess("qualify-tool");
    toolModule.set("vendor=cloudhsm", "read_only_sessions=allow");
    env.putAll(module.environment());
    env.put("SOFTHSM2_CONF", tokens.conf().toString());
    env.put("KMSGW_HSM_PIN", "crypto-user:" + userPin);
    config = tokens.dir().resolve("kmsgw.yaml");
    Files.writeString(config, String.join("\n",
        "# written by HsmQualificationIT as an operator writes one for AWS CloudHSM (hsm-config/cloudhsm.yaml)",
        "data_dir: /var/lib/kmsgw",
        "hsm:",
        "  vendor: cloudhsm",
        "  library: " + TestPkcs11Module.library(),
        "  token_label: \"" + label + "\"",
        "  pool:",
        "    size: 4",
        ""));
  }

  @AfterAll
  static void finish() throws Exception {
    if (gateway != null) {
      gateway.stop();
    }
    report.append(cleanUp());
    Path file = Path.of("target", "qualify", "report.txt");
    Files.createDirectories(file.getParent());
    Files.writeString(file, "kmsgw HSM qualification, " + Instant.now() + "\n" + report);
  }

  @Test
  @Order(1)
  void theKeyStoreConnects_andShowsWhatTheTokenOffers() throws Exception {
    GatewayProcess.Command list = gateway.kmsgw("keystore", "list");
    assertEquals(0, list.exit(), list.out());
    report.append("\n./kmsgw keystore list:\n").append(list.out()).append('\n');
    String defaultLine = list.out().lines().filter(l -> l.startsWith("default ")).reduce((a, b) -> b).orElse("");
    for (String needed : List.of("AES_KEY_GEN", "AES_GCM", "EC_KEY_GEN", "ECDSA")) {
      assertTrue(defaultLine.contains(needed), "the default store's token offers " + needed + ": " + list.out());
    }
  }

  @Test
  @Order(2)
  void awsCli_encryptsDecryptsGeneratesDataKeysAndReencrypts() throws Exception {
    String keyId = createKey("qualification: crypto");
    Files.writeString(work.resolve("plain.txt"), PLAIN);
    byte[] big = new byte[4096];
    new java.util.Random(7).nextBytes(big);
    Files.write(work.resolve("big.bin"), big);
    Files.write(work.resolve("blob.bin"), b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://plain.txt", "--encryption-context", "purpose=qualification"), "CiphertextBlob"));
    Files.write(work.resolve("big-blob.bin"), b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://big.bin"), "CiphertextBlob"));
    assertEquals(PLAIN, decrypt("blob.bin", "purpose=qualification"));
    assertArrayEquals(big, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://big-blob.bin"), "Plaintext"));
    AwsCli.Result wrong = cli.run("decrypt", "--ciphertext-blob", "fileb://blob.bin", "--encryption-context",
        "purpose=other");
    assertTrue(wrong.exit() != 0 && wrong.err().contains("InvalidCiphertextException"), wrong.err());

    JsonObject dk = cli.ok("generate-data-key", "--key-id", keyId, "--key-spec", "AES_256");
    Files.write(work.resolve("dk.bin"), b64(dk, "CiphertextBlob"));
    assertArrayEquals(b64(dk, "Plaintext"), b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"),
        "Plaintext"));
    String second = createKey("qualification: re-encrypt target");
    Files.write(work.resolve("re.bin"), b64(cli.ok("re-encrypt", "--ciphertext-blob", "fileb://blob.bin",
        "--source-encryption-context", "purpose=qualification", "--destination-key-id", second,
        "--destination-encryption-context", "purpose=moved"), "CiphertextBlob"));
    assertEquals(PLAIN, decrypt("re.bin", "purpose=moved"));
    assertEquals(32, b64(cli.ok("generate-random", "--number-of-bytes", "32"), "Plaintext").length);

    cli.ok("disable-key", "--key-id", keyId);
    AwsCli.Result disabled = cli.run("encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.txt");
    assertTrue(disabled.exit() != 0 && disabled.err().contains("DisabledException"), disabled.err());
    cli.ok("enable-key", "--key-id", keyId);
    report.append("crypto through the AWS CLI: Encrypt (32 B and 4 KB), Decrypt, wrong context refused, "
        + "GenerateDataKey, ReEncrypt, GenerateRandom, Disable/Enable: passed\n");
  }

  @Test
  @Order(3)
  void rotation_keepsOldVersions_andEverythingSurvivesARestart() throws Exception {
    String keyId = createKey("qualification: rotation");
    Files.writeString(work.resolve("before.txt"), "sealed under version 1");
    Files.write(work.resolve("before.bin"), b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://before.txt"), "CiphertextBlob"));
    try (KmsClient sdk = gateway.client()) {
      sdk.rotateKeyOnDemand(r -> r.keyId(keyId));
      byte[] after = sdk.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("sealed under version 2")))
          .ciphertextBlob().asByteArray();
      Files.write(work.resolve("after.bin"), after);
      assertNotEquals(1, java.nio.ByteBuffer.wrap(after, 17, 4).getInt(), "a new version seals after rotation");
    }
    gateway.stop();
    gateway = GatewayProcess.restartWith(gateway, env, List.of("--config", config.toString()));
    cli = cli.against(gateway);
    assertEquals("sealed under version 1", decrypt("before.bin", null));
    assertEquals("sealed under version 2", decrypt("after.bin", null));
    assertEquals(PLAIN, decrypt("blob.bin", "purpose=qualification"));
    gateway.verifyAudit();
    report.append("rotation on demand, restart, old ciphertext, audit trail verified: passed\n");
  }

  @Test
  @Order(4)
  void keyObjects_areSensitiveNeverExtractableTokenObjects() throws Exception {
    if (!pkcs11ToolCanReach()) {
      report.append("custody: not checked (pkcs11-tool cannot load this module without its initialisation "
          + "arguments); check the objects labelled kmsgw:<key id>:v<n> with the vendor's tool\n");
      return;
    }
    String listing = pkcs11Tool(false, "--login", "--pin", pin(), "--list-objects", "--type", "secrkey");
    for (String keyId : keys) {
      int at = listing.indexOf("label:      kmsgw:" + keyId + ":v1");
      assertTrue(at >= 0, "the key's object is on the token: " + keyId + "\n" + listing);
      int next = listing.indexOf("Secret Key Object", at);
      String object = listing.substring(at, next < 0 ? listing.length() : next);
      assertTrue(object.contains("sensitive") && object.contains("never extractable"), object);
      assertTrue(!object.matches("(?s).*Access:[^\\n]*(?<!never )extractable.*"), object);
    }
    report.append("custody (pkcs11-tool): every key object sensitive, always sensitive, never extractable\n");
  }

  private static String createKey(String description) throws Exception {
    String keyId = cli.ok("create-key", "--description", description).getJsonObject("KeyMetadata")
        .getString("KeyId");
    keys.add(keyId);
    return keyId;
  }

  private static String decrypt(String file, String context) throws Exception {
    JsonObject dec = context == null ? cli.ok("decrypt", "--ciphertext-blob", "fileb://" + file)
        : cli.ok("decrypt", "--ciphertext-blob", "fileb://" + file, "--encryption-context", context);
    return new String(b64(dec, "Plaintext"), StandardCharsets.UTF_8);
  }

  private static byte[] b64(JsonObject o, String field) {
    return Base64.getDecoder().decode(o.getString(field));
  }

  /** The PIN as the gateway got it: KMSGW_HSM_PIN, or the configuration's pin or pin file. */
  private static String pin() throws Exception {
    if (env.containsKey("KMSGW_HSM_PIN")) {
      return env.get("KMSGW_HSM_PIN");
    }
    if (hsm.pin() != null) {
      return hsm.pin();
    }
    return Files.readAllLines(hsm.pinFile()).get(0).strip();
  }

  private static boolean pkcs11ToolCanReach() throws Exception {
    return pkcs11Tool(true, "--list-token-slots").contains(hsm.tokenLabel());
  }

  /** The gateway's key objects of this run deleted from the token, or listed when pkcs11-tool cannot. */
  private static String cleanUp() throws Exception {
    StringBuilder s = new StringBuilder("\nkeys created by this run: ").append(keys).append('\n');
    if (hsm == null || keys.isEmpty() || !pkcs11ToolCanReach()) {
      return s.append("their objects (labels kmsgw:<key id>:v<n>) are left on the token\n").toString();
    }
    String listing = pkcs11Tool(false, "--login", "--pin", pin(), "--list-objects", "--type", "secrkey");
    for (String line : listing.split("\n")) {
      String label = line.strip().startsWith("label:") ? line.substring(line.indexOf(':') + 1).strip() : "";
      if (keys.stream().anyMatch(k -> label.startsWith("kmsgw:" + k + ":"))) {
        String out = pkcs11Tool(true, "--session-rw", "--login", "--pin", pin(), "--delete-object", "--type",
            "secrkey", "--label", label);
        s.append("deleted ").append(label).append(out.isBlank() ? "" : ": " + out.strip().replace('\n', ' '))
            .append('\n');
      }
    }
    return s.toString();
  }

  private static String pkcs11Tool(boolean withErrors, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("pkcs11-tool", "--module", hsm.library(), "--token-label",
        hsm.tokenLabel()));
    cmd.addAll(List.of(args));
    if (args.length > 0 && args[0].equals("--list-token-slots")) {
      cmd.subList(3, 5).clear(); // no token chosen for the slot list
    }
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (withErrors) {
      pb.redirectErrorStream(true);
    } else {
      pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    }
    pb.environment().putAll(env);
    if (toolModule != null) {
      pb.environment().putAll(toolModule.environment());
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pkcs11-tool finished");
    return out;
  }
}
