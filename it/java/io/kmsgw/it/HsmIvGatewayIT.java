package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real gateway on kmsgw's PKCS#11 test module in CloudHSM mode (the HSM writes its own AES-GCM IV into a zeroed
 * {@code pIv}, 16 KB GCM limit, no read-only sessions, no {@code C_CopyObject}, {@code CKR_ENCRYPTED_DATA_INVALID} on
 * a bad tag) with {@code KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM=true}, driven by the unmodified AWS CLI: it encrypts,
 * decrypts and generates data keys, and after a restart the old ciphertext still decrypts.
 *
 * <p>The whole of {@code vendor=cloudhsm}, CloudHSM's {@code user:password} PIN included: the development mode creates
 * its tokens with the PIN alone and, with {@code KMSGW_DEV_PIN_USER}, logs in with {@code <user>:<PIN>}.
 */
class HsmIvGatewayIT {
  private static final String DEV_PIN = "hsmiv-Dev-PIN-4417";
  private static TestPkcs11Module module;
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static Path work;

  @BeforeAll
  static void start() throws Exception {
    module = TestPkcs11Module.forChildProcess("hsmiv-it");
    module.set("vendor=cloudhsm");
    gateway = GatewayProcess.start("hsmiv", env());
    cli = AwsCli.beside(gateway);
    work = cli.work();
  }

  private static Map<String, String> env() {
    Map<String, String> env = new HashMap<>(module.environment());
    env.put("KMSGW_HSM_LIBRARY", TestPkcs11Module.library().toString());
    env.put("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", "true");
    env.put("KMSGW_DEV_PIN_USER", "dev_cu");
    env.put("KMSGW_DEV_PIN", DEV_PIN);
    env.put("KMSGW_HSM_CAPABILITIES_SESSION_KEY_COPIES", "false");
    env.put("KMSGW_HSM_CAPABILITIES_GCM_GENERAL_ERROR_ON_TAG_MISMATCH", "false");
    return env;
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static byte[] b64(JsonObject o, String field) {
    return Base64.getDecoder().decode(o.getString(field));
  }

  @Test
  void awsCli_encryptsDecryptsAndGeneratesDataKeys_withTheHsmsIvs_andOldCiphertextSurvivesARestart()
      throws Exception {
    String keyId = cli.ok("create-key", "--description", "HSM IVs").getJsonObject("KeyMetadata").getString("KeyId");
    Files.writeString(work.resolve("long.txt"), "thirty-two bytes or more of text for the HSM");
    Files.writeString(work.resolve("short.txt"), "tiny");
    byte[] longBlob = b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://long.txt",
        "--encryption-context", "purpose=hsm-iv"), "CiphertextBlob");
    byte[] shortBlob = b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://short.txt"), "CiphertextBlob");
    assertEquals(0x02, longBlob[0], "a version-2 blob: the IV is the HSM's");
    assertEquals(0x03, shortBlob[0], "a version-3 blob: zero block in front of a short plaintext");
    Files.write(work.resolve("long.bin"), longBlob);
    Files.write(work.resolve("short.bin"), shortBlob);
    assertFalse(module.events("login user=dev_cu rv=CKR_OK").isEmpty(), "logged in with CloudHSM's PIN form: "
        + module.events());
    List<String> written = module.events("gcm_iv written");
    assertFalse(written.isEmpty(), module.events().toString());
    String hex = java.util.HexFormat.of().formatHex(java.util.Arrays.copyOfRange(longBlob, 21, 33));
    assertTrue(written.stream().anyMatch(l -> l.contains(hex)), "the blob's IV is one the module wrote: " + hex);

    JsonObject dk = cli.ok("generate-data-key", "--key-id", keyId, "--key-spec", "AES_256");
    byte[] dataKey = b64(dk, "Plaintext");
    Files.write(work.resolve("dk.bin"), b64(dk, "CiphertextBlob"));
    JsonObject dkNoPlain = cli.ok("generate-data-key-without-plaintext", "--key-id", keyId, "--number-of-bytes", "8");
    Files.write(work.resolve("dk8.bin"), b64(dkNoPlain, "CiphertextBlob"));

    assertOpens("long.bin", "thirty-two bytes or more of text for the HSM", "purpose=hsm-iv");
    assertOpens("short.bin", "tiny", null);
    assertArrayEquals(dataKey, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"), "Plaintext"));
    assertEquals(8, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk8.bin"), "Plaintext").length);
    JsonObject re = cli.ok("re-encrypt", "--ciphertext-blob", "fileb://short.bin", "--destination-key-id", keyId);
    Files.write(work.resolve("re.bin"), b64(re, "CiphertextBlob"));

    gateway.stop();
    gateway = GatewayProcess.restartWith(gateway, env());
    cli = cli.against(gateway);
    assertOpens("long.bin", "thirty-two bytes or more of text for the HSM", "purpose=hsm-iv");
    assertOpens("short.bin", "tiny", null);
    assertOpens("re.bin", "tiny", null);
    assertArrayEquals(dataKey, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"), "Plaintext"));
    AwsCli.Result wrong = cli.run("decrypt", "--ciphertext-blob", "fileb://long.bin", "--encryption-context",
        "purpose=other");
    assertTrue(wrong.exit() != 0 && wrong.err().contains("InvalidCiphertextException"), wrong.err());
  }

  /**
   * The development cluster sits behind the same module and takes the default store's flags: a custom key store on it
   * logs in with {@code dev_cu:<PIN>} and seals with the HSM's IVs.
   */
  @Test
  void developmentCluster_inCloudHsmMode_connectsWithTheUserColonPinPassword_andSealsWithTheHsmsIv() throws Exception {
    Path anchor = gateway.dataDir().resolve("softhsm/trust-anchor.pem");
    String id = cli.ok("create-custom-key-store", "--custom-key-store-name", "dev2-cloudhsm", "--cloud-hsm-cluster-id",
        "cluster-kmsgwdevtwo", "--key-store-password", "dev_cu:" + DEV_PIN, "--trust-anchor-certificate",
        "file://" + anchor).getString("CustomKeyStoreId");
    cli.ok("connect-custom-key-store", "--custom-key-store-id", id);
    try (var kms = gateway.client()) {
      io.kmsgw.testing.Eventually.eventually(id + " is CONNECTED", () -> kms.describeCustomKeyStores(
          r -> r.customKeyStoreId(id)).customKeyStores().get(0).connectionStateAsString().equals("CONNECTED"));
    }
    String keyId = cli.ok("create-key", "--custom-key-store-id", id, "--origin", "AWS_CLOUDHSM")
        .getJsonObject("KeyMetadata").getString("KeyId");
    Files.writeString(work.resolve("dev2.txt"), "in the second development token, HSM IVs");
    byte[] blob = b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://dev2.txt"), "CiphertextBlob");
    assertEquals(0x02, blob[0], "the development cluster's store takes gcm_iv_from_hsm from hsm.capabilities");
    Files.write(work.resolve("dev2.bin"), blob);
    assertOpens("dev2.bin", "in the second development token, HSM IVs", null);
    cli.ok("disconnect-custom-key-store", "--custom-key-store-id", id);
  }

  private static void assertOpens(String file, String expected, String context) throws Exception {
    JsonObject dec = context == null ? cli.ok("decrypt", "--ciphertext-blob", "fileb://" + file)
        : cli.ok("decrypt", "--ciphertext-blob", "fileb://" + file, "--encryption-context", context);
    assertEquals(expected, new String(b64(dec, "Plaintext"), StandardCharsets.UTF_8));
  }
}
