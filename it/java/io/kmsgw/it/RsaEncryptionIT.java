package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.EncryptionAlgorithmSpec;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;

/**
 * RSA encryption in the real gateway, judged by outside programs: openssl encrypts with the public key that
 * GetPublicKey gives (RSA-OAEP, MGF1 over the same hash, as AWS KMS does) and the unmodified AWS CLI decrypts; the
 * CLI's Encrypt gives a raw RSA ciphertext of the modulus length; the AWS SDK for Java v2 encrypts, decrypts and
 * re-encrypts between symmetric and RSA keys. On SoftHSM2 (RSAES_OAEP_SHA_256 through the fallback: raw RSA in the
 * HSM, OAEP decoded in the gateway) and on NSS's softoken (both hashes through CKM_RSA_PKCS_OAEP).
 */
class RsaEncryptionIT {
  private static final SecureRandom RANDOM = new SecureRandom();

  @Test
  void onSoftHsm2_opensslAndTheCliAndTheSdk_agreeWithTheGateway() throws Exception {
    GatewayProcess gateway = GatewayProcess.start("rsa-enc-softhsm");
    try {
      AwsCli cli = cli(gateway);
      scenario(gateway, cli, "RSA_2048", 256);
      // the largest key, at AWS's SHA-256 limit (446 bytes), through the fallback
      String big = create(cli, "RSA_4096");
      opensslEncrypts_cliDecrypts(cli, big, "sha256", "RSAES_OAEP_SHA_256", 446, 512);
      opensslEncrypts_cliDecrypts(cli, big, "sha1", "RSAES_OAEP_SHA_1", 470, 512);
    } finally {
      gateway.stop();
    }
    auditHasAlgorithmsButNoPlaintext(gateway);
  }

  @Test
  void onNss_opensslAndTheCliAndTheSdk_agreeWithTheGateway() throws Exception {
    GatewayProcess gateway = GatewayProcess.start("rsa-enc-nss", dir -> Map.of(),
        dir -> List.of("--config", "hsm-config/nss.yaml"));
    try {
      scenario(gateway, cli(gateway), "RSA_3072", 384);
    } finally {
      gateway.stop();
    }
    auditHasAlgorithmsButNoPlaintext(gateway);
  }

  private static AwsCli cli(GatewayProcess gateway) throws Exception {
    return AwsCli.beside(gateway);
  }

  private static String create(AwsCli cli, String spec) throws Exception {
    JsonObject m = cli.ok("create-key", "--key-spec", spec, "--key-usage", "ENCRYPT_DECRYPT")
        .getJsonObject("KeyMetadata");
    assertEquals(List.of("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"), m.getJsonArray("EncryptionAlgorithms").getList());
    return m.getString("KeyId");
  }

