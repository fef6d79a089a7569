package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.LimitExceededException;
import software.amazon.awssdk.services.kms.model.ListKeyRotationsResponse;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.RotationsListEntry;

/**
 * A key's life against the real gateway, as the user does it: with the AWS CLI v2 where its (early 2023)
 * model has the command, with the AWS SDK for Java v2 for rotate-key-on-demand and list-key-rotations, which it
 * does not have.
 */
class KeyLifecycleIT {
  private static GatewayProcess gateway;
  private static AwsCli cli;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("lifecycle");
    cli = AwsCli.beside(gateway);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static String newKey() throws Exception {
    return cli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
  }

  private static byte[] encrypt(String keyId, String text) throws Exception {
    Path p = Files.createTempFile(cli.work(), "plain", ".txt");
    Files.writeString(p, text);
    return Base64.getDecoder().decode(cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://" + p.getFileName())
        .getString("CiphertextBlob"));
  }

  private static Path blobFile(byte[] blob) throws Exception {
    Path p = Files.createTempFile(cli.work(), "blob", ".bin");
    Files.write(p, blob);
    return p;
  }

  private static String decrypt(byte[] blob) throws Exception {
    JsonObject r = cli.ok("decrypt", "--ciphertext-blob", "fileb://" + blobFile(blob).getFileName());
    return new String(Base64.getDecoder().decode(r.getString("Plaintext")), StandardCharsets.UTF_8);
  }

  private static void assertCliFails(String error, String... args) throws Exception {
    AwsCli.Result r = cli.run(args);
    assertNotEquals(0, r.exit(), "aws " + String.join(" ", args) + " should have failed");
    assertTrue(r.err().contains(error), r.err());
  }

  @Test
  void aliasRoundTrip_encryptViaAlias_repoint_list() throws Exception {
    String a = newKey();
    String b = newKey();
    cli.ok("create-alias", "--alias-name", "alias/payments", "--target-key-id", a);
    byte[] blob = encrypt("alias/payments", "via the alias");
    assertEquals("via the alias", decrypt(blob));
    assertEquals(a, cli.ok("describe-key", "--key-id", "alias/payments").getJsonObject("KeyMetadata").getString("KeyId"));
    cli.ok("update-alias", "--alias-name", "alias/payments", "--target-key-id", b);
    JsonArray aliases = cli.ok("list-aliases", "--key-id", b).getJsonArray("Aliases");
    assertEquals(1, aliases.size());
    assertEquals("alias/payments", aliases.getJsonObject(0).getString("AliasName"));
    assertEquals("arn:aws:kms:us-east-1:111122223333:alias/payments", aliases.getJsonObject(0).getString("AliasArn"));
    assertTrue(cli.ok("list-aliases").getJsonArray("Aliases").encode().contains("alias/payments"));
    byte[] second = encrypt("arn:aws:kms:us-east-1:111122223333:alias/payments", "now key b");
    assertEquals(b, cli.ok("describe-key", "--key-id", "alias/payments").getJsonObject("KeyMetadata").getString("KeyId"));
    assertEquals("now key b", decrypt(second));
    assertEquals("via the alias", decrypt(blob), "old ciphertext names its key, not the alias");
    assertCliFails("AlreadyExistsException", "create-alias", "--alias-name", "alias/payments", "--target-key-id", a);
    assertCliFails("InvalidAliasNameException", "create-alias", "--alias-name", "alias/aws/mine", "--target-key-id", a);
    cli.ok("delete-alias", "--alias-name", "alias/payments");
    assertCliFails("NotFoundException", "describe-key", "--key-id", "alias/payments");
  }

  @Test
  void disable_encryptFailsDisabled_enable_works() throws Exception {
    String k = newKey();
    cli.ok("disable-key", "--key-id", k);
    assertEquals("Disabled", cli.ok("describe-key", "--key-id", k).getJsonObject("KeyMetadata").getString("KeyState"));
    Files.writeString(cli.work().resolve("d.txt"), "x");
    assertCliFails("DisabledException", "encrypt", "--key-id", k, "--plaintext", "fileb://d.txt");
    cli.ok("enable-key", "--key-id", k);
    assertEquals("x", decrypt(encrypt(k, "x")));
  }

