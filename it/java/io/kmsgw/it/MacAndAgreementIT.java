package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DeriveSharedSecretResponse;
import software.amazon.awssdk.services.kms.model.KeyAgreementAlgorithmSpec;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.MacAlgorithmSpec;

/**
 * GenerateMac, VerifyMac and DeriveSharedSecret in the real gateway on SoftHSM2 (and on NSS, one test), through
 * unmodified clients: the AWS CLI v2 (generate-mac and verify-mac; Debian's 2.9.19 predates derive-shared-secret)
 * and the AWS SDK for Java v2.
 * The ECDH secret is judged by openssl ({@code pkeyutl -derive}) and the JDK computing it on the peer's side; bad
 * input gets AWS's error names; the audit trail records the algorithms and never a message, MAC, public key or secret.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MacAndAgreementIT {
  private static final Map<String, String> CURVES = Map.of("ECC_NIST_P256", "secp256r1",
      "ECC_NIST_P384", "secp384r1", "ECC_NIST_P521", "secp521r1");
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static io.kmsgw.testing.OpenSsl openssl;
  private static KmsClient kms;
  private static Path work;
  /** What must never reach the audit trail: every message, MAC, peer key and secret of the run, base64. */
  private static final List<String> NEVER_AUDITED = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("mac-ecdh");
    cli = AwsCli.beside(gateway);
    work = cli.work();
    openssl = new io.kmsgw.testing.OpenSsl(work);
    kms = gateway.client();
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

  private static String create(String spec, String usage) throws Exception {
    return cli.ok("create-key", "--key-spec", spec, "--key-usage", usage).getJsonObject("KeyMetadata")
        .getString("KeyId");
  }

  private static void cliRefused(String error, String... args) throws Exception {
    AwsCli.Result r = cli.run(args);
    assertTrue(r.exit() != 0 && r.err().contains(error), String.join(" ", args) + ": " + r.err());
  }

  private static void sdkRefused(String error, Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(error, e.awsErrorDetails().errorCode(), e.getMessage());
  }

  private static void neverAudited(byte[] b) {
    NEVER_AUDITED.add(Base64.getEncoder().encodeToString(b));
  }

  @Test
  void awsCli_generatesAndVerifiesMacs_andGetsAwsErrors() throws Exception {
    String keyId = create("HMAC_256", "GENERATE_VERIFY_MAC");
    JsonObject describe = cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata");
    assertEquals("[\"HMAC_SHA_256\"]", describe.getJsonArray("MacAlgorithms").encode());
    byte[] message = "message from the cli".getBytes(StandardCharsets.UTF_8);
    Files.write(work.resolve("msg.bin"), message);
    JsonObject generated = cli.ok("generate-mac", "--key-id", keyId, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_256");
    byte[] mac = Base64.getDecoder().decode(generated.getString("Mac"));
    assertEquals(32, mac.length);
    assertEquals("HMAC_SHA_256", generated.getString("MacAlgorithm"));
    assertTrue(generated.getString("KeyId").endsWith(keyId));
    Files.write(work.resolve("mac.bin"), mac);
    JsonObject verified = cli.ok("verify-mac", "--key-id", keyId, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_256", "--mac", "fileb://mac.bin");
    assertEquals(true, verified.getBoolean("MacValid"));
    neverAudited(message);
    neverAudited(mac);

    byte[] flipped = mac.clone();
    flipped[31] ^= 0x01;
    Files.write(work.resolve("flipped.bin"), flipped);
    cliRefused("KMSInvalidMacException", "verify-mac", "--key-id", keyId, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_256", "--mac", "fileb://flipped.bin");
    cliRefused("InvalidKeyUsageException", "generate-mac", "--key-id", keyId, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_512");
    Files.write(work.resolve("long.bin"), new byte[4097]);
    cliRefused("ValidationException", "generate-mac", "--key-id", keyId, "--message", "fileb://long.bin",
        "--mac-algorithm", "HMAC_SHA_256");
    String symmetric = cli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
    cliRefused("InvalidKeyUsageException", "generate-mac", "--key-id", symmetric, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_256");
    cli.ok("disable-key", "--key-id", keyId);
    cliRefused("DisabledException", "verify-mac", "--key-id", keyId, "--message", "fileb://msg.bin",
        "--mac-algorithm", "HMAC_SHA_256", "--mac", "fileb://mac.bin");
  }

  @Test
  void sdk_macsWithEveryHmacSpec_andDryRunAndMismatchGetAwsErrors() {
    Map<KeySpec, MacAlgorithmSpec> specs = Map.of(KeySpec.HMAC_224, MacAlgorithmSpec.HMAC_SHA_224,
        KeySpec.HMAC_256, MacAlgorithmSpec.HMAC_SHA_256, KeySpec.HMAC_384, MacAlgorithmSpec.HMAC_SHA_384,
        KeySpec.HMAC_512, MacAlgorithmSpec.HMAC_SHA_512);
    SdkBytes message = SdkBytes.fromUtf8String("message from the sdk");
    neverAudited(message.asByteArray());
    specs.forEach((spec, algorithm) -> {
      String keyId = kms.createKey(r -> r.keySpec(spec).keyUsage(KeyUsageType.GENERATE_VERIFY_MAC)).keyMetadata()
          .keyId();
      SdkBytes mac = kms.generateMac(r -> r.keyId(keyId).message(message).macAlgorithm(algorithm)).mac();
      neverAudited(mac.asByteArray());
      assertEquals(Integer.parseInt(spec.toString().substring(5)) / 8, mac.asByteArray().length, spec.toString());
      assertTrue(kms.verifyMac(r -> r.keyId(keyId).message(message).macAlgorithm(algorithm).mac(mac)).macValid());
      byte[] other = mac.asByteArray();
      other[0] ^= (byte) 0x80;
      sdkRefused("KMSInvalidMacException", () -> kms.verifyMac(r -> r.keyId(keyId).message(message)
          .macAlgorithm(algorithm).mac(SdkBytes.fromByteArray(other))));
      sdkRefused("DryRunOperationException", () -> kms.generateMac(r -> r.keyId(keyId).message(message)
          .macAlgorithm(algorithm).dryRun(true)));
    });
  }

  private static KeyPair peer(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  private static DeriveSharedSecretResponse derive(String keyId, byte[] peerSpki) {
    return kms.deriveSharedSecret(r -> r.keyId(keyId).keyAgreementAlgorithm(KeyAgreementAlgorithmSpec.ECDH)
        .publicKey(SdkBytes.fromByteArray(peerSpki)));
  }

  @Test
  void sdk_derivesTheSecretThatOpensslAndTheJdkComputeOnThePeersSide() throws Exception {
    for (Map.Entry<String, String> c : CURVES.entrySet()) {
      String keyId = kms.createKey(r -> r.keySpec(c.getKey()).keyUsage(KeyUsageType.KEY_AGREEMENT)).keyMetadata()
          .keyId();
      byte[] kmsPublic = kms.getPublicKey(r -> r.keyId(keyId)).publicKey().asByteArray();
      KeyPair peer = peer(c.getValue());
      DeriveSharedSecretResponse r = derive(keyId, peer.getPublic().getEncoded());
      byte[] secret = r.sharedSecret().asByteArray();
      neverAudited(secret);
      neverAudited(peer.getPublic().getEncoded());
      assertEquals(KeyAgreementAlgorithmSpec.ECDH, r.keyAgreementAlgorithm());
      assertEquals("AWS_KMS", r.keyOriginAsString());
      assertTrue(r.keyId().endsWith(keyId));

      Files.write(work.resolve("kms-" + c.getKey() + ".der"), kmsPublic);
      Files.write(work.resolve("peer-" + c.getKey() + ".der"), peer.getPrivate().getEncoded());
      openssl.ok("pkeyutl", "-derive", "-inkey", "peer-" + c.getKey() + ".der", "-keyform", "DER", "-peerkey",
          "kms-" + c.getKey() + ".der", "-peerform", "DER", "-out", "secret-" + c.getKey() + ".bin");
      assertArrayEquals(Files.readAllBytes(work.resolve("secret-" + c.getKey() + ".bin")), secret,
          "openssl on " + c.getKey());

      javax.crypto.KeyAgreement ka = javax.crypto.KeyAgreement.getInstance("ECDH");
      ka.init(peer.getPrivate());
      ka.doPhase(KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(kmsPublic)), true);
      assertArrayEquals(ka.generateSecret(), secret, "the JDK on " + c.getKey());

      // the peer's key as openssl writes it with a compressed point: the same secret
      Files.write(work.resolve("peer-pub-" + c.getKey() + ".der"), peer.getPublic().getEncoded());
      openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", "peer-pub-" + c.getKey() + ".der", "-outform", "DER",
          "-ec_conv_form", "compressed", "-out", "peer-compressed-" + c.getKey() + ".der");
      byte[] compressed = Files.readAllBytes(work.resolve("peer-compressed-" + c.getKey() + ".der"));
      assertTrue(compressed.length < peer.getPublic().getEncoded().length, "openssl compressed the point");
      assertArrayEquals(secret, derive(keyId, compressed).sharedSecret().asByteArray(), "compressed point");
    }
  }

  @Test
  void sdk_badPeerKeysWrongUsageRecipientAndDryRun_getAwsErrors() throws Exception {
    String keyId = kms.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P256).keyUsage(KeyUsageType.KEY_AGREEMENT))
        .keyMetadata().keyId();
    byte[] good = peer("secp256r1").getPublic().getEncoded();
    byte[] offCurve = good.clone();
    offCurve[offCurve.length - 1] ^= 1;
    for (byte[] bad : List.of(peer("secp384r1").getPublic().getEncoded(), offCurve,
        java.util.Arrays.copyOf(good, good.length - 3), "malformed".getBytes(StandardCharsets.US_ASCII))) {
      sdkRefused("ValidationException", () -> derive(keyId, bad));
    }
    sdkRefused("DryRunOperationException", () -> kms.deriveSharedSecret(r -> r.keyId(keyId)
        .keyAgreementAlgorithm(KeyAgreementAlgorithmSpec.ECDH).publicKey(SdkBytes.fromByteArray(good)).dryRun(true)));
    sdkRefused("UnsupportedOperationException", () -> kms.deriveSharedSecret(r -> r.keyId(keyId)
        .keyAgreementAlgorithm(KeyAgreementAlgorithmSpec.ECDH).publicKey(SdkBytes.fromByteArray(good))
        .recipient(x -> x.keyEncryptionAlgorithm("RSAES_OAEP_SHA_256")
            .attestationDocument(SdkBytes.fromUtf8String("not an attestation document")))));
    String signing = kms.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P256).keyUsage(KeyUsageType.SIGN_VERIFY))
        .keyMetadata().keyId();
    sdkRefused("InvalidKeyUsageException", () -> derive(signing, good));
    String hmac = kms.createKey(r -> r.keySpec(KeySpec.HMAC_256).keyUsage(KeyUsageType.GENERATE_VERIFY_MAC))
        .keyMetadata().keyId();
    sdkRefused("InvalidKeyUsageException", () -> derive(hmac, good));
    assertEquals(32, derive(keyId, good).sharedSecret().asByteArray().length);
  }

  @Test
  void onNss_theGatewayMacsAndDerives_asTheJdkJudges() throws Exception {
    GatewayProcess nss = GatewayProcess.start("mac-ecdh-nss", dir -> Map.of(),
        dir -> List.of("--config", "hsm-config/nss.yaml"));
    try (KmsClient client = nss.client()) {
      String hmac = client.createKey(r -> r.keySpec(KeySpec.HMAC_512).keyUsage(KeyUsageType.GENERATE_VERIFY_MAC))
          .keyMetadata().keyId();
      SdkBytes message = SdkBytes.fromUtf8String("kept by NSS");
      SdkBytes mac = client.generateMac(r -> r.keyId(hmac).message(message)
          .macAlgorithm(MacAlgorithmSpec.HMAC_SHA_512)).mac();
      assertEquals(64, mac.asByteArray().length);
      assertTrue(client.verifyMac(r -> r.keyId(hmac).message(message).macAlgorithm(MacAlgorithmSpec.HMAC_SHA_512)
          .mac(mac)).macValid());
      byte[] wrong = mac.asByteArray();
      wrong[63] ^= 0x40;
      KmsException e = assertThrows(KmsException.class, () -> client.verifyMac(r -> r.keyId(hmac).message(message)
          .macAlgorithm(MacAlgorithmSpec.HMAC_SHA_512).mac(SdkBytes.fromByteArray(wrong))));
      assertEquals("KMSInvalidMacException", e.awsErrorDetails().errorCode());

      String ecdh = client.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P384).keyUsage(KeyUsageType.KEY_AGREEMENT))
          .keyMetadata().keyId();
      byte[] kmsPublic = client.getPublicKey(r -> r.keyId(ecdh)).publicKey().asByteArray();
      KeyPair peer = peer("secp384r1");
      byte[] secret = client.deriveSharedSecret(r -> r.keyId(ecdh).keyAgreementAlgorithm(KeyAgreementAlgorithmSpec.ECDH)
          .publicKey(SdkBytes.fromByteArray(peer.getPublic().getEncoded()))).sharedSecret().asByteArray();
      javax.crypto.KeyAgreement ka = javax.crypto.KeyAgreement.getInstance("ECDH");
      ka.init(peer.getPrivate());
      ka.doPhase(KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(kmsPublic)), true);
      assertArrayEquals(ka.generateSecret(), secret);
    } finally {
      nss.stop();
    }
  }

  @Test
  @Order(Integer.MAX_VALUE)
  void last_theAuditTrail_recordsAlgorithms_andNeverAMessageMacKeyOrSecretOfTheRun() throws Exception {
    String keyId = kms.createKey(r -> r.keySpec(KeySpec.HMAC_384).keyUsage(KeyUsageType.GENERATE_VERIFY_MAC))
        .keyMetadata().keyId();
    SdkBytes message = SdkBytes.fromByteArray(HexFormat.of().parseHex("c0ffee00c0ffee00c0ffee00"));
    neverAudited(message.asByteArray());
    SdkBytes mac = kms.generateMac(r -> r.keyId(keyId).message(message).macAlgorithm(MacAlgorithmSpec.HMAC_SHA_384))
        .mac();
    neverAudited(mac.asByteArray());
    String agreement = kms.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P384).keyUsage(KeyUsageType.KEY_AGREEMENT))
        .keyMetadata().keyId();
    byte[] peer = peer("secp384r1").getPublic().getEncoded();
    neverAudited(peer);
    neverAudited(derive(agreement, peer).sharedSecret().asByteArray());

    String text = "";
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (System.nanoTime() < deadline) {
      text = auditText();
      if (text.contains("\"keyAgreementAlgorithm\":\"ECDH\"") && text.contains("\"macAlgorithm\":\"HMAC_SHA_384\"")) {
        break;
      }
      GatewayProcess.sleep(100); // waiting for the audit writer to flush, not for time to pass
    }
    assertTrue(text.contains("\"eventName\":\"GenerateMac\""), "GenerateMac audited");
    assertTrue(text.contains("\"eventName\":\"DeriveSharedSecret\""), "DeriveSharedSecret audited");
    assertTrue(text.contains("\"keyAgreementAlgorithm\":\"ECDH\""), "the algorithm is recorded");
    assertTrue(text.contains("\"macAlgorithm\":\"HMAC_SHA_384\""), "the algorithm is recorded");
    assertFalse(NEVER_AUDITED.isEmpty());
    for (String secret : NEVER_AUDITED) {
      assertFalse(text.contains(secret), "never audited: " + secret);
    }
    assertNotNull(gateway.logText());
    for (String secret : NEVER_AUDITED) {
      assertFalse(gateway.logText().contains(secret), "never logged: " + secret);
    }
  }

  /** Every audit file's complete lines (a file being written is pre-allocated: its text ends at a zero byte). */
  private static String auditText() throws Exception {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.list(gateway.dataDir().resolve("audit"))) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
        byte[] bytes = Files.readAllBytes(f);
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
          end++;
        }
        all.append(new String(bytes, 0, end, StandardCharsets.UTF_8));
      }
    }
    return all.toString();
  }
}
