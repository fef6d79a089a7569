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
 *
 * <p><b>Versions 2 and 3: the IV was chosen by the HSM</b> ({@code hsm.capabilities.gcm_iv_from_hsm}, AWS CloudHSM).
 * The layout is the same 33-byte header, with 0x02 or 0x03 in the version byte, followed by ciphertext and tag. As the
 * IV is only known after the HSM has encrypted, it cannot be part of the AAD: the AAD is the first 21 header bytes
 * (version, key id, key version) followed by the encoded context. GCM binds the IV by itself (it determines every
 * keystream block and the tag's mask), so a changed IV byte still fails the tag check.
 * <ul>
 *   <li>0x02: the ciphertext is of the plaintext itself (plaintexts of 16 bytes or more).
 *   <li>0x03: the ciphertext is of 16 zero bytes followed by the plaintext (plaintexts shorter than 16 bytes: the
 *       gateway names the HSM's IV from the first 16 bytes of plaintext and ciphertext, see
 *       {@code io.kmsgw.hsm.GcmIvRecovery}); Decrypt checks and strips the zero block. Overhead 65 bytes.
 * </ul>
 * Decrypt passes the IV from the blob, whichever version, so every version opens on a token that takes caller IVs and
 * on one that generates its own (HSMs generate IVs for encryption only). Version-1 blobs decode unchanged.
 */
public final class CiphertextBlob {
  public static final byte VERSION_1 = 0x01;
  /** HSM-chosen IV, plaintext of 16 bytes or more. */
  public static final byte VERSION_HSM_IV = 0x02;
  /** HSM-chosen IV, a 16-byte zero block sealed in front of a shorter plaintext. */
  public static final byte VERSION_HSM_IV_PADDED = 0x03;
  /** The zero block in front of a short plaintext in a version-3 blob. */
  public static final int PAD_LENGTH = 16;
  /** Version, key id and key version: the part of the header that versions 2 and 3 authenticate. */
  static final int HSM_IV_AAD_HEADER_LENGTH = 1 + 16 + 4;
  public static final int HEADER_LENGTH = 1 + 16 + 4 + 12;
  public static final int IV_LENGTH = 12;
  public static final int TAG_LENGTH = 16;
  public static final int OVERHEAD = HEADER_LENGTH + TAG_LENGTH;

  private final byte version;
  private final UUID keyId;
  private final int keyVersion;
  private final byte[] iv;
  private final byte[] ciphertextAndTag;

  public CiphertextBlob(UUID keyId, int keyVersion, byte[] iv, byte[] ciphertextAndTag) {
    this(VERSION_1, keyId, keyVersion, iv, ciphertextAndTag);
  }

  public CiphertextBlob(byte version, UUID keyId, int keyVersion, byte[] iv, byte[] ciphertextAndTag) {
    if (version != VERSION_1 && version != VERSION_HSM_IV && version != VERSION_HSM_IV_PADDED) {
      throw new IllegalArgumentException("unknown blob version " + version);
    }
    if (version == VERSION_HSM_IV_PADDED && ciphertextAndTag.length < PAD_LENGTH + TAG_LENGTH) {
      throw new IllegalArgumentException("a version-3 blob seals at least the 16-byte zero block");
    }
    if (iv.length != IV_LENGTH) {
      throw new IllegalArgumentException("IV must be 12 bytes");
    }
    if (ciphertextAndTag.length < TAG_LENGTH) {
      throw new IllegalArgumentException("ciphertext shorter than the tag");
    }
    if (keyVersion < 1) {
      throw new IllegalArgumentException("key versions start at 1");
    }
    this.version = version;
    this.keyId = keyId;
    this.keyVersion = keyVersion;
    this.iv = iv.clone();
    this.ciphertextAndTag = ciphertextAndTag.clone();
  }

  /** The header bytes that a blob for this key, version and IV starts with; part of the AAD. */
  public static byte[] header(UUID keyId, int keyVersion, byte[] iv) {
    return header(VERSION_1, keyId, keyVersion, iv);
  }

  private static byte[] header(byte version, UUID keyId, int keyVersion, byte[] iv) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
    b.put(version);
    b.putLong(keyId.getMostSignificantBits());
    b.putLong(keyId.getLeastSignificantBits());
    b.putInt(keyVersion);
    b.put(iv);
    return b.array();
  }

  /**
   * The header part that a version-2 or -3 blob authenticates (version, key id, key version: the IV is not known
   * before the HSM has encrypted); the AAD is this followed by the encoded context.
   */
  public static byte[] hsmIvAadHeader(byte version, UUID keyId, int keyVersion) {
    return Arrays.copyOf(header(version, keyId, keyVersion, new byte[IV_LENGTH]), HSM_IV_AAD_HEADER_LENGTH);
  }

  /** The header bytes this blob's AAD starts with: all 33 for version 1, the first 21 for versions 2 and 3. */
  public byte[] aadHeader() {
    byte[] h = header();
    return version == VERSION_1 ? h : Arrays.copyOf(h, HSM_IV_AAD_HEADER_LENGTH);
  }

  /**
   * The plaintext from what the GCM decryption of this blob returned: for version 3, the 16 zero bytes in front are
   * checked (they are authenticated, so only a blob sealed that way passes) and removed.
   */
  public byte[] plaintext(byte[] decrypted) {
    if (version != VERSION_HSM_IV_PADDED) {
      return decrypted;
    }
    boolean zero = decrypted.length >= PAD_LENGTH;
    for (int i = 0; zero && i < PAD_LENGTH; i++) {
      zero = decrypted[i] == 0;
    }
    if (!zero) {
      Arrays.fill(decrypted, (byte) 0);
      throw invalid();
    }
    byte[] out = Arrays.copyOfRange(decrypted, PAD_LENGTH, decrypted.length);
    Arrays.fill(decrypted, (byte) 0);
    return out;
  }

  /** AAD = header || canonical encryption context. */
  public static byte[] aad(byte[] header, byte[] encodedContext) {
    byte[] aad = Arrays.copyOf(header, header.length + encodedContext.length);
    System.arraycopy(encodedContext, 0, aad, header.length, encodedContext.length);
    return aad;
  }

  /**
   * Parses a blob. Anything that is not a well-formed blob of version 1, 2 or 3 answers InvalidCiphertextException;
   * a well-formed blob is only authentic once the GCM tag has been checked.
   */
  public static CiphertextBlob parse(byte[] blob) {
    if (blob == null || blob.length < OVERHEAD) {
      throw invalid();
    }
    ByteBuffer b = ByteBuffer.wrap(blob);
    byte version = b.get();
    if (!knownVersion(version)
        || (version == VERSION_HSM_IV_PADDED && blob.length < OVERHEAD + PAD_LENGTH)) {
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
    return new CiphertextBlob(version, keyId, keyVersion, iv, rest);
  }

  private static boolean knownVersion(byte version) {
    return version == VERSION_1 || version == VERSION_HSM_IV || version == VERSION_HSM_IV_PADDED;
  }

  /** The key id a blob names, if it is long enough to name one; nothing is verified (for logging only). */
  public static java.util.Optional<UUID> peekKeyId(byte[] blob) {
    if (blob == null || blob.length < OVERHEAD || !knownVersion(blob[0])) {
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
    return header(version, keyId, keyVersion, iv);
  }

  public byte version() {
    return version;
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
