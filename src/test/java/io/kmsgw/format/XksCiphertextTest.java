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
  void hsmAad_withFormatTwoMetadata_isTheXksDomainThenFramedWithBigEndianLengths() {
    byte[] framed = XksCiphertext.hsmAad(new byte[] {(byte) 0xAA, (byte) 0xBB}, new byte[] {2, 0, 0, 0, 7});
    // "kmsgw/xks" 00, uint16 2, aabb, uint8 5, 0200000007
    assertEquals("6b6d7367772f786b7300" + "0002aabb050200000007", HEX.formatHex(framed));
    assertEquals("6b6d7367772f786b7300" + "0000050200000001", HEX.formatHex(XksCiphertext.hsmAad(null,
        XksCiphertext.metadata(1))));
    byte[] big = new byte[300];
    assertEquals("012c", HEX.formatHex(XksCiphertext.hsmAad(big, XksCiphertext.metadata(1)), 10, 12));
  }

  @Test
  void hsmAad_withFormatOneMetadata_isFramedWithoutTheDomain_asBeforeIssue15() {
    byte[] framed = XksCiphertext.hsmAad(new byte[] {(byte) 0xAA, (byte) 0xBB}, new byte[] {1, 0, 0, 0, 7});
    assertEquals("0002aabb050100000007", HEX.formatHex(framed));
    assertEquals(true, XksCiphertext.legacy(new byte[] {1, 0, 0, 0, 7}));
    assertEquals(false, XksCiphertext.legacy(XksCiphertext.metadata(7)));
  }

  @Test
  void hsmAad_withMetadataOfNoKmsgwFormat_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.hsmAad(null, new byte[] {3, 0, 0, 0, 1}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.hsmAad(null, new byte[0]));
  }

  @Test
  void hsmAad_ofFormatTwo_neverStartsAsAKmsAad_whateverTheAad() {
    java.util.UUID keyId = java.util.UUID.randomUUID();
    byte[] iv = new byte[12];
    byte[] kmsAad = CiphertextBlob.aad(CiphertextBlob.header(keyId, 1, iv), EncryptionContextCodec.encode(null));
    for (byte[] aad : new byte[][] {null, new byte[0], kmsAad, new byte[300], new byte[XksCiphertext.MAX_AAD]}) {
      byte[] framed = XksCiphertext.hsmAad(aad, XksCiphertext.metadata(1));
      assertEquals('k', framed[0]);
      assertEquals(false, framed[0] == CiphertextBlob.VERSION_1);
      assertEquals(false, XksCiphertext.looksLikeKmsAad(framed, keyId, 1, iv));
    }
  }

  @Test
  void looksLikeKmsAad_isTrueOnlyForTheHeaderOfTheSameKeyVersionAndIv() {
    java.util.UUID keyId = java.util.UUID.randomUUID();
    byte[] iv = HEX.parseHex("a0a1a2a3a4a5a6a7a8a9aaab");
    byte[] kmsAad = CiphertextBlob.aad(CiphertextBlob.header(keyId, 3, iv), new byte[] {0, 0});
    assertEquals(true, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 3, iv));
    assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 2, iv));
    assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, java.util.UUID.randomUUID(), 3, iv));
    assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 3, new byte[12]));
    assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 3, new byte[16]));
    assertEquals(false, XksCiphertext.looksLikeKmsAad(java.util.Arrays.copyOf(kmsAad, 32), keyId, 3, iv));
  }

  /** The AAD of a KMS blob sealed with an HSM-chosen IV (versions 2 and 3) names no IV: any IV matches. */
  @Test
  void looksLikeKmsAad_isTrueForTheAadHeaderOfHsmIvBlobs_ofTheSameKeyVersion() {
    java.util.UUID keyId = java.util.UUID.randomUUID();
    for (byte version : new byte[] {CiphertextBlob.VERSION_HSM_IV, CiphertextBlob.VERSION_HSM_IV_PADDED}) {
      byte[] kmsAad = CiphertextBlob.aad(CiphertextBlob.hsmIvAadHeader(version, keyId, 3), new byte[] {0, 0});
      assertEquals(true, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 3, new byte[12]));
      assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, keyId, 2, new byte[12]));
      assertEquals(false, XksCiphertext.looksLikeKmsAad(kmsAad, java.util.UUID.randomUUID(), 3, new byte[12]));
      byte[] framed = XksCiphertext.hsmAad(kmsAad, XksCiphertext.metadata(3));
      assertEquals(false, XksCiphertext.looksLikeKmsAad(framed, keyId, 3, new byte[12]), "format 2 starts with 'k'");
    }
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
    byte[] forged = XksCiphertext.hsmAad(metadata, null);
    assertEquals(false, java.util.Arrays.equals(atEncrypt, forged));
  }

  @Test
  void metadata_roundTripsTheVersion_andRefusesOthers() {
    assertEquals(7, XksCiphertext.keyVersion(XksCiphertext.metadata(7)));
    assertEquals("0200000007", HEX.formatHex(XksCiphertext.metadata(7)));
    assertEquals(7, XksCiphertext.keyVersion(new byte[] {1, 0, 0, 0, 7}), "format 1 still names its version");
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {3, 0, 0, 0, 1}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {2, 0, 0, 1}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(new byte[] {2, 0, 0, 0, 0}));
    assertThrows(IllegalArgumentException.class, () -> XksCiphertext.keyVersion(null));
  }
}
