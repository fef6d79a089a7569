package io.kmsgw.it;

import static io.kmsgw.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.ConnectionErrorCodeType;
import software.amazon.awssdk.services.kms.model.ConnectionStateType;
import software.amazon.awssdk.services.kms.model.CustomKeyStoreInvalidStateException;
import software.amazon.awssdk.services.kms.model.CustomKeyStoresListEntry;
import software.amazon.awssdk.services.kms.model.KeyState;

/**
 * One real gateway ({@code ./kmsgw serve --config}) whose default key store and a custom key store both sit on the
 * project's PKCS#11 test module in CloudHSM mode ({@code vendor=cloudhsm}: the HSM writes its own AES-GCM IV into a
 * zeroed {@code pIv}, {@code user:password} PINs, no read-only sessions, no {@code C_CopyObject}), configured as an
 * operator configures CloudHSM: {@code vendor: cloudhsm} for {@code hsm:} and for the cluster, nothing else. The
 * custom key store's {@code KeyStorePassword} is CloudHSM's {@code user:password} PIN and is sealed in the default
 * store's HSM with an HSM-made IV (a version-2 seal; PinSealer once refused those). Driven by the unmodified AWS CLI
 * and the AWS SDK for Java v2 (issue #16: "the key-store tests pass there too").
 */
class CloudHsmCustomStoreIT {
  static final String CLUSTER = "cluster-cloudhsmivtwo";
  /** The same vendor with {@code capabilities.gcm_iv_from_hsm: false}, which the HSM contradicts. */
  static final String MISCONFIGURED = "cluster-cloudhsmnoiv22";
  static final String STORE_PASSWORD = "kmsuser:" + UUID.randomUUID().toString().substring(0, 12);
  static final String WRONG_PASSWORD = "kmsuser:not-the-password";

  private static TestPkcs11Module module;
  private static GatewayProcess gateway;
  private static Map<String, String> env;
  private static List<String> serveArgs;
  private static AwsCli cli;
  private static KmsClient kms;
  private static Path work;

  @BeforeAll
  static void start() throws Exception {
    SoftHsmDirectory tokens = SoftHsmDirectory.create("cloudhsm-stores");
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    String defaultPassword = "default-" + UUID.randomUUID().toString().substring(0, 8);
    tokens.initToken("default-" + suffix, defaultPassword);
    tokens.initToken("store2-" + suffix, STORE_PASSWORD.substring(STORE_PASSWORD.indexOf(':') + 1));
    tokens.initToken("store3-" + suffix, STORE_PASSWORD.substring(STORE_PASSWORD.indexOf(':') + 1));
    module = TestPkcs11Module.forChildProcess("cloudhsm-stores");
    module.set("vendor=cloudhsm");

    Path config = tokens.dir().resolve("kmsgw.yaml");
    Files.writeString(config, String.join("\n",
        "# as an operator writes it for AWS CloudHSM (hsm-config/cloudhsm.yaml), on the test module",
        "hsm:",
        "  vendor: cloudhsm",
        "  library: " + TestPkcs11Module.library(),
        "  token_label: default-" + suffix,
        "  pool:",
        "    size: 4",
        "clusters:",
        "  " + CLUSTER + ":",
        "    vendor: cloudhsm",
        "    library: " + TestPkcs11Module.library(),
        "    token_label: store2-" + suffix,
        "    pool:",
        "      size: 4",
        "  " + MISCONFIGURED + ":",
        "    vendor: cloudhsm",
        "    library: " + TestPkcs11Module.library(),
        "    token_label: store3-" + suffix,
        "    capabilities:",
        "      gcm_iv_from_hsm: false",
        ""));
    env = new HashMap<>(module.environment());
    env.put("SOFTHSM2_CONF", tokens.conf().toString());
    env.put("KMSGW_HSM_PIN", "crypto-user:" + defaultPassword);
    serveArgs = List.of("--config", config.toString());
    gateway = GatewayProcess.start("cloudhsm-stores", d -> env, d -> serveArgs);
    cli = AwsCli.beside(gateway);
    kms = gateway.client();
    work = cli.work();
  }

