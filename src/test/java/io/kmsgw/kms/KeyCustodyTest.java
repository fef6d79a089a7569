package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.keystore.AuditSigningKey;
import io.kmsgw.testing.CustodyCheck;
import io.kmsgw.testing.CustodyCheck.ObjectAttributes;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * The custody invariant (GUIDE section 3) on each kind of token, as a program outside the gateway reads it
 * ({@link CustodyCheck}: C, its own process, no JNI wrapper): every key the gateway creates is a private token object
 * that is sensitive and always was, not extractable and never was, and whose value the token refuses to read. Each
 * attribute is its own assertion, so a token that gets one wrong is named for that one.
 */
@OnEveryToken
class KeyCustodyTest {
  private static final long CKO_PUBLIC_KEY = 2;
  private static final long CKO_PRIVATE_KEY = 3;
  private static final long CKO_SECRET_KEY = 4;
  private static KmsFixture kms;

  /** Injected so that the class declares its parameter, which the set-up method then receives. */
  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "custody");
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  @Test
  void createdKey_isASensitiveNeverExtractablePrivateTokenObject_asAnOutsideProgramReadsIt() throws Exception {
    KeyRecord key = kms.newKey();
    String label = key.current().hsmLabel();
    List<ObjectAttributes> objects = CustodyCheck.objects(kms.token, label);
    assertEquals(1, objects.size(), "one object labelled " + label + ": " + objects);
    ObjectAttributes o = objects.get(0);
    assertEquals(CKO_SECRET_KEY, o.objectClass());
    assertHeldInCustody(o);
  }

  @Test
  void rotatedKeyVersion_isHeldInCustodyToo() throws Exception {
    KeyRecord key = kms.newKey();
    await(kms.lifecycle.rotateOnDemand(ROOT, key.keyId()));
    KeyRecord rotated = await(kms.keys.lookup(key.keyId()));
    assertEquals(2, rotated.current().version(), "rotation made version 2");
    List<ObjectAttributes> objects = CustodyCheck.objects(kms.token, rotated.current().hsmLabel());
    assertEquals(1, objects.size(), objects.toString());
    assertHeldInCustody(objects.get(0));
  }

  @Test
  void adapterReadsTheSameCustodyAsTheOutsideProgram() throws Exception {
    KeyRecord key = kms.newKey();
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    KeyCustody seen = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.custody(object)));
    ObjectAttributes outside = CustodyCheck.objects(kms.token, object.label()).get(0);
    assertEquals(new KeyCustody(flag(outside, "CKA_TOKEN"), flag(outside, "CKA_PRIVATE"),
        flag(outside, "CKA_SENSITIVE"), flag(outside, "CKA_ALWAYS_SENSITIVE"), flag(outside, "CKA_EXTRACTABLE"),
        flag(outside, "CKA_NEVER_EXTRACTABLE")), seen);
  }

  @Test
  void auditSigningPrivateKey_isHeldInCustody_andItsPublicHalfIsAPublicObject() throws Exception {
    new AuditSigningKey(kms.keyStore).initialise();
    List<ObjectAttributes> objects = CustodyCheck.objects(kms.token, AuditSigningKey.KEY.label());
    List<ObjectAttributes> privateKeys = objects.stream().filter(o -> o.objectClass() == CKO_PRIVATE_KEY).toList();
    assertEquals(1, privateKeys.size(), objects.toString());
    assertHeldInCustody(privateKeys.get(0));
    assertTrue(objects.stream().anyMatch(o -> o.objectClass() == CKO_PUBLIC_KEY), "the verifier's half: " + objects);
  }

  static void assertHeldInCustody(ObjectAttributes o) {
    assertAll(o.toString(),
        () -> assertEquals("1", o.get("CKA_TOKEN"), "CKA_TOKEN"),
        () -> assertEquals("1", o.get("CKA_PRIVATE"), "CKA_PRIVATE"),
        () -> assertEquals("1", o.get("CKA_SENSITIVE"), "CKA_SENSITIVE"),
        () -> assertEquals("0", o.get("CKA_EXTRACTABLE"), "CKA_EXTRACTABLE"),
        () -> assertEquals("1", o.get("CKA_ALWAYS_SENSITIVE"), "CKA_ALWAYS_SENSITIVE"),
        () -> assertEquals("1", o.get("CKA_NEVER_EXTRACTABLE"), "CKA_NEVER_EXTRACTABLE"),
        () -> assertTrue(o.get("CKA_VALUE").startsWith("refused"), "CKA_VALUE is not readable: " + o.get("CKA_VALUE")));
  }

  private static boolean flag(ObjectAttributes o, String attribute) {
    return "1".equals(o.get(attribute));
  }
}