  @Test
  void rotation_onDemandTwice_oldBlobStillDecrypts_newBlobUsesTheNewVersion_reEncryptMovesIt() throws Exception {
    String k = newKey();
    byte[] before = encrypt(k, "made before any rotation");
    cli.ok("enable-key-rotation", "--key-id", k);
    assertTrue(cli.ok("get-key-rotation-status", "--key-id", k).getBoolean("KeyRotationEnabled"));
    try (KmsClient sdk = gateway.client()) {
      sdk.rotateKeyOnDemand(r -> r.keyId(k));
      sdk.rotateKeyOnDemand(r -> r.keyId(k));
      ListKeyRotationsResponse rotations = sdk.listKeyRotations(r -> r.keyId(k));
      List<RotationsListEntry> entries = rotations.rotations();
      assertEquals(2, entries.size(), entries.toString());
      for (RotationsListEntry e : entries) {
        assertEquals("ON_DEMAND", e.rotationTypeAsString());
        assertTrue(e.rotationDate() != null);
      }
      assertEquals(365, sdk.getKeyRotationStatus(r -> r.keyId(k)).rotationPeriodInDays());
    }
    assertEquals("made before any rotation", decrypt(before));
    byte[] after = encrypt(k, "made after two rotations");
    assertEquals(1, version(before));
    assertEquals(3, version(after), "new encryptions use the newest version");
    JsonObject moved = cli.ok("re-encrypt", "--ciphertext-blob", "fileb://" + blobFile(before).getFileName(),
        "--destination-key-id", k);
    byte[] movedBlob = Base64.getDecoder().decode(moved.getString("CiphertextBlob"));
    assertEquals(3, version(movedBlob), "ReEncrypt moves the old blob to the newest version");
    assertEquals("made before any rotation", decrypt(movedBlob));
  }

  private static int version(byte[] blob) {
    return java.nio.ByteBuffer.wrap(blob, 17, 4).getInt();
  }

  @Test
  void tags_viaTheCli() throws Exception {
    String k = newKey();
    cli.ok("tag-resource", "--key-id", k, "--tags", "TagKey=team,TagValue=payments", "TagKey=env,TagValue=prod");
    cli.ok("untag-resource", "--key-id", k, "--tag-keys", "env");
    JsonArray tags = cli.ok("list-resource-tags", "--key-id", k).getJsonArray("Tags");
    assertEquals(1, tags.size());
    assertEquals("team", tags.getJsonObject(0).getString("TagKey"));
    cli.ok("update-key-description", "--key-id", k, "--description", "payments key");
    assertEquals("payments key",
        cli.ok("describe-key", "--key-id", k).getJsonObject("KeyMetadata").getString("Description"));
  }

  @Test
  void scheduleDeletion_cryptoFails_cancel_enable_works() throws Exception {
    String k = newKey();
    byte[] blob = encrypt(k, "survives a cancelled deletion");
    JsonObject scheduled = cli.ok("schedule-key-deletion", "--key-id", k, "--pending-window-in-days", "7");
    assertEquals("PendingDeletion", scheduled.getString("KeyState"));
    assertEquals(7, scheduled.getInteger("PendingWindowInDays"));
    assertCliFails("KMSInvalidStateException", "decrypt", "--ciphertext-blob",
        "fileb://" + blobFile(blob).getFileName());
    assertCliFails("ValidationException", "schedule-key-deletion", "--key-id", newKey(), "--pending-window-in-days",
        "6");
    cli.ok("cancel-key-deletion", "--key-id", k);
    assertEquals("Disabled", cli.ok("describe-key", "--key-id", k).getJsonObject("KeyMetadata").getString("KeyState"));
    cli.ok("enable-key", "--key-id", k);
    assertEquals("survives a cancelled deletion", decrypt(blob));
  }