  @AfterAll
  static void stop() {
    if (kms != null) {
      kms.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static CustomKeyStoresListEntry describe(String id) {
    return kms.describeCustomKeyStores(r -> r.customKeyStoreId(id)).customKeyStores().get(0);
  }

  private static void awaitState(String id, ConnectionStateType state) throws InterruptedException {
    eventually(id + " is " + state, () -> describe(id).connectionState() == state);
  }

  private static byte[] b64(JsonObject o, String field) {
    return Base64.getDecoder().decode(o.getString(field));
  }

  private static String decrypt(String file) throws Exception {
    return new String(b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://" + file), "Plaintext"),
        StandardCharsets.UTF_8);
  }

  private static long logins(String outcome) {
    return module.events("login user=kmsuser rv=" + outcome).size();
  }

  @Test
  void customKeyStoreOnCloudHsm_createConnectCrypto_restart_wrongPassword_reconnect() throws Exception {
    Path anchor = Files.writeString(work.resolve("anchor.pem"), anchorPem());
    String id = cli.ok("create-custom-key-store", "--custom-key-store-name", "cloudhsm-2", "--cloud-hsm-cluster-id",
        CLUSTER, "--key-store-password", STORE_PASSWORD, "--trust-anchor-certificate", "file://" + anchor)
        .getString("CustomKeyStoreId");
    assertEquals(ConnectionStateType.DISCONNECTED, describe(id).connectionState());
    assertEquals(CLUSTER, describe(id).cloudHsmClusterId());

    // the password was sealed in the default store's HSM with the HSM's IV, and opens to log in as kmsuser
    cli.ok("connect-custom-key-store", "--custom-key-store-id", id);
    awaitState(id, ConnectionStateType.CONNECTED);
    assertEquals(1, logins("CKR_OK"), "one login per connection: " + module.events());
    assertTrue(module.events("login user=crypto-user rv=CKR_OK").size() >= 1, "the default store's login");

    String keyId = cli.ok("create-key", "--custom-key-store-id", id, "--origin", "AWS_CLOUDHSM",
        "--description", "in the CloudHSM-mode custom key store").getJsonObject("KeyMetadata").getString("KeyId");
    String defaultKey = cli.ok("create-key", "--description", "in the CloudHSM-mode default store")
        .getJsonObject("KeyMetadata").getString("KeyId");
    Files.writeString(work.resolve("plain.txt"), "sealed by the custom key store's HSM, with its own IV");
    Files.writeString(work.resolve("short.txt"), "tiny");
    byte[] blob = b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.txt",
        "--encryption-context", "store=cloudhsm-2"), "CiphertextBlob");
    assertEquals(0x02, blob[0], "a version-2 blob: the IV is the HSM's");
    String iv = HexFormat.of().formatHex(java.util.Arrays.copyOfRange(blob, 21, 33));
    assertTrue(module.events("gcm_iv written").stream().anyMatch(l -> l.contains(iv)),
        "the blob's IV is one the module wrote: " + iv + " " + module.events());
    Files.write(work.resolve("custom.bin"), blob);
    Files.write(work.resolve("custom-short.bin"), b64(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://short.txt"), "CiphertextBlob"));
    Files.write(work.resolve("default.bin"), b64(cli.ok("encrypt", "--key-id", defaultKey, "--plaintext",
        "fileb://short.txt"), "CiphertextBlob"));
    JsonObject dk = cli.ok("generate-data-key", "--key-id", keyId, "--key-spec", "AES_256");
    byte[] dataKey = b64(dk, "Plaintext");
    Files.write(work.resolve("dk.bin"), b64(dk, "CiphertextBlob"));
    assertEquals("sealed by the custom key store's HSM, with its own IV", new String(b64(cli.ok("decrypt",
        "--ciphertext-blob", "fileb://custom.bin", "--encryption-context", "store=cloudhsm-2"), "Plaintext"),
        StandardCharsets.UTF_8));
    assertEquals("tiny", decrypt("custom-short.bin"));
    assertEquals("tiny", decrypt("default.bin"));
    assertArrayEquals(dataKey, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"), "Plaintext"));

    // a restart: the store left connected connects again by itself (the sealed password opens after a restart)
    gateway.stop();
    gateway.restart(serveArgs);
    awaitState(id, ConnectionStateType.CONNECTED);
    assertEquals(2, logins("CKR_OK"), "one login per connection: " + module.events());
    assertEquals("tiny", decrypt("custom-short.bin"));
    assertEquals("tiny", decrypt("default.bin"));
    assertArrayEquals(dataKey, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"), "Plaintext"));

    // Disconnect: the key is unavailable, the default store still serves
    cli.ok("disconnect-custom-key-store", "--custom-key-store-id", id);
    assertEquals(ConnectionStateType.DISCONNECTED, describe(id).connectionState());
    assertEquals(KeyState.UNAVAILABLE, kms.describeKey(r -> r.keyId(keyId)).keyMetadata().keyState());
    AwsCli.Result refused = cli.run("decrypt", "--ciphertext-blob", "fileb://custom-short.bin");
    assertTrue(refused.exit() != 0 && refused.err().contains("KMSInvalidStateException"), refused.err());
    assertEquals("tiny", decrypt("default.bin"));

    // a wrong password: FAILED with INVALID_CREDENTIALS after one login attempt, never retried
    cli.ok("update-custom-key-store", "--custom-key-store-id", id, "--key-store-password", WRONG_PASSWORD);
    cli.ok("connect-custom-key-store", "--custom-key-store-id", id);
    awaitState(id, ConnectionStateType.FAILED);
    assertEquals(ConnectionErrorCodeType.INVALID_CREDENTIALS, describe(id).connectionErrorCode());
    assertThrows(CustomKeyStoreInvalidStateException.class,
        () -> kms.connectCustomKeyStore(r -> r.customKeyStoreId(id)));
    for (int i = 0; i < 5; i++) { // time for a retry loop to show, spent on the default store
      assertEquals("tiny", decrypt("default.bin"));
      assertEquals(ConnectionStateType.FAILED, describe(id).connectionState());
    }
    assertEquals(1, logins("CKR_PIN_INCORRECT"), "one refused login, no retries: " + module.events());
    assertFalse(gateway.logText().contains(WRONG_PASSWORD), "the password never reaches the log");
    assertFalse(gateway.logText().contains(STORE_PASSWORD), "the password never reaches the log");

    // Disconnect, the right password, Connect: the old ciphertext opens again
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
    assertNull(describe(id).connectionErrorCode());
    kms.updateCustomKeyStore(r -> r.customKeyStoreId(id).keyStorePassword(STORE_PASSWORD));
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(id));
    awaitState(id, ConnectionStateType.CONNECTED);
    assertEquals(1, logins("CKR_PIN_INCORRECT"));
    assertEquals("tiny", decrypt("custom-short.bin"));
    assertArrayEquals(dataKey, b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin"), "Plaintext"));
    AwsCli.Result wrongContext = cli.run("decrypt", "--ciphertext-blob", "fileb://custom.bin",
        "--encryption-context", "store=other");
    assertTrue(wrongContext.exit() != 0 && wrongContext.err().contains("InvalidCiphertextException"),
        wrongContext.err());
    assertEquals(KeyState.ENABLED, kms.describeKey(r -> r.keyId(keyId)).keyMetadata().keyState());
  }

  /**
   * A cluster whose {@code capabilities.gcm_iv_from_hsm: false} contradicts its HSM: the connection's self-test leaves
   * that store FAILED with a message naming the flag, before any Encrypt could hand out ciphertext that no Decrypt
   * opens, and the default key store keeps serving.
   */
  @Test
  void clusterFlagThatContradictsTheHsm_leavesThatStoreFailed_namingTheFlag() throws Exception {
    String anchor = anchorPem();
    String id = kms.createCustomKeyStore(r -> r.customKeyStoreName("cloudhsm-no-iv").cloudHsmClusterId(MISCONFIGURED)
        .keyStorePassword(STORE_PASSWORD.replace("kmsuser:", "other_cu:")).trustAnchorCertificate(anchor))
        .customKeyStoreId();
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(id));
    awaitState(id, ConnectionStateType.FAILED);
    JsonObject health = new JsonObject(new RawClient(gateway.endpoint()).healthDetail().body());
    JsonObject store = health.getJsonArray("keyStores").stream().map(JsonObject.class::cast)
        .filter(h -> id.equals(h.getString("keyStore"))).findFirst().orElseThrow();
    assertEquals("FAILED", store.getString("state"));
    String message = store.getString("message");
    assertTrue(message.contains("clusters.<id>.capabilities.gcm_iv_from_hsm") && message.contains(id)
        && message.contains("KMSGW_CLUSTERS_<ID>_CAPABILITIES_GCM_IV_FROM_HSM=true"), store.toString());
    assertFalse(message.contains("hsm.capabilities"), "not the default store's key: " + message);
    String defaultKey = kms.createKey(r -> r.description("the default store serves on")).keyMetadata().keyId();
    assertEquals("still served", kms.decrypt(r -> r.ciphertextBlob(kms.encrypt(e -> e.keyId(defaultKey)
        .plaintext(software.amazon.awssdk.core.SdkBytes.fromUtf8String("still served"))).ciphertextBlob()))
        .plaintext().asUtf8String());
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
  }

  private static String anchorPem() throws java.io.IOException {
    return Files.readString(Path.of(System.getProperty("kmsgw.project.dir", "."),
        "src/main/resources/dev/trust-anchor.pem"));
  }
}
