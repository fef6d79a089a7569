package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RSA encryption on a token that has neither OAEP with SHA-256 nor the raw RSA operation: SoftHSM2 behind the
 * project's test module, which hides {@code CKM_RSA_X_509} (from discovery and from {@code C_DecryptInit}).
 * RSAES_OAEP_SHA_1 still runs on the token's OAEP; RSAES_OAEP_SHA_256 is refused before anything is done, Encrypt
 * included (nothing could decrypt its result), naming the mechanism. It also shows that the fallback the other tests
 * exercise on SoftHSM2 is {@code CKM_RSA_X_509} and nothing else.
 */
class RsaEncryptionTokenLimitsTest {
  private static TestPkcs11Module module;
  private static KmsFixture kms;
  private static KeyRecord key;

  @BeforeAll
  static void start() {
    module = TestPkcs11Module.inThisJvm().reset();
    // CKM_RSA_X_509, by number: the module knows by name only the mechanisms the gateway used before
    module.set("hide_mechanisms=0x3");
    TestToken token = TestToken.create("rsa-limits", TestPkcs11Module.library().toString());
    kms = new KmsFixture(token, TestToken.scratch("rsa-limits"));
    key = await(kms.keys.createKey(ROOT, new KeyService.NewKey("no raw rsa", KeySpec.RSA_2048,
        KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(), null, false)));
  }

  @AfterAll
  static void stop() {
    kms.close();
    module.reset();
  }

  @Test
  void withoutRawRsa_sha256IsRefusedByName_andSha1StillWorks() {
    assertFalse(kms.keyStore.mechanisms().oaepHashes().contains("SHA-256"));
    assertFalse(kms.keyStore.mechanisms().offers(io.kmsgw.hsm.Capability.RSA_X_509));
    byte[] plaintext = "still encrypts with SHA-1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] ciphertext = await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, Map.of(), "RSAES_OAEP_SHA_1", false))
        .ciphertextBlob();
    assertArrayEquals(plaintext, await(kms.crypto.decrypt(ROOT, ciphertext, key.keyId(), Map.of(),
        "RSAES_OAEP_SHA_1", false, false)).plaintext());

    KmsException encrypt = assertThrows(KmsException.class, () -> await(kms.crypto.encrypt(ROOT, key.keyId(),
        plaintext, Map.of(), "RSAES_OAEP_SHA_256", false)));
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, encrypt.code(), encrypt.getMessage());
    assertTrue(encrypt.getMessage().contains("mechanism 0x3 with decrypt"), encrypt.getMessage());
    KmsException decrypt = assertThrows(KmsException.class, () -> await(kms.crypto.decrypt(ROOT, new byte[256],
        key.keyId(), Map.of(), "RSAES_OAEP_SHA_256", false, false)));
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, decrypt.code(), decrypt.getMessage());
  }
}
