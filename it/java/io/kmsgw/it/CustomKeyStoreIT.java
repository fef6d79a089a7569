package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.CloudHsmClusterInUseException;
import software.amazon.awssdk.services.kms.model.CloudHsmClusterNotFoundException;
import software.amazon.awssdk.services.kms.model.ConnectionErrorCodeType;
import software.amazon.awssdk.services.kms.model.ConnectionStateType;
import software.amazon.awssdk.services.kms.model.CustomKeyStoreHasCmKsException;
import software.amazon.awssdk.services.kms.model.CustomKeyStoreInvalidStateException;
import software.amazon.awssdk.services.kms.model.CustomKeyStoreNameInUseException;
import software.amazon.awssdk.services.kms.model.CustomKeyStoresListEntry;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kms.model.OriginType;

/**
 * Custom key stores against the real gateway process: the development profile's second SoftHSM2 token
 * ({@code cluster-kmsgwdevtwo}) plus a definition whose token does not exist, driven by the AWS CLI v2 (the
 * issue's new-user flow), the AWS SDK for Java v2, and {@code ./kmsgw keystore}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CustomKeyStoreIT {
  static final String DEV_CLUSTER = "cluster-kmsgwdevtwo";
  static final String MISSING_CLUSTER = "cluster-nolabelhere2";
  static final String DEV_PIN = "it-Dev-PIN-58213";

  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static KmsClient kms;
  private static List<String> serveArgs;
  private static Path anchor;

  @BeforeAll
  static void start() throws Exception {
    Path config = Files.createTempFile(Path.of(System.getProperty("kmsgw.build.dir", "target")).toAbsolutePath(),
        "custom-key-stores", ".yaml");
    Files.writeString(config, String.join("\n",
        "hsm:",
        "  dev_token: true",
        "clusters:",
        "  " + MISSING_CLUSTER + ":",
        "    token_label: no-such-token-here",
        ""));
    serveArgs = List.of("--config", config.toString());
    gateway = GatewayProcess.start("custom-stores",
        dataDir -> Map.of("SOFTHSM2_CONF", dataDir.resolve("softhsm/softhsm2.conf").toString(),
            "KMSGW_DEV_PIN", DEV_PIN),
        dataDir -> serveArgs);
    cli = AwsCli.beside(gateway);
    kms = gateway.client();
    anchor = gateway.dataDir().resolve("softhsm/trust-anchor.pem");
    assertTrue(Files.exists(anchor), "the development profile writes an example trust anchor");
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

  static void eventually(String what, Supplier<Boolean> condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(100);
    }
  }

  static CustomKeyStoresListEntry describe(String id) {
    return kms.describeCustomKeyStores(r -> r.customKeyStoreId(id)).customKeyStores().get(0);
  }

  static void awaitState(String id, ConnectionStateType state) throws InterruptedException {
    eventually(id + " is " + state, () -> describe(id).connectionState() == state);
  }

  static String sdkCreate(String name, String cluster, String pin) throws Exception {
    return kms.createCustomKeyStore(r -> r.customKeyStoreName(name).cloudHsmClusterId(cluster).keyStorePassword(pin)
        .trustAnchorCertificate(readAnchor())).customKeyStoreId();
  }

  static String readAnchor() {
    try {
      return Files.readString(anchor);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Path file(String prefix, byte[] content) throws Exception {
    Path p = Files.createTempFile(cli.work(), prefix, ".bin");
    Files.write(p, content);
    return p;
  }

  private static void assertCliFails(String error, String... args) throws Exception {
    AwsCli.Result r = cli.run(args);
    assertNotEquals(0, r.exit(), "aws " + String.join(" ", args) + " should have failed");
    assertTrue(r.err().contains(error), r.err());
  }

  /** The "done when", as a new user does it with the AWS CLI v2. */
  @Test
  @Order(1)
  void newUserFlow_withTheAwsCli() throws Exception {
    String id = cli.ok("create-custom-key-store", "--custom-key-store-name", "cli-dev2", "--cloud-hsm-cluster-id",
        DEV_CLUSTER, "--key-store-password", DEV_PIN, "--trust-anchor-certificate", "file://" + anchor)
        .getString("CustomKeyStoreId");
    assertTrue(id.matches("cks-[0-9a-f]{17}"), id);
    try {
      JsonObject described = cli.ok("describe-custom-key-stores", "--custom-key-store-id", id)
          .getJsonArray("CustomKeyStores").getJsonObject(0);
      assertEquals("DISCONNECTED", described.getString("ConnectionState"));
      assertEquals(DEV_CLUSTER, described.getString("CloudHsmClusterId"));
      assertEquals(readAnchor().strip(), described.getString("TrustAnchorCertificate").strip());

      cli.ok("connect-custom-key-store", "--custom-key-store-id", id);
      eventually("CONNECTED", () -> {
        try {
          return "CONNECTED".equals(cli.ok("describe-custom-key-stores", "--custom-key-store-id", id)
              .getJsonArray("CustomKeyStores").getJsonObject(0).getString("ConnectionState"));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      JsonObject meta = cli.ok("create-key", "--custom-key-store-id", id, "--origin", "AWS_CLOUDHSM")
          .getJsonObject("KeyMetadata");
      String keyId = meta.getString("KeyId");
      assertEquals("AWS_CLOUDHSM", meta.getString("Origin"));
      assertEquals(id, meta.getString("CustomKeyStoreId"));
      assertEquals(DEV_CLUSTER, meta.getString("CloudHsmClusterId"));

      Path plain = file("plain", "kept in kmsgw-dev-2".getBytes(StandardCharsets.UTF_8));
      byte[] blob = Base64.getDecoder().decode(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
          "fileb://" + plain.getFileName()).getString("CiphertextBlob"));
      Path blobFile = file("blob", blob);
      assertEquals("kept in kmsgw-dev-2", new String(Base64.getDecoder().decode(cli.ok("decrypt",
          "--ciphertext-blob", "fileb://" + blobFile.getFileName()).getString("Plaintext")), StandardCharsets.UTF_8));
      // a key in the default store, for contrast
      String defaultKey = cli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");

      cli.ok("disconnect-custom-key-store", "--custom-key-store-id", id);
      assertCliFails("KMSInvalidStateException", "encrypt", "--key-id", keyId, "--plaintext",
          "fileb://" + plain.getFileName());
      assertCliFails("KMSInvalidStateException", "decrypt", "--ciphertext-blob", "fileb://" + blobFile.getFileName());
      assertEquals("Unavailable", cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata")
          .getString("KeyState"));
      cli.ok("encrypt", "--key-id", defaultKey, "--plaintext", "fileb://" + plain.getFileName());
      assertCliFails("CustomKeyStoreHasCMKsException", "delete-custom-key-store", "--custom-key-store-id", id);

      cli.ok("connect-custom-key-store", "--custom-key-store-id", id);
      awaitState(id, ConnectionStateType.CONNECTED);
      assertEquals("kept in kmsgw-dev-2", new String(Base64.getDecoder().decode(cli.ok("decrypt",
          "--ciphertext-blob", "fileb://" + blobFile.getFileName()).getString("Plaintext")), StandardCharsets.UTF_8));
      assertCliFails("CustomKeyStoreInvalidStateException", "delete-custom-key-store", "--custom-key-store-id", id);

      // a key pending deletion still counts: the store cannot be deleted before the key is
      cli.ok("schedule-key-deletion", "--key-id", keyId, "--pending-window-in-days", "7");
      cli.ok("disconnect-custom-key-store", "--custom-key-store-id", id);
      assertCliFails("CustomKeyStoreHasCMKsException", "delete-custom-key-store", "--custom-key-store-id", id);
    } finally {
      kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
    }
  }

  /** Runs after the CLI flow, whose store (named cli-dev2) is still there. */
  @Test
  @Order(2)
  void wrongPin_unknownToken_andConflicts_throughTheSdk() throws Exception {
    String missing = sdkCreate("sdk-missing-token", MISSING_CLUSTER, "password-1");
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(missing));
    awaitState(missing, ConnectionStateType.FAILED);
    assertEquals(ConnectionErrorCodeType.CLUSTER_NOT_FOUND, describe(missing).connectionErrorCode());
    assertThrows(CustomKeyStoreInvalidStateException.class,
        () -> kms.connectCustomKeyStore(r -> r.customKeyStoreId(missing)));
    assertThrows(CloudHsmClusterInUseException.class, () -> sdkCreate("sdk-other", MISSING_CLUSTER, "password-2"));
    assertThrows(CustomKeyStoreNameInUseException.class,
        () -> kms.updateCustomKeyStore(r -> r.customKeyStoreId(missing).newCustomKeyStoreName("cli-dev2")));
    assertThrows(CloudHsmClusterNotFoundException.class,
        () -> sdkCreate("sdk-nowhere", "cluster-notdefined22", "password-3"));
    // Limit and Marker: one store per page, every store once
    List<String> paged = new ArrayList<>();
    kms.describeCustomKeyStoresPaginator(r -> r.limit(1)).forEach(page -> {
      assertTrue(page.customKeyStores().size() <= 1);
      page.customKeyStores().forEach(c -> paged.add(c.customKeyStoreId()));
    });
    assertEquals(kms.describeCustomKeyStores().customKeyStores().stream().map(c -> c.customKeyStoreId()).toList(),
        paged);
    assertTrue(paged.size() >= 2);
    assertEquals("sdk-missing-token", kms.describeCustomKeyStores(r -> r.customKeyStoreName("sdk-missing-token"))
        .customKeyStores().get(0).customKeyStoreName());
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(missing));
    assertNull(describe(missing).connectionErrorCode());
    kms.deleteCustomKeyStore(r -> r.customKeyStoreId(missing));
    assertTrue(kms.describeCustomKeyStores().customKeyStores().stream()
        .noneMatch(s -> s.customKeyStoreId().equals(missing)));
  }

  /**
   * A wrong PIN, fixed by Disconnect, UpdateCustomKeyStore and Connect; keys and a restart; the operator CLI; the
   * sealed PIN absent from the metadata files. Runs last: it takes the dev cluster over from the CLI flow's store.
   */
  @Test
  @Order(3)
  void sdkLifecycle_wrongPinRestartAndOperatorCli() throws Exception {
    // a cluster serves one store: the CLI flow's store gives the dev cluster up (moved while DISCONNECTED)
    newUserFlowStoreOut();
    String id = sdkCreate("sdk-dev2", DEV_CLUSTER, "not-the-right-pin");
    kms.connectCustomKeyStore(r -> r.customKeyStoreId(id));
    awaitState(id, ConnectionStateType.FAILED);
    assertEquals(ConnectionErrorCodeType.INVALID_CREDENTIALS, describe(id).connectionErrorCode());
    assertThrows(CustomKeyStoreInvalidStateException.class,
        () -> kms.updateCustomKeyStore(r -> r.customKeyStoreId(id).keyStorePassword(DEV_PIN)));
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
    kms.updateCustomKeyStore(r -> r.customKeyStoreId(id).keyStorePassword(DEV_PIN));

    // the operator CLI, through the API
    GatewayProcess.Command list = gateway.kmsgw("keystore", "list");
    assertEquals(0, list.exit(), list.out());
    assertTrue(list.out().contains(id) && list.out().contains("DISCONNECTED"), list.out());
    GatewayProcess.Command connect = gateway.kmsgw("keystore", "connect", "sdk-dev2");
    assertEquals(0, connect.exit(), connect.out());
    assertTrue(connect.out().contains("CONNECTED"), connect.out());
    assertEquals(ConnectionStateType.CONNECTED, describe(id).connectionState());

    KeyMetadata key = kms.createKey(r -> r.customKeyStoreId(id).origin(OriginType.AWS_CLOUDHSM)).keyMetadata();
    assertEquals(id, key.customKeyStoreId());
    SdkBytes blob = kms.encrypt(r -> r.keyId(key.keyId()).plaintext(SdkBytes.fromUtf8String("across a restart")))
        .ciphertextBlob();
    byte[] random = kms.generateRandom(r -> r.numberOfBytes(32).customKeyStoreId(id)).plaintext().asByteArray();
    assertEquals(32, random.length);

    GatewayProcess.Command disconnect = gateway.kmsgw("keystore", "disconnect", id);
    assertEquals(0, disconnect.exit(), disconnect.out());
    assertEquals(KeyState.UNAVAILABLE, kms.describeKey(r -> r.keyId(key.keyId())).keyMetadata().keyState());
    assertThrows(KmsInvalidStateException.class, () -> kms.decrypt(r -> r.ciphertextBlob(blob)));
    assertEquals(0, gateway.kmsgw("keystore", "connect", id).exit());
    JsonObject health = new JsonObject(new RawClient(gateway.endpoint()).healthDetail().body());
    JsonObject listed = health.getJsonArray("keyStores").stream().map(JsonObject.class::cast)
        .filter(h -> id.equals(h.getString("keyStore"))).findFirst().orElseThrow();
    assertEquals("CONNECTED", listed.getString("state"));
    assertEquals(DEV_CLUSTER, listed.getString("cluster"));
    assertTrue(listed.getJsonObject("pool").getInteger("size") > 0);
    assertEquals("default", health.getJsonArray("keyStores").getJsonObject(0).getString("keyStore"));

    // a restart: the store an operator left connected connects again by itself
    gateway.stop();
    assertPinAbsentFromMetadata();
    gateway.restart(serveArgs);
    awaitState(id, ConnectionStateType.CONNECTED);
    assertEquals("across a restart", kms.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asUtf8String());
    kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(id));
  }

  /** The CLI flow's store, if it exists, gives the dev cluster up (its key is pending deletion; the store stays). */
  private static void newUserFlowStoreOut() {
    for (CustomKeyStoresListEntry s : kms.describeCustomKeyStores().customKeyStores()) {
      if (s.cloudHsmClusterId().equals(DEV_CLUSTER)) {
        kms.disconnectCustomKeyStore(r -> r.customKeyStoreId(s.customKeyStoreId()));
        kms.updateCustomKeyStore(r -> r.customKeyStoreId(s.customKeyStoreId()).cloudHsmClusterId(MISSING_CLUSTER));
      }
    }
  }

  /** Every file of the metadata store, byte by byte (what strings shows, and more), and strings itself. */
  private static void assertPinAbsentFromMetadata() throws Exception {
    if (Files.isExecutable(Path.of("/usr/bin/strings"))) {
      try (Stream<Path> s = Files.list(gateway.dataDir().resolve("metadata"))) {
        for (Path db : s.filter(p -> p.toString().endsWith(".db")).toList()) {
          Process p = new ProcessBuilder("/usr/bin/strings", "-a", db.toString()).redirectErrorStream(true).start();
          String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
          assertTrue(p.waitFor(60, TimeUnit.SECONDS));
          assertFalse(out.isEmpty());
          assertFalse(out.contains(DEV_PIN), "strings finds the key store password in " + db);
        }
      }
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(gateway.dataDir().resolve("metadata"))) {
      files = s.filter(Files::isRegularFile).toList();
    }
    assertFalse(files.isEmpty());
    for (Path f : files) {
      String bytes = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
      assertFalse(bytes.contains(DEV_PIN), f + " holds the key store password in clear");
      assertFalse(bytes.contains(new String(DEV_PIN.getBytes(StandardCharsets.UTF_16BE), StandardCharsets.ISO_8859_1)),
          f + " holds the key store password in clear (UTF-16)");
    }
  }

}
