package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.format.EcPeerKeys;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.PeerKeys;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.X509EncodedKeySpec;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The derived ECDH secret when the HSM will not destroy it (the test module fails {@code C_DestroyObject} over a real
 * SoftHSM2 token): the session holding it is closed, which destroys it, the call is answered from another session,
 * and no secret is left on the token.
 */
class AgreementFaultsTest {
  private static TestPkcs11Module module;
  private static TestToken token;
  private Hsm hsm;

  @BeforeAll
  static void token() {
    module = TestPkcs11Module.inThisJvm().reset();
    token = TestToken.create("ecdh-faults", TestPkcs11Module.library().toString());
  }

  @AfterEach
  void close() throws HsmException {
    module.reset();
    module.clearEvents();
    if (hsm != null) {
      hsm.close();
    }
  }

  @Test
  void aDerivedSecretTheHsmWillNotDestroy_goesWithItsSession_andTheAnswerComesFromAnother() throws Exception {
    hsm = new Pkcs11Connector(token.options(2)).connect(e -> { });
    byte[] id = "ecdh-faults".getBytes(StandardCharsets.UTF_8);
    HsmKey key = hsm.withSession(s -> s.generateKeyPair(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT,
        "ecdh-faults", id));
    byte[] kmsPublic = hsm.withSession(s -> s.publicKeyInfo(key, KeySpec.ECC_NIST_P256));
    KeyPair peer = PeerKeys.peer("secp256r1");
    byte[] point = EcPeerKeys.uncompressedPoint(KeySpec.ECC_NIST_P256, peer.getPublic().getEncoded());
    long evictedBefore = hsm.stats().evicted();
    module.clearEvents();

    module.set("fail.C_DestroyObject=CKR_FUNCTION_FAILED times=1");
    byte[] secret = hsm.withSession(s -> s.deriveSharedSecret(key, point, 32));
    module.reset();

    assertEquals(List.of("fail C_DestroyObject rv=CKR_FUNCTION_FAILED"), module.events("fail "));
    assertTrue(hsm.stats().evicted() > evictedBefore, "the session that held the secret was closed");
    javax.crypto.KeyAgreement ka = javax.crypto.KeyAgreement.getInstance("ECDH");
    ka.init(peer.getPrivate());
    ka.doPhase(KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(kmsPublic)), true);
    assertArrayEquals(ka.generateSecret(), secret, "answered from another session");
    assertEquals(0, TestKeys.sessionSecretKeys(hsm, false), "no derived secret is left on the token");
  }
}