  /** The plaintexts each scenario used, so that the audit check can look for them. */
  private static final List<byte[]> PLAINTEXTS = new java.util.concurrent.CopyOnWriteArrayList<>();

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    PLAINTEXTS.add(b);
    return b;
  }

  private static void scenario(GatewayProcess gateway, AwsCli cli, String spec, int k) throws Exception {
    String keyId = create(cli, spec);
    int sha1Limit = k - 42;
    int sha256Limit = k - 66;
    opensslEncrypts_cliDecrypts(cli, keyId, "sha1", "RSAES_OAEP_SHA_1", sha1Limit, k);
    opensslEncrypts_cliDecrypts(cli, keyId, "sha256", "RSAES_OAEP_SHA_256", sha256Limit, k);
    opensslEncrypts_cliDecrypts(cli, keyId, "sha256", "RSAES_OAEP_SHA_256", 1, k);
    cliEncrypts_rawCiphertext_thatTheCliDecrypts(cli, keyId, k);
    badInput_getsAwsErrors(cli, keyId, sha256Limit);
    sdkRoundTrips(gateway, keyId, k);
  }

  private static void opensslEncrypts_cliDecrypts(AwsCli cli, String keyId, String md, String algorithm,
      int length, int k) throws Exception {
    Path work = cli.work();
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    String pub = "pub-" + keyId + ".der";
    Files.write(work.resolve(pub), Base64.getDecoder().decode(cli.ok("get-public-key", "--key-id", keyId)
        .getString("PublicKey")));
    openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", pub, "-out", pub + ".pem");
    byte[] plaintext = random(length);
    Files.write(work.resolve("plain.bin"), plaintext);
    openssl.ok("pkeyutl", "-encrypt", "-pubin", "-inkey", pub + ".pem", "-pkeyopt", "rsa_padding_mode:oaep",
        "-pkeyopt", "rsa_oaep_md:" + md, "-pkeyopt", "rsa_mgf1_md:" + md, "-in", "plain.bin", "-out", "ct.bin");
    assertEquals(k, Files.size(work.resolve("ct.bin")));
    JsonObject r = cli.ok("decrypt", "--key-id", keyId, "--encryption-algorithm", algorithm,
        "--ciphertext-blob", "fileb://ct.bin");
    assertArrayEquals(plaintext, Base64.getDecoder().decode(r.getString("Plaintext")), algorithm + " " + length);
    assertEquals(algorithm, r.getString("EncryptionAlgorithm"));
    assertTrue(r.getString("KeyId").endsWith(keyId), r.encode());
    assertFalse(r.containsKey("KeyMaterialId"), "AWS: only for symmetric keys");
  }

  private static void cliEncrypts_rawCiphertext_thatTheCliDecrypts(AwsCli cli, String keyId, int k)
      throws Exception {
    Path work = cli.work();
    byte[] plaintext = random(64);
    Files.write(work.resolve("plain.bin"), plaintext);
    for (String algorithm : List.of("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")) {
      JsonObject enc = cli.ok("encrypt", "--key-id", keyId, "--encryption-algorithm", algorithm,
          "--plaintext", "fileb://plain.bin");
      assertEquals(algorithm, enc.getString("EncryptionAlgorithm"));
      byte[] ciphertext = Base64.getDecoder().decode(enc.getString("CiphertextBlob"));
      assertEquals(k, ciphertext.length, "the raw RSA ciphertext, as AWS's");
      Files.write(work.resolve("gw.bin"), ciphertext);
      JsonObject dec = cli.ok("decrypt", "--key-id", keyId, "--encryption-algorithm", algorithm,
          "--ciphertext-blob", "fileb://gw.bin");
      assertArrayEquals(plaintext, Base64.getDecoder().decode(dec.getString("Plaintext")));
    }
  }

  private static void badInput_getsAwsErrors(AwsCli cli, String keyId, int sha256Limit) throws Exception {
    Path work = cli.work();
    Files.write(work.resolve("plain.bin"), random(10));
    assertFails(cli, "InvalidKeyUsageException", "encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.bin");
    assertFails(cli, "ValidationException", "encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.bin",
        "--encryption-algorithm", "RSAES_OAEP_SHA_256", "--encryption-context", "a=b");
    Files.write(work.resolve("big.bin"), random(sha256Limit + 1));
    assertFails(cli, "ValidationException", "encrypt", "--key-id", keyId, "--plaintext", "fileb://big.bin",
        "--encryption-algorithm", "RSAES_OAEP_SHA_256");
    JsonObject enc = cli.ok("encrypt", "--key-id", keyId, "--encryption-algorithm", "RSAES_OAEP_SHA_256",
        "--plaintext", "fileb://plain.bin");
    byte[] ciphertext = Base64.getDecoder().decode(enc.getString("CiphertextBlob"));
    Files.write(work.resolve("ct.bin"), ciphertext);
    assertFails(cli, "ValidationException", "decrypt", "--encryption-algorithm", "RSAES_OAEP_SHA_256",
        "--ciphertext-blob", "fileb://ct.bin");
    // the other hash, and a flipped byte: the one InvalidCiphertextException
    String wrongHash = assertFails(cli, "InvalidCiphertextException", "decrypt", "--key-id", keyId,
        "--encryption-algorithm", "RSAES_OAEP_SHA_1", "--ciphertext-blob", "fileb://ct.bin");
    ciphertext[ciphertext.length / 2] ^= 0x10;
    Files.write(work.resolve("tampered.bin"), ciphertext);
    String tampered = assertFails(cli, "InvalidCiphertextException", "decrypt", "--key-id", keyId,
        "--encryption-algorithm", "RSAES_OAEP_SHA_256", "--ciphertext-blob", "fileb://tampered.bin");
    assertEquals(wrongHash, tampered, "one message for every failure");
  }

  /** The CLI's error line (the message after the exception's name); the command must fail with {@code name}. */
  private static String assertFails(AwsCli cli, String name, String... args) throws Exception {
    AwsCli.Result r = cli.run(args);
    assertNotEquals(0, r.exit(), String.join(" ", args));
    assertTrue(r.err().contains(name), String.join(" ", args) + ": " + r.err());
    return r.err().strip();
  }

  private static void sdkRoundTrips(GatewayProcess gateway, String rsaKey, int k) {
    try (KmsClient kms = gateway.client()) {
      byte[] plaintext = random(100);
      var enc = kms.encrypt(b -> b.keyId(rsaKey).plaintext(SdkBytes.fromByteArray(plaintext))
          .encryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256));
      assertEquals(k, enc.ciphertextBlob().asByteArray().length);
      var dec = kms.decrypt(b -> b.keyId(rsaKey).ciphertextBlob(enc.ciphertextBlob())
          .encryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256));
      assertArrayEquals(plaintext, dec.plaintext().asByteArray());
      assertEquals(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256, dec.encryptionAlgorithm());

      // ReEncrypt: RSA -> symmetric -> RSA, the plaintext never leaving the gateway
      String symmetric = kms.createKey(b -> b.description("rsa reencrypt")).keyMetadata().keyId();
      var toSymmetric = kms.reEncrypt(b -> b.ciphertextBlob(enc.ciphertextBlob()).sourceKeyId(rsaKey)
          .sourceEncryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256).destinationKeyId(symmetric)
          .destinationEncryptionContext(Map.of("step", "symmetric")));
      assertEquals(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256, toSymmetric.sourceEncryptionAlgorithm());
      assertEquals(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT, toSymmetric.destinationEncryptionAlgorithm());
      assertTrue(toSymmetric.sourceKeyMaterialId() == null && toSymmetric.destinationKeyMaterialId() != null);
      var toRsa = kms.reEncrypt(b -> b.ciphertextBlob(toSymmetric.ciphertextBlob())
          .sourceEncryptionContext(Map.of("step", "symmetric")).destinationKeyId(rsaKey)
          .destinationEncryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_1));
      assertEquals(k, toRsa.ciphertextBlob().asByteArray().length);
      var back = kms.decrypt(b -> b.keyId(rsaKey).ciphertextBlob(toRsa.ciphertextBlob())
          .encryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_1));
      assertArrayEquals(plaintext, back.plaintext().asByteArray());
      assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(b -> b.keyId(rsaKey)
          .ciphertextBlob(toRsa.ciphertextBlob()).encryptionAlgorithm(EncryptionAlgorithmSpec.RSAES_OAEP_SHA_256)));
    }
  }

  /** CloudTrail's shape: the algorithm in requestParameters, never a plaintext (in any encoding). */
  private static void auditHasAlgorithmsButNoPlaintext(GatewayProcess gateway) throws Exception {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.walk(gateway.dataDir().resolve("audit"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        all.append(new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    String text = all.toString();
    assertTrue(text.contains("\"encryptionAlgorithm\":\"RSAES_OAEP_SHA_256\""), "the algorithm is audited");
    for (byte[] p : PLAINTEXTS) {
      if (p.length >= 16) {
        assertFalse(text.contains(Base64.getEncoder().encodeToString(p)), "a plaintext in the audit trail");
      }
    }
  }
}
