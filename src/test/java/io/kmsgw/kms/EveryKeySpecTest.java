package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.CustodyCheck;
import io.kmsgw.testing.CustodyCheck.ObjectAttributes;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * CreateKey of every spec and usage of the key spec table on each token: the material is generated in the HSM and
 * held in custody there, as an outside program ({@link CustodyCheck}) reads it, and the public half reads back as a
 * SubjectPublicKeyInfo that the JDK (or Bouncy Castle, for secp256k1, which the JDK dropped) parses as a key of the
 * spec. A spec the token cannot hold is refused with UnsupportedOperationException naming the mechanism, before
 * anything is written.
 */
@OnEveryToken
class EveryKeySpecTest {
  private static final long CKO_PUBLIC_KEY = 2;
  private static final long CKO_PRIVATE_KEY = 3;
  private static final long CKO_SECRET_KEY = 4;
  private static KmsFixture kms;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "every-spec");
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("every spec", spec, usage, Origin.AWS_KMS,
        List.of(), null, false)));
  }

  @Test
  void everyRowTheTokenCanHold_isGeneratedInCustody_andEveryOtherIsRefusedByName() throws Exception {
    List<String> made = new ArrayList<>();
    for (KeySpecTable.Row row : KeySpecTable.rows()) {
      if (KeySpecTable.refusal(row.spec()).isPresent() || row.spec() == KeySpec.SYMMETRIC_DEFAULT) {
        continue;
      }
      List<Capability> missing = kms.keyStore.status().mechanisms()
          .missing(KeyMaterial.required(row.spec(), row.usage()));
      if (!missing.isEmpty()) {
        int before = await(kms.keys.listKeys(ROOT, null, 1000)).keys().size();
        KmsException e = assertThrows(KmsException.class, () -> create(row.spec(), row.usage()), row.toString());
        assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(missing.get(0).requirement()), e.getMessage());
        assertEquals(before, await(kms.keys.listKeys(ROOT, null, 1000)).keys().size(), "nothing written");
        continue;
      }
      if (kind == TokenKind.NSS && row.spec() == KeySpec.ECC_SECG_P256K1) {
        // NSS's softoken implements the NIST curves only: the token refuses the curve (CKR_DOMAIN_PARAMS_INVALID).
        // The client is told which spec; the return code and the HSM object's label are for the log only
        KmsException e = assertThrows(KmsException.class, () -> create(row.spec(), row.usage()), row.toString());
        assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("ECC_SECG_P256K1"), e.getMessage());
        assertFalse(e.getMessage().contains("CKR_") || e.getMessage().contains("kmsgw:"), e.getMessage());
        continue;
      }
      KeyRecord key = create(row.spec(), row.usage());
      String label = key.current().hsmLabel();
      List<ObjectAttributes> objects = CustodyCheck.objects(kms.token, label);
      String where = row.spec() + "/" + row.usage() + " on " + kind + ": " + objects;
      if (!row.spec().asymmetric()) {
        assertEquals(1, objects.size(), where);
        assertEquals(CKO_SECRET_KEY, objects.get(0).objectClass(), where);
        KeyCustodyTest.assertHeldInCustody(objects.get(0));
        assertEquals(String.valueOf(row.spec().bits() / 8), objects.get(0).get("CKA_VALUE_LEN"), where);
      } else {
        assertEquals(2, objects.size(), where);
        ObjectAttributes priv = objects.stream().filter(o -> o.objectClass() == CKO_PRIVATE_KEY).findFirst()
            .orElseThrow(() -> new AssertionError(where));
        KeyCustodyTest.assertHeldInCustody(priv);
        assertTrue(priv.get("CKA_PRIVATE_EXPONENT").startsWith("refused"), where);
        assertTrue(priv.get("CKA_PRIME_1").startsWith("refused"), where);
        assertEquals(row.usage() == KeyUsage.SIGN_VERIFY ? "1" : "0", priv.get("CKA_SIGN"), where);
        assertEquals(row.usage() == KeyUsage.ENCRYPT_DECRYPT ? "1" : "0", priv.get("CKA_DECRYPT"), where);
        assertEquals(row.usage() == KeyUsage.KEY_AGREEMENT ? "1" : "0", priv.get("CKA_DERIVE"), where);
        assertTrue(objects.stream().anyMatch(o -> o.objectClass() == CKO_PUBLIC_KEY), where);
        HsmKey object = new HsmKey(label, key.current().hsmId());
        byte[] spki = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
            s -> s.publicKeyInfo(object, row.spec())));
        assertOfSpec(row.spec(), spki);
      }
      made.add(row.spec() + "/" + row.usage());
    }
    assertTrue(made.size() >= 10, "most rows are creatable on " + kind + ": " + made);
  }

  /** The DER parses, outside kmsgw, as a public key of the spec's algorithm and size. */
  private static void assertOfSpec(KeySpec spec, byte[] spki) throws Exception {
    X509EncodedKeySpec encoded = new X509EncodedKeySpec(spki);
    switch (spec.family()) {
      case RSA -> {
        PublicKey k = KeyFactory.getInstance("RSA").generatePublic(encoded);
        assertEquals(spec.bits(), ((RSAPublicKey) k).getModulus().bitLength(), spec.toString());
      }
      case EC -> {
        // the JDK 17 dropped secp256k1; Bouncy Castle reads every curve
        PublicKey k = KeyFactory.getInstance("EC", new BouncyCastleProvider()).generatePublic(encoded);
        assertEquals(spec.bits(), ((ECPublicKey) k).getParams().getCurve().getField().getFieldSize(), spec.toString());
      }
      case EDWARDS -> {
        PublicKey k = KeyFactory.getInstance("Ed25519").generatePublic(encoded);
        assertEquals("EdDSA", k.getAlgorithm(), spec.toString());
      }
      default -> throw new AssertionError(spec.toString());
    }
  }
}