  /**
   * Deletion at the end of the window: the gateway restarted with its lifecycle clock eight days ahead
   * (KMSGW_DEV_CLOCK_OFFSET_DAYS, development mode only) destroys every version's HSM object and the key.
   */
  @Test
  void deletionWindowEnds_afterRestartWithTheClockAhead_everyVersionIsGone() throws Exception {
    String k = newKey();
    try (KmsClient sdk = gateway.client()) {
      sdk.rotateKeyOnDemand(r -> r.keyId(k));
    }
    cli.ok("create-alias", "--alias-name", "alias/short-lived", "--target-key-id", k);
    cli.ok("schedule-key-deletion", "--key-id", k, "--pending-window-in-days", "7");
    gateway.stop();
    assertEquals(2, hsmObjectsOf(k), "both versions are in the token before the window ends");
    GatewayProcess ahead = GatewayProcess.restartWith(gateway, Map.of("KMSGW_DEV_CLOCK_OFFSET_DAYS", "8"));
    try {
      long deadline = System.nanoTime() + 30_000_000_000L;
      AwsCli aheadCli = new AwsCli(ahead, cli.work());
      AwsCli.Result r;
      do {
        r = aheadCli.run("describe-key", "--key-id", k);
        GatewayProcess.sleep(200);
      } while (r.exit() == 0 && System.nanoTime() < deadline);
      assertTrue(r.err().contains("NotFoundException"), r.err());
      assertFalse(aheadCli.ok("list-aliases").encode().contains("alias/short-lived"));
      assertTrue(ahead.logText().contains("deleted at the end of its waiting period"));
    } finally {
      ahead.stop();
    }
    assertEquals(0, hsmObjectsOf(k), "every version's HSM object is destroyed");
    gateway.start();
  }

  /** Token objects labelled for this key, read with OpenSC's pkcs11-tool while the gateway is stopped. */
  private static int hsmObjectsOf(String keyId) throws Exception {
    String out = Pkcs11Tool.listSecretKeys(gateway.dataDir(), "kmsgw");
    int n = 0;
    for (String line : out.split("\n")) {
      if (line.contains("label:") && line.contains("kmsgw:" + keyId + ":")) {
        n++;
      }
    }
    return n;
  }

  @Test
  void keyQuota_the1001stKeyIsRefused() throws Exception {
    GatewayProcess fresh = GatewayProcess.start("quota");
    try (KmsClient sdk = fresh.client()) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<?>> created = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        created.add(pool.submit(() -> sdk.createKey(r -> r.description("quota"))));
      }
      for (Future<?> f : created) {
        f.get(120, TimeUnit.SECONDS);
      }
      pool.shutdown();
      LimitExceededException e = assertThrows(LimitExceededException.class, () -> sdk.createKey(r -> r.description("1001")));
      assertTrue(e.getMessage().contains("1000"), e.getMessage());
      // a key pending deletion still counts, as in AWS
      String any = sdk.listKeys(r -> r.limit(1)).keys().get(0).keyId();
      sdk.scheduleKeyDeletion(r -> r.keyId(any).pendingWindowInDays(7));
      assertThrows(LimitExceededException.class, () -> sdk.createKey(r -> r.description("still 1001")));
    } finally {
      fresh.stop();
    }
  }

  @Test
  void managementOperations_refuseAliasesAsKeyIds() {
    try (KmsClient sdk = gateway.client()) {
      String k = sdk.createKey(r -> r.description("x")).keyMetadata().keyId();
      sdk.createAlias(r -> r.aliasName("alias/not-for-management").targetKeyId(k));
      assertThrows(NotFoundException.class, () -> sdk.disableKey(r -> r.keyId("alias/not-for-management")));
      KmsException e = assertThrows(KmsException.class,
          () -> sdk.encrypt(r -> r.keyId("alias/does-not-exist").plaintext(SdkBytes.fromUtf8String("x"))));
      assertEquals("NotFoundException", e.awsErrorDetails().errorCode());
    }
  }
}
