package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class XksCiphertextTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void integrityValue_ofTheSpecsAppendixCExample_isTheSpecsValue() {
    byte[] aad = "project=nile,department=marketing".getBytes(StandardCharsets.US_ASCII);
    byte[] metadata = Base64.getDecoder().decode("a2V5X3ZlcnNpb249MQ==");
    byte[] iv = Base64.getDecoder().decode("HMrlRw85cAJUd5Ax");
    byte[] ciphertext = Base64.getDecoder().decode("ghxkK1txeDNn3q8Y");
    byte[] tag = Base64.getDecoder().decode("vBxN2ncH1oEkR8WVXpmyYQ==");
    byte[] cdiv = XksCiphertext.integrityValue(aad, metadata, iv, ciphertext, tag);
    assertEquals("a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7", HEX.formatHex(cdiv));
    assertEquals("qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=", Base64.getEncoder().encodeToString(cdiv));
  }

  @Test
  void integrityValue_withoutAadOrMetadata_hashesTheRestOnly() throws Exception {
    byte[] iv = new byte[12];
    byte[] ct = {1, 2, 3};
    byte[] tag = new byte[16];
    byte[] expected = java.security.MessageDigest.getInstance("SHA-256").digest(HEX.parseHex(
        "000000000000000000000000" + "010203" + "00000000000000000000000000000000"));
    assertArrayEquals(expected, XksCiphertext.integrityValue(null, null, iv, ct, tag));
  }

  @Test
  void hsmAad_withMetadata_isFramedWithBigEndianLengths() {
    byte[] framed = XksCiphertext.hsmAad(new byte[] {(byte) 0xAA, (byte) 0xBB}, new byte[] {1, 0, 0, 0, 7});
    assertEquals("0002aabb050100000007", HEX.formatHex(framed));
    assertEquals("00000401000000", HEX.formatHex(XksCiphertext.hsmAad(null, new byte[] {1, 0, 0, 0})));
    byte[] big = new byte[300];
    assertEquals("012c", HEX.formatHex(XksCiphertext.hsmAad(big, new byte[0]), 0, 2));
  }

  @Test
  void hsmAad_withoutMetadata_isTheAadAsItIs() {
    assertArrayEquals(new byte[] {9, 8}, XksCiphertext.hsmAad(new byte[] {9, 8}, null));
    assertArrayEquals(new byte[0], XksCiphertext.hsmAad(null, null));
  }

  @Test
  void hsmAad_cannotMoveMetadataIntoTheAad() {
    byte[] metadata = XksCiphertext.metadata(1);
    // the spec's example: encrypt without AAD, then decrypt with the metadata passed as AAD and no metadata
    byte[] atEncrypt = XksCiphertext.hsmAad(null, metadata);
    byte[] forged = XksCiphertext.hsmAad(metadata, new byte[0]);
    assertEquals(false, java.util.Arrays.equals(atEncrypt, forged));
  }

  @Test
  void metadata_roundTripsTheVersion_andRefusesOthers() {
    assertEquals(7, XksCiphertext.keyVersion(XksCiphertext.metadata(7)));
    assertEquals("0100000007", HEX.formatHex(XksCiphertext.metadata(7)));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {2, 0, 0, 0, 1}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {1, 0, 0, 1}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {1, 0, 0, 0, 0}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(null));
  }
}
