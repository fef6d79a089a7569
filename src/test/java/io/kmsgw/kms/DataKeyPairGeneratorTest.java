package io.kmsgw.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.domain.KeySpec;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * The data key pair generator without an HSM: its only randomness is the seed (the same seed makes the same pair, so
 * nothing comes from the host), it makes every DataKeyPairSpec of the model but SM2, and it wipes the seed. That the
 * pairs are valid keys is judged by openssl and the JDK in {@link DataKeyPairServiceTest}.
 */
class DataKeyPairGeneratorTest {
  private static byte[] seed(int fill) {
    byte[] s = new byte[DataKeyPairGenerator.SEED_BYTES];
    new SecureRandom(new byte[] {(byte) fill}).nextBytes(s);
    return s;
  }

  @ParameterizedTest
  @EnumSource(names = {"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
      "ECC_NIST_EDWARDS25519"})
  void sameSeed_samePair_otherSeed_otherPair(KeySpec spec) {
    byte[] seed = seed(1);
    DataKeyPairGenerator.Encoded a = DataKeyPairGenerator.generate(spec, seed.clone());
    DataKeyPairGenerator.Encoded b = DataKeyPairGenerator.generate(spec, seed.clone());
    seed[0] ^= 1;
    DataKeyPairGenerator.Encoded c = DataKeyPairGenerator.generate(spec, seed);
    assertArrayEquals(a.privateKeyInfo(), b.privateKeyInfo());
    assertArrayEquals(a.subjectPublicKeyInfo(), b.subjectPublicKeyInfo());
    assertFalse(Arrays.equals(a.privateKeyInfo(), c.privateKeyInfo()));
    assertFalse(Arrays.equals(a.subjectPublicKeyInfo(), c.subjectPublicKeyInfo()));
  }

  @Test
  void everyDataKeyPairSpecOfTheModelButSm2_isGenerated() {
    Set<String> model = ServiceModel.kms().shape("DataKeyPairSpec").enumValues();
    for (String name : model) {
      KeySpec spec = KeySpec.valueOf(name);
      assertEquals(spec != KeySpec.SM2, DataKeyPairGenerator.generates(spec), name);
    }
    assertTrue(model.contains("ECC_NIST_EDWARDS25519"));
    for (KeySpec spec : KeySpec.values()) {
      if (!model.contains(spec.name())) {
        assertFalse(DataKeyPairGenerator.generates(spec), spec.name());
      }
    }
  }

  @Test
  void seed_isWiped_andMustHaveItsLength() {
    byte[] seed = seed(2);
    DataKeyPairGenerator.generate(KeySpec.ECC_NIST_P256, seed);
    assertArrayEquals(new byte[DataKeyPairGenerator.SEED_BYTES], seed);
    assertThrows(IllegalArgumentException.class,
        () -> DataKeyPairGenerator.generate(KeySpec.ECC_NIST_P256, new byte[DataKeyPairGenerator.SEED_BYTES - 1]));
    assertThrows(IllegalArgumentException.class, () -> DataKeyPairGenerator.generate(KeySpec.SM2, seed(3)));
  }

  @Test
  void wipe_clearsThePrivateKey() {
    DataKeyPairGenerator.Encoded pair = DataKeyPairGenerator.generate(KeySpec.ECC_NIST_P256, seed(4));
    pair.wipe();
    assertArrayEquals(new byte[pair.privateKeyInfo().length], pair.privateKeyInfo());
  }
}
