package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class CiphertextBlobTest {
  private static final UUID KEY = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
  private static final byte[] IV = HexFormat.of().parseHex("a0a1a2a3a4a5a6a7a8a9aaab");
  private static final byte[] CT_TAG = HexFormat.of().parseHex("c0c1c2" + "f0".repeat(16));

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  @Test
  void toBytes_matchesDocumentedLayout() {
    byte[] blob = new CiphertextBlob(KEY, 7, IV, CT_TAG).toBytes();
    assertArrayEquals(hex("01" + "00112233445566778899aabbccddeeff" + "00000007" + "a0a1a2a3a4a5a6a7a8a9aaab"
        + "c0c1c2" + "f0".repeat(16)), blob);
    assertEquals(CiphertextBlob.OVERHEAD + 3, blob.length);
  }

  @Test
  void header_isTheFirst33Bytes() {
    byte[] blob = new CiphertextBlob(KEY, 7, IV, CT_TAG).toBytes();
    assertArrayEquals(Arrays.copyOf(blob, CiphertextBlob.HEADER_LENGTH), CiphertextBlob.header(KEY, 7, IV));
  }

  @Test
  void aad_isHeaderFollowedByEncodedContext() {
    byte[] header = CiphertextBlob.header(KEY, 1, IV);
    byte[] ctx = EncryptionContextCodec.encode(Map.of("a", "bc"));
    byte[] aad = CiphertextBlob.aad(header, ctx);
    assertArrayEquals(header, Arrays.copyOf(aad, header.length));
    assertArrayEquals(ctx, Arrays.copyOfRange(aad, header.length, aad.length));
  }

  @Test
  void parse_roundTripsEveryField() {
    CiphertextBlob b = CiphertextBlob.parse(new CiphertextBlob(KEY, 42, IV, CT_TAG).toBytes());
    assertEquals(KEY, b.keyId());
    assertEquals(42, b.keyVersion());
    assertArrayEquals(IV, b.iv());
    assertArrayEquals(CT_TAG, b.ciphertextAndTag());
  }

  @Test
  void parse_ofMaximumPlaintextBlob_fitsTheApiLimit() {
    byte[] blob = new CiphertextBlob(KEY, 1, IV, new byte[4096 + 16]).toBytes();
    assertEquals(4145, blob.length);
    assertEquals(4096 + 16, CiphertextBlob.parse(blob).ciphertextAndTag().length);
  }

  @Test
  void parse_tooShort_failsInvalidCiphertext() {
    assertInvalid(new byte[CiphertextBlob.OVERHEAD - 1]);
    assertInvalid(new byte[0]);
  }

  @Test
  void parse_unknownFormatVersion_failsInvalidCiphertext() {
    byte[] blob = new CiphertextBlob(KEY, 1, IV, CT_TAG).toBytes();
    for (int version : new int[] {0x00, 0x04, 0x6b, 0xff}) {
      blob[0] = (byte) version;
      assertInvalid(blob);
    }
  }

  /** Version 2: an HSM-chosen IV; same layout, and the AAD leaves the IV out (it is not known before sealing). */
  @Test
  void hsmIvVersion2_layout_andItsAadIsVersionKeyIdAndKeyVersionOnly() {
    byte[] blob = new CiphertextBlob(CiphertextBlob.VERSION_HSM_IV, KEY, 7, IV, CT_TAG).toBytes();
    assertArrayEquals(hex("02" + "00112233445566778899aabbccddeeff" + "00000007" + "a0a1a2a3a4a5a6a7a8a9aaab"
        + "c0c1c2" + "f0".repeat(16)), blob);
    CiphertextBlob b = CiphertextBlob.parse(blob);
    assertEquals(CiphertextBlob.VERSION_HSM_IV, b.version());
    assertArrayEquals(hex("02" + "00112233445566778899aabbccddeeff" + "00000007"), b.aadHeader());
    assertArrayEquals(b.aadHeader(), CiphertextBlob.hsmIvAadHeader(CiphertextBlob.VERSION_HSM_IV, KEY, 7));
    assertArrayEquals(new byte[] {1, 2, 3}, b.plaintext(new byte[] {1, 2, 3}), "nothing to strip");
  }

  /** Version 1 keeps its 33-byte AAD header: existing blobs decode unchanged. */
  @Test
  void version1_aadHeader_isTheWholeHeader() {
    CiphertextBlob b = CiphertextBlob.parse(new CiphertextBlob(KEY, 7, IV, CT_TAG).toBytes());
    assertEquals(CiphertextBlob.VERSION_1, b.version());
    assertArrayEquals(CiphertextBlob.header(KEY, 7, IV), b.aadHeader());
  }

  /** Version 3: a 16-byte zero block sealed in front of a short plaintext, stripped (after the tag check) on Decrypt. */
  @Test
  void hsmIvVersion3_stripsTheZeroBlock_andRefusesAnythingElse() {
    byte[] sealed = new byte[16 + 3 + 16];
    CiphertextBlob b = CiphertextBlob.parse(
        new CiphertextBlob(CiphertextBlob.VERSION_HSM_IV_PADDED, KEY, 1, IV, sealed).toBytes());
    assertEquals(CiphertextBlob.VERSION_HSM_IV_PADDED, b.version());
    byte[] decrypted = hex("00".repeat(16) + "010203");
    assertArrayEquals(new byte[] {1, 2, 3}, b.plaintext(decrypted));
    byte[] notZero = hex("00".repeat(15) + "01" + "010203");
    KmsException e = assertThrows(KmsException.class, () -> b.plaintext(notZero));
    assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code());
  }

  @Test
  void hsmIvVersion3_tooShortForTheZeroBlock_failsInvalidCiphertext() {
    byte[] blob = new CiphertextBlob(CiphertextBlob.VERSION_HSM_IV, KEY, 1, IV, CT_TAG).toBytes();
    blob[0] = CiphertextBlob.VERSION_HSM_IV_PADDED;
    assertInvalid(blob);
  }

  @Test
  void parse_keyVersionZero_failsInvalidCiphertext() {
    byte[] blob = new CiphertextBlob(KEY, 1, IV, CT_TAG).toBytes();
    blob[20] = 0;
    assertInvalid(blob);
  }

  @Test
  void parse_negativeKeyVersion_failsInvalidCiphertext() {
    byte[] blob = new CiphertextBlob(KEY, 1, IV, CT_TAG).toBytes();
    blob[17] = (byte) 0x80;
    assertInvalid(blob);
  }

  private static void assertInvalid(byte[] blob) {
    KmsException e = assertThrows(KmsException.class, () -> CiphertextBlob.parse(blob));
    assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code());
  }
}
