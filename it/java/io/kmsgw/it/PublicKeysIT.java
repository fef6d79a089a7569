package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Asymmetric and HMAC keys in the real gateway on SoftHSM2, through the unmodified AWS CLI and SDK: CreateKey of each
 * kind, DescribeKey's algorithm lists, GetPublicKey's DER read by openssl as a key of the spec, and AWS's refusals
 * (GetPublicKey of a symmetric key, rotation of an asymmetric or HMAC key).
 */
class PublicKeysIT {
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static io.kmsgw.testing.OpenSsl openssl;
  private static Path work;

  @BeforeAll
  static void start() throws IOException {
    gateway = GatewayProcess.start("public-keys");
    cli = AwsCli.beside(gateway);
    work = cli.work();
    openssl = new io.kmsgw.testing.OpenSsl(work);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static String create(String spec, String usage) throws Exception {
    JsonObject m = cli.ok("create-key", "--key-spec", spec, "--key-usage", usage).getJsonObject("KeyMetadata");
    assertEquals(spec, m.getString("KeySpec"));
    assertEquals(usage, m.getString("KeyUsage"));
    assertEquals("Enabled", m.getString("KeyState"));
    return m.getString("KeyId");
  }

  /** GetPublicKey through the CLI, written as DER, and what openssl prints of it. */
  private static String publicKeyText(String keyId, String file) throws Exception {
    JsonObject r = cli.ok("get-public-key", "--key-id", keyId);
    Files.write(work.resolve(file), Base64.getDecoder().decode(r.getString("PublicKey")));
    return openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", file, "-text", "-noout").text();
  }

  @Test
  void getPublicKey_ofEveryKind_isDerThatOpensslReadsAsAKeyOfTheSpec() throws Exception {
    assertTrue(publicKeyText(create("RSA_2048", "SIGN_VERIFY"), "rsa2048.der").contains("Public-Key: (2048 bit)"));
    assertTrue(publicKeyText(create("RSA_4096", "ENCRYPT_DECRYPT"), "rsa4096.der").contains("Public-Key: (4096 bit)"));
    String p256 = publicKeyText(create("ECC_NIST_P256", "SIGN_VERIFY"), "p256.der");
    assertTrue(p256.contains("NIST CURVE: P-256") || p256.contains("prime256v1"), p256);
    String p521 = publicKeyText(create("ECC_NIST_P521", "KEY_AGREEMENT"), "p521.der");
    assertTrue(p521.contains("NIST CURVE: P-521") || p521.contains("secp521r1"), p521);
    assertTrue(publicKeyText(create("ECC_SECG_P256K1", "SIGN_VERIFY"), "k1.der").contains("secp256k1"));
    assertTrue(publicKeyText(create("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), "ed.der").contains("ED25519"));
  }

  @Test
  void getPublicKey_answersTheSpecUsageAndAlgorithms_andTheSdkGetsTheSameBytes() throws Exception {
    String keyId = create("ECC_NIST_P384", "SIGN_VERIFY");
    JsonObject r = cli.ok("get-public-key", "--key-id", keyId);
    assertEquals("ECC_NIST_P384", r.getString("KeySpec"));
    assertEquals("ECC_NIST_P384", r.getString("CustomerMasterKeySpec"));
    assertEquals("SIGN_VERIFY", r.getString("KeyUsage"));
    assertEquals(List.of("ECDSA_SHA_384"), r.getJsonArray("SigningAlgorithms").getList());
    assertFalse(r.containsKey("EncryptionAlgorithms"), r.encode());
    try (KmsClient kms = gateway.client()) {
      byte[] sdk = kms.getPublicKey(b -> b.keyId(keyId)).publicKey().asByteArray();
      assertArrayEquals(Base64.getDecoder().decode(r.getString("PublicKey")), sdk);
    }
    JsonObject described = cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata");
    assertEquals(List.of("ECDSA_SHA_384"), described.getJsonArray("SigningAlgorithms").getList());
    assertFalse(described.containsKey("CurrentKeyMaterialId"), "symmetric encryption keys only: " + described);
  }

  /**
   * An Ed25519 key lists only the algorithm kmsgw can run: a client that picks from SigningAlgorithms (as the SDK's
   * users do) must not be offered ED25519_PH_SHA_512, which Sign refuses on every token.
   */
  @Test
  void ed25519Key_listsOnlyTheSigningAlgorithmItCanRun_andTheOtherIsRefused() throws Exception {
    String keyId = create("ECC_NIST_EDWARDS25519", "SIGN_VERIFY");
    assertEquals(List.of("ED25519_SHA_512"), cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata")
        .getJsonArray("SigningAlgorithms").getList());
    assertEquals(List.of("ED25519_SHA_512"),
        cli.ok("get-public-key", "--key-id", keyId).getJsonArray("SigningAlgorithms").getList());
    try (KmsClient kms = gateway.client()) {
      for (var offered : kms.describeKey(b -> b.keyId(keyId)).keyMetadata().signingAlgorithms()) {
        // every algorithm offered signs
        assertEquals(offered, kms.sign(b -> b.keyId(keyId).signingAlgorithm(offered)
            .message(software.amazon.awssdk.core.SdkBytes.fromUtf8String("m"))).signingAlgorithm());
      }
      assertThrows(software.amazon.awssdk.services.kms.model.UnsupportedOperationException.class,
          () -> kms.sign(b -> b.keyId(keyId).signingAlgorithm("ED25519_PH_SHA_512").messageType("DIGEST")
              .message(software.amazon.awssdk.core.SdkBytes.fromByteArray(new byte[64]))));
    }
  }

  @Test
  void hmacKey_isDescribedWithItsMacAlgorithm_andHasNoPublicKey() throws Exception {
    String keyId = create("HMAC_384", "GENERATE_VERIFY_MAC");
    JsonObject m = cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata");
    assertEquals(List.of("HMAC_SHA_384"), m.getJsonArray("MacAlgorithms").getList());
    AwsCli.Result r = cli.run("get-public-key", "--key-id", keyId);
    assertNotEquals(0, r.exit());
    assertTrue(r.err().contains("UnsupportedOperationException"), r.err());
  }

  @Test
  void symmetricKey_hasNoPublicKey_andAsymmetricAndHmacKeysDoNotRotate() throws Exception {
    String symmetric = cli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
    AwsCli.Result r = cli.run("get-public-key", "--key-id", symmetric);
    assertTrue(r.exit() != 0 && r.err().contains("UnsupportedOperationException"), r.err());
    for (String keyId : List.of(create("RSA_3072", "SIGN_VERIFY"), create("HMAC_256", "GENERATE_VERIFY_MAC"))) {
      for (String op : List.of("enable-key-rotation", "disable-key-rotation")) {
        AwsCli.Result refused = cli.run(op, "--key-id", keyId);
        assertTrue(refused.exit() != 0 && refused.err().contains("UnsupportedOperationException"), op + refused.err());
      }
      // the CLI of Debian 12 predates RotateKeyOnDemand: the SDK asks
      try (KmsClient kms = gateway.client()) {
        assertThrows(software.amazon.awssdk.services.kms.model.UnsupportedOperationException.class,
            () -> kms.rotateKeyOnDemand(b -> b.keyId(keyId)));
      }
      JsonObject status = cli.ok("get-key-rotation-status", "--key-id", keyId);
      assertFalse(status.getBoolean("KeyRotationEnabled"), status.encode());
    }
  }

  @Test
  void disabledKey_getPublicKey_failsDisabled() throws Exception {
    String keyId = create("ECC_NIST_P256", "KEY_AGREEMENT");
    cli.ok("disable-key", "--key-id", keyId);
    AwsCli.Result r = cli.run("get-public-key", "--key-id", keyId);
    assertTrue(r.exit() != 0 && r.err().contains("DisabledException"), r.err());
  }
}
