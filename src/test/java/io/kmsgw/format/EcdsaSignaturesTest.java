package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The DER form of ECDSA signatures: what CKM_ECDSA's {@code r || s} becomes, and the strict reader Verify uses. */
class EcdsaSignaturesTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void rawToDerAndBack_isTheIdentity_forEveryCurveSize() {
    Random random = new Random(7);
    for (int field : new int[] {32, 48, 66}) {
      for (int i = 0; i < 200; i++) {
        byte[] raw = new byte[2 * field];
        random.nextBytes(raw);
        raw[0] = (byte) (i % 3 == 0 ? 0 : raw[0]); // leading zeros shorten the integers
        raw[field] |= 1;
        raw[2 * field - 1] |= 1;
        assertArrayEquals(raw, EcdsaSignatures.derToRaw(EcdsaSignatures.rawToDer(raw), field).orElseThrow());
      }
    }
  }

  @Test
  void derToRaw_refusesEveryMalformedEncoding() {
    String ok = "3006020101020102";
    assertTrue(EcdsaSignatures.derToRaw(HEX.parseHex(ok), 32).isPresent());
    for (String bad : new String[] {
        "", "30", "3106020101020102", // not a SEQUENCE
        "3007020101020102", "3005020101020102", // the length does not match
        "300602010102010200", // trailing bytes
        "30070201010202000102", // r's sign byte not needed
        "3006020100020102", // r = 0
        "3006020181020102", // negative
        "3006020101030102", // s not an INTEGER
        "308106020101020102", // long form for a short length
        "3026022101" + "00".repeat(32) + "020101"}) { // r longer than the field
      assertTrue(EcdsaSignatures.derToRaw(HEX.parseHex(bad), 32).isEmpty(), bad);
    }
  }
}
