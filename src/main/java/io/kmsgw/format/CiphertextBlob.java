package io.kmsgw.format;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.UUID;

/**
 * The ciphertext blob that Encrypt and GenerateDataKey return and Decrypt takes, format version 1.
 *
 * <p>Layout (integers unsigned big-endian):
 *
 * <pre>
 * offset  size  field
 * 0       1     format version, 0x01
 * 1       16    key id: the CMK's UUID, most significant 64 bits first
 * 17      4     key version: which version of the CMK's material encrypted this (1 = the original)
 * 21      12    IV: the 96-bit AES-GCM nonce, random per encryption
 * 33      n     ciphertext: AES-256-GCM of the plaintext (n = plaintext length)
 * 33+n    16    tag: the 128-bit GCM authentication tag
 * </pre>
 *
 * <p>The additional authenticated data of the GCM operation is the 33-byte header (bytes 0 to 32) followed by
 * {@link EncryptionContextCodec#encode} of the encryption context. So a changed header byte (another key
 * version, another key, another IV) or a context that differs in any way fails the tag check, and Decrypt
 * answers InvalidCiphertextException. The AAD's first byte is the format version, which keeps KMS ciphertexts apart
 * from XKS ones under the same HSM object: the XKS AAD starts with {@code 'k'} (0x6b, see {@link XksCiphertext}), so a
 * future format must never take version 0x6b. The overhead is {@value #OVERHEAD} bytes: 4096 bytes of plaintext make a
 * 4145-byte blob, inside the API's 6144-byte limit.
 */
public final class CiphertextBlob {
  public static final byte VERSION_1 = 0x01;
  public static final int HEADER_LENGTH = 1 + 16 + 4 + 12;
  public static final int IV_LENGTH = 12;
  public static final int TAG_LENGTH = 16;
  public static final int OVERHEAD = HEADER_LENGTH + TAG_LENGTH;

  private final UUID keyId;
  private final int keyVersion;
  private final byte[] iv;
  private final byte[] ciphertextAndTag;

  public CiphertextBlob(UUID keyId, int keyVersion, byte[] iv, byte[] ciphertextAndTag) {
    if (iv.length != IV_LENGTH) {
      throw new IllegalArgumentException("IV must be 12 bytes");
    }
    if (ciphertextAndTag.length < TAG_LENGTH) {
      throw new IllegalArgumentException("ciphertext shorter than the tag");
    }
    if (keyVersion < 1) {
      throw new IllegalArgumentException("key versions start at 1");
    }
    this.keyId = keyId;
    this.keyVersion = keyVersion;
    this.iv = iv.clone();
    this.ciphertextAndTag = ciphertextAndTag.clone();
  }

  /** The header bytes that a blob for this key, version and IV starts with; part of the AAD. */
  public static byte[] header(UUID keyId, int keyVersion, byte[] iv) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
    b.put(VERSION_1);
    b.putLong(keyId.getMostSignificantBits());
    b.putLong(keyId.getLeastSignificantBits());
    b.putInt(keyVersion);
    b.put(iv);
    return b.array();
  }

  /** AAD = header || canonical encryption context. */
  public static byte[] aad(byte[] header, byte[] encodedContext) {
    byte[] aad = Arrays.copyOf(header, header.length + encodedContext.length);
    System.arraycopy(encodedContext, 0, aad, header.length, encodedContext.length);
    return aad;
  }

  /**
   * Parses a blob. Anything that is not a well-formed version-1 blob answers InvalidCiphertextException;
   * a well-formed blob is only authentic once the GCM tag has been checked.
   */
  public static CiphertextBlob parse(byte[] blob) {
    if (blob == null || blob.length < OVERHEAD) {
      throw invalid();
    }
    ByteBuffer b = ByteBuffer.wrap(blob);
    if (b.get() != VERSION_1) {
      throw invalid();
    }
    UUID keyId = new UUID(b.getLong(), b.getLong());
    int keyVersion = b.getInt();
    if (keyVersion < 1) {
      throw invalid();
    }
    byte[] iv = new byte[IV_LENGTH];
    b.get(iv);
    byte[] rest = new byte[b.remaining()];
    b.get(rest);
    return new CiphertextBlob(keyId, keyVersion, iv, rest);
  }

  /** The key id a blob names, if it is long enough to name one; nothing is verified (for logging only). */
  public static java.util.Optional<UUID> peekKeyId(byte[] blob) {
    if (blob == null || blob.length < OVERHEAD || blob[0] != VERSION_1) {
      return java.util.Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(blob, 1, 16);
    return java.util.Optional.of(new UUID(b.getLong(), b.getLong()));
  }

  private static KmsException invalid() {
    return new KmsException(ErrorCode.INVALID_CIPHERTEXT, "The ciphertext is invalid or was not produced by this gateway.");
  }

  public byte[] toBytes() {
    byte[] out = new byte[HEADER_LENGTH + ciphertextAndTag.length];
    System.arraycopy(header(), 0, out, 0, HEADER_LENGTH);
    System.arraycopy(ciphertextAndTag, 0, out, HEADER_LENGTH, ciphertextAndTag.length);
    return out;
  }

  public byte[] header() {
    return header(keyId, keyVersion, iv);
  }

  public UUID keyId() {
    return keyId;
  }

  public int keyVersion() {
    return keyVersion;
  }

  public byte[] iv() {
    return iv.clone();
  }

  /** Ciphertext followed by the 16-byte tag, as PKCS#11 C_Decrypt with CKM_AES_GCM takes it. */
  public byte[] ciphertextAndTag() {
    return ciphertextAndTag.clone();
  }
}
