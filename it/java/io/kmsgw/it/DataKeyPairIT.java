package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.OpenSsl;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeyPairSpec;
import software.amazon.awssdk.services.kms.model.DryRunOperationException;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyPairResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyPairWithoutPlaintextResponse;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.InvalidKeyUsageException;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.UnsupportedOperationException;

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext on the real gateway: the unmodified AWS CLI v2
 * ({@code /usr/bin/aws}) generates pairs and decrypts their sealed private keys, openssl reads and matches the
 * halves, the AWS SDK for Java v2 does the same and meets AWS's errors, and CloudTrail's lookup-events shows the
 * calls with their KeyPairSpec and encryption context and without any key.
 */
class DataKeyPairIT {
  private static final Map<String, String> CONTEXT = Map.of("app", "pairs", "tenant", "t-7");
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static KmsClient kms;
  private static String keyId;
  private static String keyArn;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("data-key-pairs");
    cli = AwsCli.beside(gateway);
    kms = gateway.client();
    JsonObject created = cli.ok("create-key", "--description", "data key pairs").getJsonObject("KeyMetadata");
    keyId = created.getString("KeyId");
    keyArn = created.getString("Arn");
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

  private static byte[] b64(JsonObject o, String member) {
    return Base64.getDecoder().decode(o.getString(member));
  }

  /** openssl reads both halves, and the public key it derives from the private one is the returned one. */
  private static void opensslMatches(String name, byte[] pkcs8, byte[] spki) throws Exception {
    OpenSsl openssl = new OpenSsl(cli.work());
    openssl.write(name + ".key.der", pkcs8);
    openssl.write(name + ".pub.der", spki);
    assertArrayEquals(spki, openssl.ok("pkey", "-inform", "DER", "-in", name + ".key.der", "-pubout", "-outform",
        "DER").out(), name);
    assertArrayEquals(spki, openssl.ok("pkey", "-pubin", "-inform", "DER", "-in", name + ".pub.der", "-outform",
        "DER").out(), name);
    assertTrue(openssl.ok("pkey", "-inform", "DER", "-in", name + ".key.der", "-check", "-noout").text()
        .contains("Key is valid"), name);
  }

