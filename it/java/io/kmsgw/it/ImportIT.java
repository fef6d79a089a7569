package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.AlgorithmSpec;
import software.amazon.awssdk.services.kms.model.ExpirationModelType;
import software.amazon.awssdk.services.kms.model.IncorrectKeyMaterialException;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.WrappingKeySpec;

/**
 * Bring your own key through the real gateway, as AWS's own instructions do it: the AWS CLI asks for the import
 * parameters, openssl generates 32 bytes of material and wraps them ({@code pkeyutl -encrypt} with RSA-OAEP) under
 * the returned public key, the CLI imports them; the JDK's AES-GCM, given the material openssl made, decrypts what the
 * gateway's Encrypt returned (docs/ciphertext-format.md), so the HSM computes with exactly that material. On SoftHSM2
 * with RSAES_OAEP_SHA_1 (its only OAEP hash) and on NSS's softoken with RSAES_OAEP_SHA_256.
 */
class ImportIT {
  @Test
  void onSoftHsm2_opensslWrapsTheCliImports_withOaepSha1() throws Exception {
    GatewayProcess gateway = GatewayProcess.start("import-softhsm");
    try {
      AwsCli cli = AwsCli.beside(gateway);
      scenario(gateway, cli, "RSAES_OAEP_SHA_1", "sha1", "RSA_2048");
      hmacScenario(cli, "RSAES_OAEP_SHA_1", "sha1");
      rsaAesScenario(cli, "RSA_AES_KEY_WRAP_SHA_1", "sha1");
      // SoftHSM2 has no OAEP with SHA-256: refused before any wrapping key is made, naming the mechanism
      String key = createExternal(cli);
      String err = assertFails(cli, "UnsupportedOperationException", "get-parameters-for-import", "--key-id", key,
          "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048");
      assertTrue(err.contains("CKM_RSA_PKCS_OAEP"), err);
    } finally {
      gateway.stop();
    }
    auditHasNoTokenOrMaterial(gateway);
  }

  @Test
  void onNss_opensslWrapsTheCliImports_withOaepSha256() throws Exception {
    GatewayProcess gateway = GatewayProcess.start("import-nss", dir -> Map.of(),
        dir -> List.of("--config", "hsm-config/nss.yaml"));
    try {
      AwsCli cli = AwsCli.beside(gateway);
      scenario(gateway, cli, "RSAES_OAEP_SHA_256", "sha256", "RSA_3072");
      hmacScenario(cli, "RSAES_OAEP_SHA_256", "sha256");
      rsaAesScenario(cli, "RSA_AES_KEY_WRAP_SHA_256", "sha256");
    } finally {
      gateway.stop();
    }
    auditHasNoTokenOrMaterial(gateway);
  }

  private static final List<String> SECRETS = new java.util.concurrent.CopyOnWriteArrayList<>();

  private static String createExternal(AwsCli cli) throws Exception {
    JsonObject m = cli.ok("create-key", "--origin", "EXTERNAL", "--description", "imported")
        .getJsonObject("KeyMetadata");
    assertEquals("PendingImport", m.getString("KeyState"));
    assertEquals("EXTERNAL", m.getString("Origin"));
    assertFalse(m.getBoolean("Enabled"));
    assertFalse(m.containsKey("ExpirationModel"), m.encode());
    return m.getString("KeyId");
  }

