package io.kmsgw.api.xks;

import static io.kmsgw.testing.XksClient.metadata;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.XksClient;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #15, item 3: the KMS API and the XKS API use the same HSM objects for a gateway key that an XKS endpoint
 * serves, so a ciphertext of one front door must never be accepted by the other. Real SoftHSM2 token, real HTTP,
 * requests signed with the AWS SDK's signer.
 */
class XksDomainSeparationTest {
  static final String AKID = "ABCDEFGHIJKLMNOPQRST2345";
  static final String SECRET = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";
  static final Base64.Encoder B64 = Base64.getEncoder();

  static KmsFixture fx;
  static Vertx vertx;
  static XksClient xks;
  static KeyRecord key;

  @BeforeAll
  static void start() throws Exception {
    fx = new KmsFixture("xks-domains");
    key = fx.newKey();
    // the endpoint is given the key on purpose: even a key it legitimately serves must not open KMS ciphertexts
    XksSettings.Endpoint endpoint = new XksSettings.Endpoint("main", "ks", "default", "us-east-1",
        "kms-xks-proxy", Set.of(key.keyId().toString()), List.of(), false, null,
        List.of(new XksSettings.Credential(AKID, SECRET)), false);
    XksApi api = new XksApi(List.of(XksEndpoint.of(endpoint, List.of(), Clock.systemUTC())),
        new ExternalKeyService(fx.keys, fx.aliases, fx.stores, false),
        id -> new XksApi.EkmInfo("SoftHSM2", "SoftHSM2 test token"), 1, Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null), null,
        null, () -> new GatewayHttpServer.Health(true, Map.of())).mount(api);
    vertx.deployVerticle(server).await(30, TimeUnit.SECONDS);
    xks = new XksClient(URI.create("http://127.0.0.1:" + server.actualPort() + "/ks"), AKID, SECRET);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    fx.close();
  }

  /**
   * The attack of the security review. KMS seals with AAD = header(33) || context encoding; XKS format 1 framed its
   * AAD as uint16 len(aad) || aad || uint8 5 || 0x01 || uint32 version. A caller who may Encrypt through KMS shapes
   * the encryption context so that the KMS AAD is, byte for byte, an XKS format-1 AAD: the header's first two bytes
   * read as the length (256 + the key id's first byte), and the context's encoding ends in 05 01 00000001. Then
   * anyone holding the XKS endpoint's credential decrypts it without the key policy, a grant or a KMS audit record.
   */
  @Test
  void kmsCiphertext_withShapedEncryptionContext_doesNotDecryptThroughXks() throws Exception {
    byte[] secret = "a secret only KMS callers allowed by the key policy may read".getBytes(StandardCharsets.UTF_8);
    int aadLength = 256 + (CiphertextBlob.header(key.keyId(), 1, new byte[12])[1] & 0xff);
    // the context encoding is 2 (count) + 2 + 1 ("k") + 2 + value; it must be aadLength - 25 bytes long in all
    int valueLength = aadLength - 25 - 7;
    String value = "x".repeat(valueLength - 6) + "\u0005\u0001\u0000\u0000\u0000\u0001";
    Map<String, String> context = Map.of("k", value);
    byte[] blob = KmsFixture.await(fx.crypto.encrypt(KmsFixture.ROOT, key.keyId(), secret, context,
        "SYMMETRIC_DEFAULT", false)).ciphertextBlob();

    CiphertextBlob parsed = CiphertextBlob.parse(blob);
    byte[] kmsAad = CiphertextBlob.aad(parsed.header(), EncryptionContextCodec.encode(context));
    // the XKS request: the AAD is the KMS AAD without the framing XKS adds around it
    byte[] xksAad = Arrays.copyOfRange(kmsAad, 2, kmsAad.length - 6);
    assertEquals(aadLength, xksAad.length, "the shaped context makes the lengths line up");
    byte[] ct = parsed.ciphertextAndTag();
    byte[] ciphertext = Arrays.copyOf(ct, ct.length - 16);
    byte[] tag = Arrays.copyOfRange(ct, ct.length - 16, ct.length);
    byte[] formatOneMetadata = ByteBuffer.allocate(5).put((byte) 1).putInt(1).array();

    XksClient.Response r = xks.post("/keys/" + key.keyId() + "/decrypt", decryptBody(ciphertext, formatOneMetadata,
        xksAad, parsed.iv(), tag));

    assertEquals(400, r.status(), r.raw());
    assertEquals("InvalidCiphertextException", r.errorName(), r.raw());
    // and KMS itself still opens its own ciphertext
    assertArrayEquals(secret, KmsFixture.await(fx.crypto.decrypt(KmsFixture.ROOT, blob, null, context,
        "SYMMETRIC_DEFAULT", false, false)).plaintext());
  }

  /**
   * The other direction: an XKS ciphertext, whatever AAD the XKS caller chose, presented to KMS Decrypt as a blob of
   * the same key and version with the same IV, and a context whose encoding is what follows the header in the XKS
   * AAD. KMS refuses it.
   */
  @Test
  void xksCiphertext_presentedAsAKmsBlob_doesNotDecryptThroughKms() throws Exception {
    // an AAD that begins as a KMS header for this key would, if the XKS AAD were unframed
    byte[] aad = new byte[40];
    byte[] plaintext = "an XKS data key".getBytes(StandardCharsets.UTF_8);
    XksClient.Response enc = xks.post("/keys/" + key.keyId() + "/encrypt", "{" + metadata("Encrypt")
        + ",\"plaintext\":\"" + B64.encodeToString(plaintext) + "\",\"additionalAuthenticatedData\":\""
        + B64.encodeToString(aad) + "\",\"encryptionAlgorithm\":\"AES_GCM\"}");
    assertEquals(200, enc.status(), enc.raw());
    byte[] iv = Base64.getDecoder().decode(enc.string("initializationVector"));
    byte[] ciphertext = Base64.getDecoder().decode(enc.string("ciphertext"));
    byte[] tag = Base64.getDecoder().decode(enc.string("authenticationTag"));
    ByteArrayOutputStream sealed = new ByteArrayOutputStream();
    sealed.writeBytes(ciphertext);
    sealed.writeBytes(tag);
    byte[] blob = new CiphertextBlob(key.keyId(), 1, iv, sealed.toByteArray()).toBytes();

    KmsException refused = assertThrows(KmsException.class, () -> KmsFixture.await(fx.crypto.decrypt(
        KmsFixture.ROOT, blob, null, Map.of(), "SYMMETRIC_DEFAULT", false, false)));

    assertEquals(ErrorCode.INVALID_CIPHERTEXT, refused.code());
    // and XKS itself still opens its own ciphertext
    XksClient.Response dec = xks.post("/keys/" + key.keyId() + "/decrypt", decryptBody(ciphertext,
        Base64.getDecoder().decode(enc.string("ciphertextMetadata")), aad, iv, tag));
    assertEquals(200, dec.status(), dec.raw());
    assertArrayEquals(plaintext, Base64.getDecoder().decode(dec.string("plaintext")));
  }

  /**
   * AWS KMS keeps the XKS ciphertexts it was given: one made before the XKS domain existed (metadata format 1, the
   * AAD framed without the domain, sealed here directly in the HSM as the old gateway did) still decrypts.
   */
  @Test
  void formatOneXksCiphertext_issuedBeforeTheDomain_stillDecryptsThroughXks() throws Exception {
    byte[] aad = "an AAD from AWS KMS".getBytes(StandardCharsets.UTF_8);
    byte[] plaintext = "a data key sealed last year".getBytes(StandardCharsets.UTF_8);
    byte[] formatOne = {1, 0, 0, 0, 1};
    byte[] iv = new byte[12];
    new java.security.SecureRandom().nextBytes(iv);
    io.kmsgw.domain.KeyVersion v = key.current();
    byte[] sealed = fx.keyStore.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.encryptAesGcm(
        new io.kmsgw.hsm.HsmKey(v.hsmLabel(), v.hsmId()), iv, io.kmsgw.format.XksCiphertext.hsmAad(aad, formatOne),
        plaintext));
    byte[] ciphertext = Arrays.copyOf(sealed, sealed.length - 16);
    byte[] tag = Arrays.copyOfRange(sealed, sealed.length - 16, sealed.length);

    XksClient.Response dec = xks.post("/keys/" + key.keyId() + "/decrypt", decryptBody(ciphertext, formatOne, aad,
        iv, tag));

    assertEquals(200, dec.status(), dec.raw());
    assertArrayEquals(plaintext, Base64.getDecoder().decode(dec.string("plaintext")));
    // under format 2 the same bytes do not open: the formats are not interchangeable
    assertEquals("InvalidCiphertextException", xks.post("/keys/" + key.keyId() + "/decrypt", decryptBody(ciphertext,
        new byte[] {2, 0, 0, 0, 1}, aad, iv, tag)).errorName());
  }

  static String decryptBody(byte[] ciphertext, byte[] md, byte[] aad, byte[] iv, byte[] tag) {
    return "{" + metadata("Decrypt") + ",\"ciphertext\":\"" + B64.encodeToString(ciphertext) + "\""
        + ",\"ciphertextMetadata\":\"" + B64.encodeToString(md) + "\""
        + ",\"additionalAuthenticatedData\":\"" + B64.encodeToString(aad) + "\""
        + ",\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\"" + B64.encodeToString(iv)
        + "\",\"authenticationTag\":\"" + B64.encodeToString(tag) + "\"}";
  }
}
