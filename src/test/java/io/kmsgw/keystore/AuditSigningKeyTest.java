package io.kmsgw.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditVerifier;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TestToken;
import io.kmsgw.testing.TokenKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** The audit signing key in a real token of each kind (SoftHSM2, NSS). */
@OnEveryToken
class AuditSigningKeyTest {
  private static KmsFixture kms;

  /** Injected so that the class declares its parameter, which the set-up method then receives. */
  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "audit-signing");
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  @Test
  void signingKey_isCreatedOnce_heldInCustody_andVerifiesWithTheJdkAlone() throws Exception {
    AuditSigningKey signer = new AuditSigningKey(kms.keyStore);
    String fingerprint = signer.initialise();
    assertEquals(fingerprint, new AuditSigningKey(kms.keyStore).initialise(), "the same key at the next start");

    KeyCustody custody = KmsFixture.await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
        s -> s.custody(AuditSigningKey.KEY)));
    assertTrue(custody.heldInCustody(), custody.toString());

    byte[] spki = signer.publicKey();
    ECPublicKey pub = (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki));
    assertEquals(256, pub.getParams().getCurve().getField().getFieldSize());
    byte[] message = "digest body".getBytes(StandardCharsets.UTF_8);
    Signature v = Signature.getInstance("SHA256withECDSA");
    v.initVerify(pub);
    v.update(message);
    assertTrue(v.verify(signer.sign(message)));
    assertEquals(fingerprint, AuditSigningKey.fingerprint(spki));
  }

  @Test
  void afterInitialise_theFirstSignature_findsNoObject() {
    AuditSigningKey signer = new AuditSigningKey(kms.keyStore);
    signer.initialise();
    long before = kms.keyStore.status().stats().findObjects();
    signer.sign("first digest".getBytes(StandardCharsets.UTF_8));
    assertEquals(before, kms.keyStore.status().stats().findObjects(),
        "the handle found at initialise is kept: the first digest under load makes no C_FindObjects");
  }

  @Test
  void auditLog_signedInTheHsm_verifiesOfflinePinnedToTheLoggedFingerprint() throws Exception {
    AuditSigningKey signer = new AuditSigningKey(kms.keyStore);
    String fingerprint = signer.initialise();
    Path dir = TestToken.scratch("audit-hsm");
    AuditLog.Settings settings = new AuditLog.Settings(dir, 64L << 20, 0, 5, Duration.ofMinutes(1),
        "111122223333", "us-east-1");
    try (AuditLog log = AuditLog.open(settings, Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 12; i++) {
        log.append(AuditEvent.apiCall("GenerateRandom").time(java.time.Instant.now()).caller(KmsFixture.ROOT)
            .build()).join();
      }
    }
    AuditVerifier.Report r = AuditVerifier.verify(dir, Set.of(fingerprint));
    assertEquals(0, r.exitCode(), r.problems() + " " + r.notCovered());
    assertTrue(r.digests() >= 3);
  }
}
