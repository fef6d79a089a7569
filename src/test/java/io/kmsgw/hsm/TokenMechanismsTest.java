package io.kmsgw.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Capabilities judged from listed mechanisms and their flags, with no HSM. */
class TokenMechanismsTest {
  private static TokenMechanisms.Mechanism m(long code, long flags) {
    return new TokenMechanisms.Mechanism(code, "0x" + Long.toHexString(code), 16, 32, flags);
  }

  @Test
  void aMechanismListedWithoutTheFlagsItsUseNeeds_isNotOffered() {
    // AES-GCM for encryption only: a store could seal but never open
    TokenMechanisms t = new TokenMechanisms(List.of(m(0x1087, Capability.Flag.ENCRYPT),
        m(0x1080, Capability.Flag.GENERATE)), Set.of());
    assertFalse(t.offers(Capability.AES_GCM));
    assertTrue(t.offers(Capability.AES_KEY_GEN));
    assertEquals(List.of(Capability.AES_GCM), t.missing(EnumSet.of(Capability.AES_KEY_GEN, Capability.AES_GCM)));
  }

  @Test
  void summary_namesCapabilitiesAndOaepHashes_andCountsTheList() {
    TokenMechanisms t = new TokenMechanisms(List.of(m(0x1087, Capability.Flag.ENCRYPT | Capability.Flag.DECRYPT
        | Capability.Flag.WRAP), m(0x9, Capability.Flag.ENCRYPT | Capability.Flag.DECRYPT), m(0x220, 0x400)),
        Set.of("SHA-256", "SHA-1"));
    Map<String, Object> s = t.summary();
    assertEquals(List.of("AES_GCM", "RSA_OAEP"), s.get("capabilities"));
    assertEquals(List.of("SHA-1", "SHA-256"), s.get("rsaOaepHashes"));
    assertEquals(3, s.get("mechanismsListed"));
    assertEquals(Map.of("AES_GCM", "16-32", "RSA_OAEP", "16-32"), s.get("keySizes"));
  }

  @Test
  void requirement_readsAsPkcs11ToolPrintsIt() {
    assertEquals("AES-GCM: mechanism 0x1087 with encrypt, decrypt", Capability.AES_GCM.requirement());
    assertEquals("AES key wrap with padding (RFC 5649): mechanism 0x210A with unwrap",
        Capability.AES_KEY_WRAP_PAD.requirement());
  }

  @Test
  void nothingDiscovered_offersNothing() {
    assertTrue(TokenMechanisms.NONE.capabilities().isEmpty());
    assertEquals(List.of(Capability.AES_GCM), TokenMechanisms.NONE.missing(EnumSet.of(Capability.AES_GCM)));
  }
}