  /** GetParametersForImport by the CLI, then openssl wraps {@code material.bin}: the files the import needs. */
  private static void wrapWithOpenssl(AwsCli cli, String keyId, String algorithm, String md, String wrappingSpec,
      String material) throws Exception {
    Path work = cli.work();
    JsonObject p = cli.ok("get-parameters-for-import", "--key-id", keyId, "--wrapping-algorithm", algorithm,
        "--wrapping-key-spec", wrappingSpec);
    assertTrue(p.getString("KeyId").endsWith(keyId), p.encode());
    // the CLI prints timestamps as ISO-8601 with an offset
    Instant validTo = java.time.OffsetDateTime.parse(p.getString("ParametersValidTo")).toInstant();
    long hours = ChronoUnit.MINUTES.between(Instant.now(), validTo);
    assertTrue(hours > 23 * 60 && hours <= 24 * 60, "24 hours, as AWS: " + validTo);
    SECRETS.add(p.getString("ImportToken"));
    Files.write(work.resolve("token.bin"), Base64.getDecoder().decode(p.getString("ImportToken")));
    Files.write(work.resolve("wrapping.der"), Base64.getDecoder().decode(p.getString("PublicKey")));
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", "wrapping.der", "-out", "wrapping.pem");
    openssl.ok("pkeyutl", "-encrypt", "-pubin", "-inkey", "wrapping.pem", "-in", material, "-out", "wrapped.bin",
        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:" + md, "-pkeyopt", "rsa_mgf1_md:" + md);
    SECRETS.add(Base64.getEncoder().encodeToString(Files.readAllBytes(work.resolve("wrapped.bin"))));
  }

  private static void scenario(GatewayProcess gateway, AwsCli cli, String algorithm, String md, String wrappingSpec)
      throws Exception {
    Path work = cli.work();
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    String keyId = createExternal(cli);
    openssl.ok("rand", "-out", "material.bin", "32");
    byte[] material = Files.readAllBytes(work.resolve("material.bin"));
    wrapWithOpenssl(cli, keyId, algorithm, md, wrappingSpec, "material.bin");

    // bad input first: each refused with AWS's error, nothing changed
    assertFails(cli, "ValidationException", "get-parameters-for-import", "--key-id", keyId,
        "--wrapping-algorithm", "RSAES_PKCS1_V1_5", "--wrapping-key-spec", "RSA_2048");
    byte[] token = Files.readAllBytes(work.resolve("token.bin"));
    byte[] tampered = token.clone();
    tampered[tampered.length / 2] ^= 1;
    Files.write(work.resolve("tampered-token.bin"), tampered);
    assertFails(cli, "InvalidImportTokenException", "import-key-material", "--key-id", keyId,
        "--encrypted-key-material", "fileb://wrapped.bin", "--import-token", "fileb://tampered-token.bin",
        "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE");
    assertFails(cli, "ValidationException", "import-key-material", "--key-id", keyId,
        "--encrypted-key-material", "fileb://wrapped.bin", "--import-token", "fileb://token.bin",
        "--expiration-model", "KEY_MATERIAL_EXPIRES", "--valid-to", "2001-01-01T00:00:00Z");
    assertEquals("PendingImport", describe(cli, keyId).getString("KeyState"));

    JsonObject imported = cli.ok("import-key-material", "--key-id", keyId, "--encrypted-key-material",
        "fileb://wrapped.bin", "--import-token", "fileb://token.bin", "--expiration-model",
        "KEY_MATERIAL_DOES_NOT_EXPIRE");
    // the Debian CLI's model predates KeyMaterialId: it prints what it knows, an empty object
    assertTrue(imported.isEmpty() || imported.getString("KeyId").endsWith(keyId), imported.encode());
    JsonObject described = describe(cli, keyId);
    assertEquals("Enabled", described.getString("KeyState"));
    assertEquals("KEY_MATERIAL_DOES_NOT_EXPIRE", described.getString("ExpirationModel"));
    assertFalse(described.containsKey("ValidTo"));

    // the outside judge: the JDK decrypts the gateway's ciphertext with the material openssl made
    byte[] plaintext = ("imported with " + algorithm).getBytes(StandardCharsets.UTF_8);
    Files.write(work.resolve("plain.bin"), plaintext);
    byte[] blob = Base64.getDecoder().decode(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://plain.bin").getString("CiphertextBlob"));
    assertArrayEquals(plaintext, decryptOffline(blob, material));

    try (KmsClient kms = gateway.client()) {
      sdkDeletesAndReimports(kms, cli, keyId, algorithm, md, wrappingSpec, blob, plaintext);
    }
  }

  /** An imported HMAC_384 key's MAC (the CLI's GenerateMac) is openssl's HMAC with the material openssl made. */
  private static void hmacScenario(AwsCli cli, String algorithm, String md) throws Exception {
    Path work = cli.work();
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    String keyId = cli.ok("create-key", "--origin", "EXTERNAL", "--key-spec", "HMAC_384", "--key-usage",
        "GENERATE_VERIFY_MAC").getJsonObject("KeyMetadata").getString("KeyId");
    openssl.ok("rand", "-out", "hmac.bin", "48");
    wrapWithOpenssl(cli, keyId, algorithm, md, "RSA_2048", "hmac.bin");
    cli.ok("import-key-material", "--key-id", keyId, "--encrypted-key-material", "fileb://wrapped.bin",
        "--import-token", "fileb://token.bin", "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE");
    Files.write(work.resolve("message.bin"), "a message".getBytes(StandardCharsets.UTF_8));
    byte[] mac = Base64.getDecoder().decode(cli.ok("generate-mac", "--key-id", keyId, "--mac-algorithm",
        "HMAC_SHA_384", "--message", "fileb://message.bin").getString("Mac"));
    String hexKey = java.util.HexFormat.of().formatHex(Files.readAllBytes(work.resolve("hmac.bin")));
    openssl.ok("dgst", "-sha384", "-mac", "HMAC", "-macopt", "hexkey:" + hexKey, "-binary", "-out", "mac.bin",
        "message.bin");
    assertArrayEquals(Files.readAllBytes(work.resolve("mac.bin")), mac);
  }

  /**
   * RSA_AES_KEY_WRAP as AWS's instructions make it with openssl: an ephemeral AES-256 key under RSA-OAEP, then the
   * material under {@code id-aes256-wrap-pad} (RFC 5649), concatenated.
   */
  private static void rsaAesScenario(AwsCli cli, String algorithm, String md) throws Exception {
    Path work = cli.work();
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    String keyId = createExternal(cli);
    openssl.ok("rand", "-out", "material.bin", "32");
    openssl.ok("rand", "-out", "ephemeral.bin", "32");
    wrapWithOpenssl(cli, keyId, algorithm, md, "RSA_4096", "ephemeral.bin");
    String hexKey = java.util.HexFormat.of().formatHex(Files.readAllBytes(work.resolve("ephemeral.bin")));
    openssl.ok("enc", "-id-aes256-wrap-pad", "-K", hexKey, "-iv", "A65959A6", "-in", "material.bin", "-out",
        "kwp.bin");
    byte[] rsaPart = Files.readAllBytes(work.resolve("wrapped.bin"));
    byte[] kwpPart = Files.readAllBytes(work.resolve("kwp.bin"));
    Files.write(work.resolve("rsa-aes.bin"), ByteBuffer.allocate(rsaPart.length + kwpPart.length).put(rsaPart)
        .put(kwpPart).array());
    cli.ok("import-key-material", "--key-id", keyId, "--encrypted-key-material", "fileb://rsa-aes.bin",
        "--import-token", "fileb://token.bin", "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE");
    Files.write(work.resolve("plain.bin"), new byte[] {5, 6, 7});
    byte[] blob = Base64.getDecoder().decode(cli.ok("encrypt", "--key-id", keyId, "--plaintext",
        "fileb://plain.bin").getString("CiphertextBlob"));
    assertArrayEquals(new byte[] {5, 6, 7}, decryptOffline(blob, Files.readAllBytes(work.resolve("material.bin"))));
  }

  private static void sdkDeletesAndReimports(KmsClient kms, AwsCli cli, String keyId, String algorithm, String md,
      String wrappingSpec, byte[] blob, byte[] plaintext) throws Exception {
    Path work = cli.work();
    cli.ok("delete-imported-key-material", "--key-id", keyId);
    assertEquals(KeyState.PENDING_IMPORT, kms.describeKey(b -> b.keyId(keyId)).keyMetadata().keyState());
    assertFails(cli, "KMSInvalidStateException", "decrypt", "--ciphertext-blob", "fileb://" + write(work, blob));

    // other material: IncorrectKeyMaterialException, the key stays PendingImport
    new io.kmsgw.testing.OpenSsl(work).ok("rand", "-out", "other.bin", "32");
    wrapWithOpenssl(cli, keyId, algorithm, md, wrappingSpec, "other.bin");
    byte[] otherToken = Files.readAllBytes(work.resolve("token.bin"));
    byte[] otherWrapped = Files.readAllBytes(work.resolve("wrapped.bin"));
    assertThrows(IncorrectKeyMaterialException.class, () -> kms.importKeyMaterial(b -> b.keyId(keyId)
        .importToken(SdkBytes.fromByteArray(otherToken)).encryptedKeyMaterial(SdkBytes.fromByteArray(otherWrapped))
        .expirationModel(ExpirationModelType.KEY_MATERIAL_DOES_NOT_EXPIRE)));
    assertEquals(KeyState.PENDING_IMPORT, kms.describeKey(b -> b.keyId(keyId)).keyMetadata().keyState());

    // the same material again, through the SDK this time, expiring: the old ciphertext decrypts again
    var params = kms.getParametersForImport(b -> b.keyId(keyId).wrappingAlgorithm(AlgorithmSpec.fromValue(algorithm))
        .wrappingKeySpec(WrappingKeySpec.fromValue(wrappingSpec)));
    Files.write(work.resolve("wrapping.der"), params.publicKey().asByteArray());
    io.kmsgw.testing.OpenSsl openssl = new io.kmsgw.testing.OpenSsl(work);
    openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", "wrapping.der", "-out", "wrapping.pem");
    openssl.ok("pkeyutl", "-encrypt", "-pubin", "-inkey", "wrapping.pem", "-in", "material.bin", "-out",
        "again.bin", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:" + md, "-pkeyopt",
        "rsa_mgf1_md:" + md);
    Instant validTo = Instant.now().plus(30, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
    byte[] again = Files.readAllBytes(work.resolve("again.bin"));
    var done = kms.importKeyMaterial(b -> b.keyId(keyId).importToken(params.importToken())
        .encryptedKeyMaterial(SdkBytes.fromByteArray(again))
        .expirationModel(ExpirationModelType.KEY_MATERIAL_EXPIRES).validTo(validTo));
    assertNotEquals(null, done.keyMaterialId());
    var meta = kms.describeKey(b -> b.keyId(keyId)).keyMetadata();
    assertEquals(KeyState.ENABLED, meta.keyState());
    assertEquals(ExpirationModelType.KEY_MATERIAL_EXPIRES, meta.expirationModel());
    assertEquals(validTo, meta.validTo());
    assertArrayEquals(plaintext, kms.decrypt(b -> b.ciphertextBlob(SdkBytes.fromByteArray(blob))).plaintext()
        .asByteArray());
  }

  private static String write(Path work, byte[] blob) throws Exception {
    Files.write(work.resolve("blob.bin"), blob);
    return "blob.bin";
  }

  private static JsonObject describe(AwsCli cli, String keyId) throws Exception {
    return cli.ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata");
  }

  /** A version-1 blob without encryption context, opened with the JDK and the known key. */
  private static byte[] decryptOffline(byte[] blob, byte[] material) throws Exception {
    assertEquals(1, blob[0]);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(material, "AES"),
        new GCMParameterSpec(128, Arrays.copyOfRange(blob, 21, 33)));
    c.updateAAD(ByteBuffer.allocate(35).put(blob, 0, 33).putShort((short) 0).array());
    return c.doFinal(blob, 33, blob.length - 33);
  }

  private static String assertFails(AwsCli cli, String name, String... args) throws Exception {
    AwsCli.Result r = cli.run(args);
    assertNotEquals(0, r.exit(), String.join(" ", args));
    assertTrue(r.err().contains(name), String.join(" ", args) + ": " + r.err());
    return r.err().strip();
  }

  /** CloudTrail's shape: the wrapping algorithm recorded, never an import token or wrapped material. */
  private static void auditHasNoTokenOrMaterial(GatewayProcess gateway) throws Exception {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.walk(gateway.dataDir().resolve("audit"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        all.append(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
      }
    }
    String text = all.toString();
    assertTrue(text.contains("\"eventName\":\"ImportKeyMaterial\""), "the import is audited");
    assertTrue(text.contains("\"wrappingAlgorithm\":"), "the wrapping algorithm is audited");
    for (String secret : SECRETS) {
      assertFalse(text.contains(secret), "an import token or wrapped material in the audit trail");
    }
  }
}