  @Test
  void cli_generateDataKeyPair_andDecryptOfItsSealedPrivateKey() throws Exception {
    for (String spec : List.of("ECC_NIST_P256", "RSA_2048", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519")) {
      JsonObject pair = cli.ok("generate-data-key-pair", "--key-id", keyId, "--key-pair-spec", spec,
          "--encryption-context", "app=pairs,tenant=t-7");
      assertEquals(keyArn, pair.getString("KeyId"));
      assertEquals(spec, pair.getString("KeyPairSpec"));
      byte[] privateKey = b64(pair, "PrivateKeyPlaintext");
      opensslMatches("cli-" + spec, privateKey, b64(pair, "PublicKey"));

      Files.write(cli.work().resolve("cli-" + spec + ".sealed"), b64(pair, "PrivateKeyCiphertextBlob"));
      JsonObject opened = cli.ok("decrypt", "--ciphertext-blob", "fileb://cli-" + spec + ".sealed",
          "--encryption-context", "tenant=t-7,app=pairs");
      assertArrayEquals(privateKey, b64(opened, "Plaintext"), spec);
      assertEquals(keyArn, opened.getString("KeyId"));
      AwsCli.Result wrong = cli.run("decrypt", "--ciphertext-blob", "fileb://cli-" + spec + ".sealed",
          "--encryption-context", "app=pairs");
      assertTrue(wrong.exit() != 0 && wrong.err().contains("InvalidCiphertextException"), wrong.err());
    }
  }

  @Test
  void cli_withoutPlaintext_returnsNoPrivateKey_andDecryptGivesTheMatchingOne() throws Exception {
    JsonObject pair = cli.ok("generate-data-key-pair-without-plaintext", "--key-id", keyId, "--key-pair-spec",
        "ECC_NIST_P384", "--encryption-context", "app=pairs,tenant=t-7");
    assertFalse(pair.containsKey("PrivateKeyPlaintext"), pair.fieldNames().toString());
    assertEquals("ECC_NIST_P384", pair.getString("KeyPairSpec"));
    Files.write(cli.work().resolve("np.sealed"), b64(pair, "PrivateKeyCiphertextBlob"));
    byte[] privateKey = b64(cli.ok("decrypt", "--ciphertext-blob", "fileb://np.sealed", "--encryption-context",
        "app=pairs,tenant=t-7"), "Plaintext");
    opensslMatches("cli-without-plaintext", privateKey, b64(pair, "PublicKey"));
  }

  @Test
  void sdk_everyRsaSize_signsWithThePrivateKey_andVerifiesWithThePublicOne() throws Exception {
    for (DataKeyPairSpec spec : List.of(DataKeyPairSpec.RSA_2048, DataKeyPairSpec.RSA_3072,
        DataKeyPairSpec.RSA_4096, DataKeyPairSpec.ECC_NIST_P521)) {
      GenerateDataKeyPairResponse pair = kms.generateDataKeyPair(r -> r.keyId(keyArn).keyPairSpec(spec)
          .encryptionContext(CONTEXT));
      assertEquals(spec, pair.keyPairSpec());
      assertEquals(keyArn, pair.keyId());
      String algorithm = spec == DataKeyPairSpec.ECC_NIST_P521 ? "EC" : "RSA";
      KeyFactory factory = KeyFactory.getInstance(algorithm);
      PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(pair.privateKeyPlaintext()
          .asByteArray()));
      PublicKey publicKey = factory.generatePublic(new X509EncodedKeySpec(pair.publicKey().asByteArray()));
      String signing = algorithm.equals("EC") ? "SHA512withECDSA" : "RSASSA-PSS";
      Signature signer = Signature.getInstance(signing);
      if (algorithm.equals("RSA")) {
        signer.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
            java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
      }
      signer.initSign(privateKey);
      signer.update(new byte[] {1, 2, 3});
      byte[] signature = signer.sign();
      signer.initVerify(publicKey);
      signer.update(new byte[] {1, 2, 3});
      assertTrue(signer.verify(signature), spec.toString());
      assertArrayEquals(pair.privateKeyPlaintext().asByteArray(), kms.decrypt(r -> r
          .ciphertextBlob(pair.privateKeyCiphertextBlob()).encryptionContext(CONTEXT)).plaintext().asByteArray());
    }
    GenerateDataKeyPairWithoutPlaintextResponse np = kms.generateDataKeyPairWithoutPlaintext(r -> r.keyId(keyId)
        .keyPairSpec(DataKeyPairSpec.ECC_NIST_P256));
    // the Debian CLI's model (2023) has no KeyMaterialId; the SDK's has
    assertEquals(kms.describeKey(r -> r.keyId(keyId)).keyMetadata().currentKeyMaterialId(), np.keyMaterialId());
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(r -> r
        .ciphertextBlob(np.privateKeyCiphertextBlob()).encryptionContext(CONTEXT)));
    byte[] opened = kms.decrypt(r -> r.ciphertextBlob(np.privateKeyCiphertextBlob())).plaintext().asByteArray();
    opensslMatches("sdk-without-plaintext", opened, np.publicKey().asByteArray());
  }

  @Test
  void sdk_getsAwsErrors_forAnAsymmetricCmk_sm2_anUnknownSpec_dryRun_andARecipient() {
    String signingKey = kms.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P256).keyUsage(KeyUsageType.SIGN_VERIFY))
        .keyMetadata().keyId();
    assertThrows(InvalidKeyUsageException.class, () -> kms.generateDataKeyPair(r -> r.keyId(signingKey)
        .keyPairSpec(DataKeyPairSpec.ECC_NIST_P256)));
    UnsupportedOperationException sm2 = assertThrows(UnsupportedOperationException.class,
        () -> kms.generateDataKeyPairWithoutPlaintext(r -> r.keyId(keyId).keyPairSpec(DataKeyPairSpec.SM2)));
    assertTrue(sm2.getMessage().contains("SM2"), sm2.getMessage());
    KmsException unknown = assertThrows(KmsException.class, () -> kms.generateDataKeyPair(r -> r.keyId(keyId)
        .keyPairSpec("RSA_1024")));
    assertEquals("ValidationException", unknown.awsErrorDetails().errorCode());
    assertThrows(DryRunOperationException.class, () -> kms.generateDataKeyPair(r -> r.keyId(keyId)
        .keyPairSpec(DataKeyPairSpec.RSA_4096).dryRun(true)));
    assertThrows(UnsupportedOperationException.class, () -> kms.generateDataKeyPair(r -> r.keyId(keyId)
        .keyPairSpec(DataKeyPairSpec.ECC_NIST_P256).recipient(x -> x.keyEncryptionAlgorithm("RSAES_OAEP_SHA_256")
            .attestationDocument(SdkBytes.fromByteArray(new byte[] {1})))));
  }

  @Test
  void cloudTrail_recordsKeyPairSpecAndContext_andNoKey() throws Exception {
    JsonObject pair = cli.ok("generate-data-key-pair", "--key-id", keyId, "--key-pair-spec", "ECC_NIST_P256",
        "--encryption-context", "app=audited-pair");
    JsonArray events = cli.okAny("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=GenerateDataKeyPair").getJsonArray("Events");
    JsonObject found = null;
    for (Object o : events) {
      JsonObject event = new JsonObject(((JsonObject) o).getString("CloudTrailEvent"));
      JsonObject request = event.getJsonObject("requestParameters");
      if (new JsonObject().put("app", "audited-pair").equals(request.getJsonObject("encryptionContext"))) {
        found = event;
      }
    }
    assertNotNull(found, events.encodePrettily());
    assertEquals("ECC_NIST_P256", found.getJsonObject("requestParameters").getString("keyPairSpec"));
    assertEquals(keyId, found.getJsonObject("requestParameters").getString("keyId"));
    assertTrue(found.getBoolean("readOnly"));
    assertNull(found.getValue("responseElements"));
    String text = found.encode();
    for (String secret : List.of("PrivateKeyPlaintext", "PrivateKeyCiphertextBlob", "PublicKey")) {
      assertFalse(text.contains(pair.getString(secret)), secret);
    }
  }
}
